"""Analyzers: one Protocol; offline (rule-based), Anthropic and OpenAI implementations."""

from pipeline.providers.analysis.base import AnalysisResult, Analyzer

__all__ = ["AnalysisResult", "Analyzer"]
