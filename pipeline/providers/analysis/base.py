"""The analyzer contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pipeline.models import SessionAnalysis, UsageCost


@dataclass(frozen=True)
class AnalysisResult:
    analysis: SessionAnalysis
    usage: UsageCost = field(default_factory=UsageCost)
    dropped_examples: int = 0  # examples a provider quoted that are not in the transcript


class Analyzer(Protocol):
    """Finds the 1-5 recurring patterns of one transcript. Raises PermanentError or TransientError."""

    name: str  # provider name recorded in results, e.g. "rules", "anthropic"
    model: str
    prompt_version: str  # part of the memo key and of the insights code_version

    def analyze(self, text: str, *, language: str = "en") -> AnalysisResult: ...
