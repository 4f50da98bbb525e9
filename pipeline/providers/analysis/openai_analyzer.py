"""An OpenAI chat model as the analyzer, with the output shape forced by strict structured outputs.

``response_format`` ``json_schema`` with ``strict: true`` makes the API decode only JSON matching
the schema; the few limits strict mode cannot express are checked by pydantic afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.providers.analysis import prompt
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.analysis.cloud import CloudAnalyzer
from pipeline.providers.analysis.guard import Attempt, InvalidOutput, analyze_with_repair
from pipeline.providers.cloud_errors import OPENAI


def _message_output(reply: Any) -> object:
    """The JSON text of the first choice, or why there is none."""
    choices = getattr(reply, "choices", None) or []
    if not choices:
        return InvalidOutput("the reply has no choices")
    message = choices[0].message
    if getattr(message, "refusal", None):
        # The refusal text is not passed on: it may paraphrase the transcript.
        return InvalidOutput("the model refused to produce the analysis")
    if message.content is None:
        return InvalidOutput(f"no content in the reply (finish_reason {choices[0].finish_reason!r})")
    return message.content


class OpenAIAnalyzer(CloudAnalyzer):
    """``Analyzer`` backed by an OpenAI chat model (default ``gpt-4o-mini``)."""

    vendor = OPENAI
    name = "openai"

    def __init__(self, *, model: str = "gpt-4o-mini", **options: Any) -> None:
        super().__init__(model=model, **options)

    @staticmethod
    def _response_format() -> dict[str, Any]:
        return {
            "type": "json_schema",
            "json_schema": {"name": prompt.SCHEMA_NAME, "schema": prompt.strict_schema(), "strict": True},
        }

    def _instructions(self) -> str:
        return prompt.SYSTEM_PROMPT + json.dumps(self._response_format())

    def _analyze_part(self, text: str, language: str) -> AnalysisResult:
        response_format = self._response_format()
        base: list[dict[str, Any]] = [
            {"role": "system", "content": prompt.SYSTEM_PROMPT},
            {"role": "user", "content": prompt.build_user_message(text, language=language)},
        ]

        def attempt(previous: Attempt | None, error: str | None) -> Attempt:
            messages = list(base)
            if previous is not None and error is not None:
                said = previous.output if isinstance(previous.output, str) else ""
                messages.append({"role": "assistant", "content": said})
                messages.append({"role": "user", "content": prompt.repair_message(error)})
            reply = self._api.call(
                lambda client: client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    response_format=response_format,
                    max_completion_tokens=self._max_tokens,
                )
            )
            usage = getattr(reply, "usage", None)
            return Attempt(
                output=_message_output(reply),
                input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                reply=reply,
            )

        return analyze_with_repair(
            attempt, text=text, label="OpenAI", model=self.model, provider=self.name, prices=self._prices
        )
