"""Analyzers: one Protocol; offline (rule-based), Anthropic and OpenAI implementations."""

from pipeline.providers.analysis.base import AnalysisResult, Analyzer, analyze_text

__all__ = ["AnalysisResult", "Analyzer", "analyze_text"]
