"""What one run of an :class:`~allos_core.agent.Agent` carries: its live state and its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allos_core import events as ev
from allos_core.context import INTERRUPTED_RESULT
from allos_core.messages import Message, ToolCallPart, ToolResultPart, Usage

__all__ = ["EventCallback", "RunResult", "RunState"]

EventCallback = Callable[[ev.Event], None]


@dataclass
class RunResult:
    """The outcome of one run.

    ``text`` is the model's final answer (or its last text when the run stopped early),
    ``new_messages`` the messages this run added, ``messages`` the whole conversation after it,
    ``usage`` the tokens this run used. ``stop_reason`` is ``answered``, ``iteration_limit``,
    ``usage_limit``, ``interrupted`` or ``error``; for errors ``error`` says what happened and
    ``error_hint`` what to do.
    """

    text: str
    new_messages: list[Message] = field(repr=False)
    messages: list[Message] = field(repr=False)
    usage: Usage
    stop_reason: ev.StopReason
    iterations: int
    error: str | None = None
    error_hint: str | None = None
    session_path: Path | None = None
    #: the validated answer of a run with ``output_type`` (None otherwise, or when it failed)
    output: Any = None

    @property
    def ok(self) -> bool:
        """True when the model gave a final answer."""
        return self.stop_reason == "answered"


@dataclass
class RunState:
    """The state of the run in progress (internal to the agent and its helpers)."""

    task: str | None
    sinks: tuple[EventCallback, ...]
    #: images sent with the task (ImagePart)
    images: list[Any] = field(default_factory=list)
    new_messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    iterations: int = 0
    stop_reason: ev.StopReason | None = None
    error: str | None = None
    error_hint: str | None = None
    #: the calls of the assistant message being answered, and their results so far
    pending: tuple[list[ToolCallPart], list[ToolResultPart | None]] | None = None
    finished: bool = False
    result: RunResult | None = None
    #: structured output: the validated value, the model's last raw answer, failed attempts
    output: Any = None
    output_raw: str | None = None
    output_failures: int = 0

    def stop(
        self, reason: ev.StopReason, error: str | None = None, hint: str | None = None
    ) -> None:
        self.stop_reason = reason
        self.error = error
        self.error_hint = hint

    def answer_pending(self) -> Message | None:
        """The results of the calls still being answered (interrupted ones as errors), if any."""
        if self.pending is None:
            return None
        calls, results = self.pending
        parts = [
            result
            or ToolResultPart(
                call_id=call.id, name=call.name, content=INTERRUPTED_RESULT, is_error=True
            )
            for call, result in zip(calls, results, strict=False)
        ]
        self.pending = None
        return Message.tool_results(parts)

    def make_result(self, messages: list[Message], session_path: Path | None) -> RunResult:
        """The run's :class:`RunResult` (its text: the last assistant text, else the raw
        structured answer); the run is finished from now on."""
        text = ""
        for message in reversed(self.new_messages):
            if message.role == "assistant":
                text = message.text
                break
        if not text and self.output_raw:
            text = self.output_raw  # a final-answer tool call's arguments
        assert self.stop_reason is not None
        result = RunResult(
            text=text,
            new_messages=list(self.new_messages),
            messages=list(messages),
            usage=self.usage,
            stop_reason=self.stop_reason,
            iterations=self.iterations,
            error=self.error,
            error_hint=self.error_hint,
            session_path=session_path,
            output=self.output,
        )
        self.result = result
        self.finished = True
        return result
