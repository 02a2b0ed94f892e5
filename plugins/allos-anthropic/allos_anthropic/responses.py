"""Anthropic Messages API answers -> neutral responses, for whole messages and raw streams.

Both work on the objects the ``anthropic`` SDK parses (read by attribute, never imported here),
so this module stays cheap to import and easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from allos_core.providers import (
    ModelResponse,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    tool_call_from_json,
)

PROVIDER = "anthropic"

#: Anthropic stop_reason -> normalised finish_reason
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str:
    """Normalise Anthropic's ``stop_reason`` (``pause_turn`` and unknown ones are ``other``)."""
    return FINISH_REASONS.get(stop_reason or "", "other")


def _input_tokens(usage: Any) -> int:
    """Everything the request cost as input: fresh, cache-written and cache-read tokens."""
    return sum(
        getattr(usage, name, None) or 0
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def _response(
    text: str,
    calls: list[Any],
    usage: Any,
    stop: str | None,
    model: str,
    reasoning: list[Any] | None = None,
) -> ModelResponse:
    from allos_core.messages import Message

    message = Message.assistant(text, calls, provider=PROVIDER, model=model, usage=usage)
    if reasoning:
        message.parts[:0] = reasoning
    return ModelResponse(
        message=message, usage=usage, finish_reason=finish_reason(stop), model=model
    )


def parse_message(message: Any, model: str) -> ModelResponse:
    """A complete SDK ``Message`` as a :class:`ModelResponse`.

    Text blocks are joined; ``tool_use`` blocks become tool calls; ``thinking`` and
    ``redacted_thinking`` blocks become reasoning parts (signature and payload kept as they
    came); server-tool blocks are not part of the neutral model and are skipped.
    """
    from allos_core.messages import Usage

    texts: list[str] = []
    calls = []
    reasoning = []
    for block in message.content or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
        elif kind == "tool_use":
            calls.append(tool_call_from_json(block.id, block.name, block.input))
        elif kind == "thinking":
            reasoning.append(_reasoning(block.thinking or "", signature=block.signature))
        elif kind == "redacted_thinking":
            reasoning.append(_reasoning("", redacted=block.data))
    raw_usage = message.usage
    usage = Usage(
        input_tokens=_input_tokens(raw_usage),
        output_tokens=getattr(raw_usage, "output_tokens", 0) or 0,
        requests=1,
        cache_read_tokens=getattr(raw_usage, "cache_read_input_tokens", None) or 0,
        cache_write_tokens=getattr(raw_usage, "cache_creation_input_tokens", None) or 0,
    )
    return _response(
        "".join(texts), calls, usage, message.stop_reason, message.model or model, reasoning
    )


def _reasoning(text: str, signature: str | None = None, redacted: str | None = None) -> Any:
    from allos_core.messages import ReasoningPart

    return ReasoningPart(
        text=text, signature=signature or None, redacted=redacted, provider=PROVIDER
    )


@dataclass
class _Block:
    kind: str
    tool_index: int = -1
    id: str | None = None
    name: str = ""
    start_input: Any = None
    pieces: list[str] = field(default_factory=list)
    signature: str = ""
    redacted: str | None = None


class StreamAssembler:
    """Turns raw Anthropic stream events into neutral stream events and a final response.

    Feed each event to :meth:`feed` (it returns the events to yield), then call :meth:`finish`.
    Tool input arrives as ``input_json_delta`` pieces per content-block index; the pieces are
    joined when the stream ends, and JSON that does not parse gives a call with ``parse_error``
    rather than an exception.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.blocks: dict[int, _Block] = {}
        self.stop_reason: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read = 0
        self.cache_write = 0
        self.started = False
        self.stopped = False
        self._tool_count = 0

    def feed(self, event: Any) -> list[StreamEvent]:
        kind = getattr(event, "type", None)
        handler = getattr(self, f"_on_{kind}", None)
        return handler(event) if handler else []

    def _on_message_start(self, event: Any) -> list[StreamEvent]:
        self.started = True
        message = event.message
        if getattr(message, "model", None):
            self.model = message.model
        if message.usage is not None:
            self.input_tokens = _input_tokens(message.usage)
            self.output_tokens = message.usage.output_tokens or 0
            self._cache_counts(message.usage)
        return []

    def _on_content_block_start(self, event: Any) -> list[StreamEvent]:
        block = event.content_block
        kind = getattr(block, "type", "")
        if kind == "text":
            self.blocks[event.index] = state = _Block("text")
            if block.text:
                state.pieces.append(block.text)
                return [TextDelta(block.text)]
            return []
        if kind == "tool_use":
            state = _Block(
                "tool_use",
                tool_index=self._tool_count,
                id=block.id,
                name=block.name,
                start_input=block.input,
            )
            self._tool_count += 1
            self.blocks[event.index] = state
            return [ToolCallDelta(index=state.tool_index, id=block.id, name=block.name)]
        if kind == "thinking":
            self.blocks[event.index] = state = _Block("thinking")
            state.signature = getattr(block, "signature", None) or ""
            text = getattr(block, "thinking", None) or ""
            if text:
                state.pieces.append(text)
                return [ReasoningDelta(text)]
            return []
        if kind == "redacted_thinking":
            self.blocks[event.index] = _Block("redacted_thinking", redacted=block.data)
            return []
        self.blocks[event.index] = _Block(kind)  # server tools etc.: not part of the neutral model
        return []

    def _on_content_block_delta(self, event: Any) -> list[StreamEvent]:
        state = self.blocks.get(event.index)
        delta = event.delta
        kind = getattr(delta, "type", None)
        if kind == "text_delta":
            if state is None:
                self.blocks[event.index] = state = _Block("text")
            state.pieces.append(delta.text)
            return [TextDelta(delta.text)] if delta.text else []
        if kind == "thinking_delta" and state is not None and state.kind == "thinking":
            state.pieces.append(delta.thinking)
            return [ReasoningDelta(delta.thinking)] if delta.thinking else []
        if kind == "signature_delta" and state is not None and state.kind == "thinking":
            state.signature += delta.signature
            return []
        if kind == "input_json_delta" and state is not None and state.kind == "tool_use":
            state.pieces.append(delta.partial_json)
            if not delta.partial_json:
                return []
            return [ToolCallDelta(index=state.tool_index, arguments_delta=delta.partial_json)]
        return []

    def _on_message_delta(self, event: Any) -> list[StreamEvent]:
        if event.delta is not None and event.delta.stop_reason is not None:
            self.stop_reason = event.delta.stop_reason
        usage = event.usage
        if usage is not None:
            if usage.output_tokens is not None:
                self.output_tokens = usage.output_tokens  # cumulative
            if any(
                getattr(usage, name, None) is not None
                for name in (
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                )
            ):
                self.input_tokens = max(self.input_tokens, _input_tokens(usage))
                self._cache_counts(usage)
        return []

    def _cache_counts(self, usage: Any) -> None:
        read = getattr(usage, "cache_read_input_tokens", None)
        write = getattr(usage, "cache_creation_input_tokens", None)
        if read is not None:
            self.cache_read = read
        if write is not None:
            self.cache_write = write

    def _on_message_stop(self, event: Any) -> list[StreamEvent]:
        self.stopped = True
        return []

    def finish(self) -> ModelResponse:
        """The assembled response (call after the last event)."""
        from allos_core.messages import Usage

        texts: list[str] = []
        calls = []
        reasoning = []
        for index in sorted(self.blocks):
            state = self.blocks[index]
            if state.kind == "text":
                texts.append("".join(state.pieces))
            elif state.kind == "thinking":
                reasoning.append(_reasoning("".join(state.pieces), signature=state.signature))
            elif state.kind == "redacted_thinking":
                reasoning.append(_reasoning("", redacted=state.redacted))
            elif state.kind == "tool_use":
                raw = "".join(state.pieces)
                if not raw.strip() and state.start_input:
                    calls.append(tool_call_from_json(state.id, state.name, dict(state.start_input)))
                else:
                    calls.append(tool_call_from_json(state.id, state.name, raw))
        usage = Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            requests=1,
            cache_read_tokens=self.cache_read,
            cache_write_tokens=self.cache_write,
        )
        return _response("".join(texts), calls, usage, self.stop_reason, self.model, reasoning)
