"""Events the agent emits for every step of a run.

The CLI renders them; embedders log them or build their own UI. Pass ``on_event=`` to
:class:`~allos_core.agent.Agent`, or iterate ``agent.iter_events(task)``. Every event has a
``type`` and a ``to_dict()`` with stable keys (``allos run --json`` prints one per line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message, ToolCallPart, Usage
    from allos_core.permissions import PermissionDecision
    from allos_core.tools import ToolResult

StopReason = Literal[
    "answered",
    "iteration_limit",
    "usage_limit",
    "interrupted",
    "error",
    "cost_limit",
    "output_invalid",
]


@dataclass
class Event:
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        for name in self.__dataclass_fields__:
            data[name] = _plain(getattr(self, name))
        return data


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class RunStarted(Event):
    type: ClassVar[str] = "run_started"
    task: str | None
    provider: str
    model: str


@dataclass
class ModelRequestStarted(Event):
    type: ClassVar[str] = "model_request"
    iteration: int
    messages: int
    estimated_tokens: int


@dataclass
class TextDelta(Event):
    type: ClassVar[str] = "text_delta"
    text: str


@dataclass
class ReasoningDelta(Event):
    """A piece of the model's reasoning as it streams (the whole part is in the message)."""

    type: ClassVar[str] = "reasoning_delta"
    text: str


@dataclass
class AssistantMessage(Event):
    """The model's whole message for one turn, as recorded in the conversation."""

    type: ClassVar[str] = "assistant_message"
    message: Message


@dataclass
class ToolCallRequested(Event):
    type: ClassVar[str] = "tool_call"
    call: ToolCallPart


@dataclass
class PermissionDecided(Event):
    type: ClassVar[str] = "permission"
    call: ToolCallPart
    decision: PermissionDecision
    subject: str | None = None


@dataclass
class ToolResultEvent(Event):
    type: ClassVar[str] = "tool_result"
    call: ToolCallPart
    result: ToolResult
    duration: float = 0.0


@dataclass
class UsageUpdated(Event):
    type: ClassVar[str] = "usage"
    usage: Usage
    total: Usage


@dataclass
class Compacted(Event):
    type: ClassVar[str] = "compaction"
    kind: Literal["truncate", "summary"]
    tokens_before: int
    tokens_after: int
    messages_removed: int = 0


@dataclass
class Notice(Event):
    """Something the user should know that is not an error (``level``: notice or warning)."""

    type: ClassVar[str] = "notice"
    level: str
    message: str


@dataclass
class SessionSaved(Event):
    type: ClassVar[str] = "session_saved"
    path: str


@dataclass
class RunStopped(Event):
    type: ClassVar[str] = "stop"
    reason: StopReason
    error: str | None = None
    usage: Usage | None = None
    iterations: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolSourceStarted(Event):
    """A tool source (an MCP server, ...) started and offers ``tools`` tools."""

    type: ClassVar[str] = "tool_source_started"
    source: str
    tools: int
    seconds: float = 0.0


@dataclass
class ToolSourceFailed(Event):
    """A tool source failed to start or stopped working; the run goes on without its tools."""

    type: ClassVar[str] = "tool_source_failed"
    source: str
    error: str
