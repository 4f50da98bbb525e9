"""What both cloud analyzers share: no request over the context window, long transcripts in parts.

Before any call the request is sized against the model's context window (``context.py``): the
system prompt, the schema or tool definition, the fenced transcript, the output reserved by
``max_tokens``, and room for the one repair turn (the model's previous answer and the validation
error) that ``guard.analyze_with_repair`` may send. A transcript that does not fit is analysed in
parts cut at sentence ends, each fitting with all of that, and the parts' analyses are merged
(``merge.py``). Chunking was chosen over failing: a long session is still a real session whose
learner wants feedback, and a merged analysis with verbatim quotes from every part gives it. The
number of parts is bounded, so cost stays bounded: beyond ``max_parts`` the session fails before
any call, naming the limit and the size.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from pipeline.domain.errors import PermanentError
from pipeline.domain.progress import count_line, log_step
from pipeline.providers.analysis import prompt
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.analysis.context import context_table, context_window, estimate_tokens, split_to_fit
from pipeline.providers.analysis.guard import MAX_ERROR_CHARS
from pipeline.providers.analysis.merge import merge_results
from pipeline.providers.cloud_clients import CloudProvider
from pipeline.providers.memo import ChunkCache, chunk_key

logger = logging.getLogger(__name__)

#: Parts one transcript may be analysed in (each a paid request): about 1M words with gpt-4o-mini.
MAX_PARTS = 20
#: Message framing, and the tool-use instructions Anthropic adds to the prompt (~350 tokens).
REQUEST_OVERHEAD_TOKENS = 1024
#: Below this, a part holds a few sentences: the configured window is too small to be useful.
MIN_TRANSCRIPT_TOKENS = 1000


class CloudAnalyzer(CloudProvider, ABC):
    """Base of the cloud ``Analyzer``s; subclasses make one request (``_analyze_part``)."""

    name: str
    prompt_version = prompt.PROMPT_VERSION

    def __init__(
        self,
        *,
        model: str,
        max_tokens: int = 4096,
        context_windows: Mapping[str, object] | None = None,
        max_parts: int = MAX_PARTS,
        **common: Any,
    ) -> None:
        super().__init__(model=model, **common)
        self._max_tokens = max_tokens
        self._max_parts = max_parts
        self.context_window = context_window(model, context_table(context_windows), self.name)

    @abstractmethod
    def _instructions(self) -> str:
        """What every request sends besides the user turn: system prompt, schema or tool (as JSON)."""

    @abstractmethod
    def _analyze_part(self, text: str, language: str) -> AnalysisResult:
        """One analysis request (with its one repair) for ``text``, which is known to fit."""

    def transcript_budget(self, language: str) -> int:
        """Estimated tokens left for the transcript in a request (and in its repair) to this model."""
        fixed = (
            estimate_tokens(self._instructions())
            + estimate_tokens(prompt.build_user_message("", language=language))
            + estimate_tokens(prompt.repair_message(""))
            + MAX_ERROR_CHARS  # a repair turn's error text
            + self._max_tokens  # the previous answer, sent back in the repair turn
            + self._max_tokens  # the output reserved
            + REQUEST_OVERHEAD_TOKENS
        )
        return self.context_window - fixed

    def analyze(
        self, text: str, *, language: str = "en", chunk_cache: ChunkCache | None = None
    ) -> AnalysisResult:
        budget = self.transcript_budget(language)
        size = estimate_tokens(text)
        if size <= budget:
            self._api.prepare()
            return self._analyze_part(text, language)
        if budget < MIN_TRANSCRIPT_TOKENS:
            raise PermanentError(
                f"the context window of {self.model!r} ({self.context_window} tokens) leaves {max(budget, 0)} for "
                f"the transcript after the prompt, schema and {self._max_tokens} output tokens, and this one "
                f"needs about {size}: set the model's real window in CONTEXT_WINDOWS_JSON or choose another "
                "ANALYZER_MODEL"
            )
        parts = split_to_fit(text, budget)
        if len(parts) > self._max_parts:
            raise PermanentError(
                f"the transcript is too long to analyse: about {size} tokens (estimated), while {self.model!r} "
                f"takes about {budget} per request ({self.context_window}-token context window), so it would "
                f"need {len(parts)} requests; at most {self._max_parts} are made for one session. Split the "
                "session into several uploads or choose a model with a larger context window"
            )
        self._api.prepare()
        logger.info(
            "transcript of about %d tokens is over %s's budget of %d per request: analysing it in %d parts",
            size,
            self.model,
            budget,
            len(parts),
        )
        results = []
        for index, part in enumerate(parts, start=1):
            log_step(logger, self.model, count_line("part", index, len(parts)))
            results.append(self._cached_part(part, language, chunk_cache))
        return merge_results(results, model=self.model)

    def _cached_part(self, text: str, language: str, cache: ChunkCache | None) -> AnalysisResult:
        """One part's analysis: from ``cache`` when an earlier attempt paid for it, else requested and stored."""
        if cache is None:
            return self._analyze_part(text, language)
        key = chunk_key(text.encode(), self.name, self.model, self.prompt_version, language)
        stored = AnalysisResult.from_document(cache.get(key))
        if stored is not None:
            return stored
        result = self._analyze_part(text, language)
        cache.put(key, result.to_document())
        return result
