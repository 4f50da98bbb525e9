"""The analyzer contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from pipeline.domain.models import SessionAnalysis, UsageCost
from pipeline.providers.memo import ChunkCache, call_with_cache


@dataclass(frozen=True)
class AnalysisResult:
    analysis: SessionAnalysis
    usage: UsageCost = field(default_factory=UsageCost)
    dropped_examples: int = 0  # examples a provider quoted that are not in the transcript

    def to_document(self) -> dict[str, Any]:
        """The JSON document a memo stores."""
        return {
            "analysis": self.analysis.model_dump(mode="json"),
            "usage": self.usage.model_dump(),
            "dropped_examples": self.dropped_examples,
        }

    @classmethod
    def from_document(cls, document: object) -> AnalysisResult | None:
        """The result a memo stored, or None when there is none or it cannot be read (a miss)."""
        if not isinstance(document, dict):
            return None
        try:
            return cls(
                SessionAnalysis.model_validate(document["analysis"]),
                UsageCost.model_validate(document["usage"]),
                int(document.get("dropped_examples", 0)),
            )
        except (KeyError, TypeError, ValueError, ValidationError):
            return None


class Analyzer(Protocol):
    """Finds the 1-5 recurring patterns of one transcript. Raises PermanentError or TransientError."""

    name: str  # provider name recorded in results, e.g. "rules", "anthropic"
    model: str
    prompt_version: str  # part of the memo key and of the insights code_version

    def analyze(self, text: str, *, language: str = "en") -> AnalysisResult: ...


def analyze_text(
    analyzer: Analyzer, text: str, *, language: str, chunk_cache: ChunkCache | None = None
) -> AnalysisResult:
    """``analyzer.analyze``, handing ``chunk_cache`` to analyzers that take one (those paying per part)."""
    return call_with_cache(analyzer.analyze, chunk_cache, text, language=language)
