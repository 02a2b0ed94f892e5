"""Gemini answers -> neutral responses, for whole answers and streamed chunks.

Both read the ``GenerateContentResponse`` objects the SDK parses (by attribute, never imported
here). Gemini streams text in pieces but each function call whole, in one chunk; usage comes
with the chunks (the last one holds the totals). Thought parts (``thought: true``) are the
model's reasoning summaries and are not part of the answer's text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from allos_core.providers import (
    ModelResponse,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    new_tool_call_id,
    tool_call_from_json,
)
from allos_google.mapping import CallMemory

PROVIDER = "google"

_FILTERED = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "LANGUAGE",
}
_ID_OK = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _name(value: Any) -> str:
    """An SDK enum (or a plain string) as its upper-case name."""
    if value is None:
        return ""
    return str(getattr(value, "value", value)).upper()


def finish_reason(reason: Any, has_calls: bool) -> str:
    """Normalise Gemini's ``finishReason`` (STOP with calls is ``tool_calls``)."""
    name = _name(reason)
    if has_calls and name in ("", "STOP"):
        return "tool_calls"
    if name == "STOP":
        return "stop"
    if name == "MAX_TOKENS":
        return "length"
    if name in _FILTERED:
        return "content_filter"
    return "other"


def usage_from(metadata: Any) -> Any:
    """Gemini ``usageMetadata`` as :class:`Usage`.

    Input is the prompt (cached tokens are part of it) plus tool-use prompt tokens; output is
    the answer plus the thinking tokens, which Google bills as output.
    """
    from allos_core.messages import Usage

    def count(name: str) -> int:
        return int(getattr(metadata, name, None) or 0) if metadata is not None else 0

    return Usage(
        input_tokens=count("prompt_token_count") + count("tool_use_prompt_token_count"),
        output_tokens=count("candidates_token_count") + count("thoughts_token_count"),
        requests=1,
    )


class Assembler:
    """Builds a neutral response from one or more Gemini response chunks.

    :meth:`feed` takes each chunk and returns the stream events it brings; :meth:`finish` gives
    the response. A whole (non-streamed) answer is one chunk.
    """

    def __init__(self, model: str, memory: CallMemory) -> None:
        self.model = model
        self.memory = memory
        self.texts: list[str] = []
        self.calls: list[Any] = []
        self.reason: Any = None
        self.blocked: str | None = None
        self.metadata: Any = None
        self.chunks = 0
        self.thoughts: list[str] = []

    def feed(self, chunk: Any) -> list[StreamEvent]:
        self.chunks += 1
        events: list[StreamEvent] = []
        if getattr(chunk, "model_version", None):
            self.model = chunk.model_version
        if getattr(chunk, "usage_metadata", None) is not None:
            self.metadata = chunk.usage_metadata
        feedback = getattr(chunk, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            self.blocked = _name(feedback.block_reason)
        candidates = getattr(chunk, "candidates", None) or []
        if not candidates:
            return events
        candidate = candidates[0]
        if candidate.finish_reason is not None:
            self.reason = candidate.finish_reason
        content = candidate.content
        for part in (getattr(content, "parts", None) or []) if content is not None else []:
            if part.function_call is not None:
                events.append(self._call(part))
            elif part.text and part.thought:  # a thought summary (include_thoughts)
                self.thoughts.append(part.text)
                events.append(ReasoningDelta(part.text))
            elif part.text:
                self.texts.append(part.text)
                events.append(TextDelta(part.text))
        return events

    def _call(self, part: Any) -> StreamEvent:
        function_call = part.function_call
        wire_id = function_call.id or None
        call_id = wire_id if wire_id and _ID_OK.match(wire_id) else new_tool_call_id()
        self.memory.remember(call_id, wire_id, part.thought_signature or None)
        arguments = function_call.args if isinstance(function_call.args, dict) else {}
        call = tool_call_from_json(call_id, function_call.name or "", dict(arguments))
        index = len(self.calls)
        self.calls.append(call)
        return ToolCallDelta(
            index=index,
            id=call_id,
            name=call.name,
            arguments_delta=json.dumps(arguments, ensure_ascii=False),
        )

    def finish(self) -> ModelResponse:
        """The assembled response (call after the last chunk)."""
        from allos_core.messages import Message, ReasoningPart

        usage = usage_from(self.metadata)
        message = Message.assistant(
            "".join(self.texts),
            self.calls,
            provider=PROVIDER,
            model=self.model,
            usage=usage.model_copy(),
        )
        if self.thoughts:  # kept in the conversation; Gemini is not sent its summaries back
            message.parts.insert(0, ReasoningPart(text="".join(self.thoughts), provider=PROVIDER))
        reason = "content_filter" if self.blocked else finish_reason(self.reason, bool(self.calls))
        return ModelResponse(message=message, usage=usage, finish_reason=reason, model=self.model)
