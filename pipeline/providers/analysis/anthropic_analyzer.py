"""Claude (Anthropic Messages API) as the analyzer, with the output shape forced by tool use.

A single tool whose ``input_schema`` is the SessionAnalysis schema, and ``tool_choice`` forcing it,
means the model can only answer by filling that structure, whatever the transcript says.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.providers.analysis import prompt
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.analysis.cloud import CloudAnalyzer
from pipeline.providers.analysis.guard import Attempt, InvalidOutput, analyze_with_repair
from pipeline.providers.cloud_errors import ANTHROPIC


def _tool_output(reply: Any) -> object:
    """The forced tool's input, else any text the model wrote instead (it may still be JSON)."""
    texts: list[str] = []
    for block in getattr(reply, "content", None) or []:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == prompt.TOOL_NAME:
            return block.input
        if getattr(block, "type", None) == "text":
            texts.append(block.text)
    if texts:
        return "".join(texts)
    return InvalidOutput(f"no {prompt.TOOL_NAME} tool call in the reply (stop_reason {reply.stop_reason!r})")


def _replay(reply: Any) -> list[dict[str, Any]]:
    """The assistant turn of ``reply`` as request content, to continue the conversation."""
    blocks: list[dict[str, Any]] = []
    for block in reply.content or []:
        if block.type == "tool_use":
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
        elif block.type == "text" and block.text:
            blocks.append({"type": "text", "text": block.text})
    return blocks


class AnthropicAnalyzer(CloudAnalyzer):
    """``Analyzer`` backed by Claude; the default model is the fast, cheap Haiku."""

    vendor = ANTHROPIC
    name = "anthropic"

    def __init__(self, *, model: str = "claude-haiku-4-5", **options: Any) -> None:
        super().__init__(model=model, **options)

    @staticmethod
    def _tool() -> dict[str, Any]:
        return {
            "name": prompt.TOOL_NAME,
            "description": "Record the analysis of the learner's speaking session.",
            "input_schema": prompt.analysis_schema(),
        }

    def _instructions(self) -> str:
        return prompt.SYSTEM_PROMPT + json.dumps(self._tool())

    def _analyze_part(self, text: str, language: str) -> AnalysisResult:
        tool = self._tool()
        first_turn = {"role": "user", "content": prompt.build_user_message(text, language=language)}

        def attempt(previous: Attempt | None, error: str | None) -> Attempt:
            messages: list[dict[str, Any]] = [first_turn]
            if previous is not None and error is not None:
                messages.append({"role": "assistant", "content": _replay(previous.reply)})
                tool_ids = [b["id"] for b in messages[-1]["content"] if b["type"] == "tool_use"]
                feedback = prompt.repair_message(error)
                if tool_ids:  # a tool_use turn must be answered by its tool_result
                    content: Any = [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_ids[0],
                            "is_error": True,
                            "content": feedback,
                        }
                    ]
                else:
                    content = feedback
                messages.append({"role": "user", "content": content})
            reply = self._api.call(
                lambda client: client.messages.create(
                    model=self.model,
                    max_tokens=self._max_tokens,
                    system=prompt.SYSTEM_PROMPT,
                    messages=messages,
                    tools=[tool],
                    tool_choice={"type": "tool", "name": prompt.TOOL_NAME},
                )
            )
            usage = getattr(reply, "usage", None)
            return Attempt(
                output=_tool_output(reply),
                input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
                output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
                reply=reply,
            )

        return analyze_with_repair(
            attempt,
            text=text,
            label="Anthropic",
            model=self.model,
            provider=self.name,
            prices=self._prices,
        )
