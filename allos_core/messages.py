"""The provider-neutral conversation model.

A conversation is a list of :class:`Message`. Each message has a role and a list of parts:

- :class:`TextPart` — text from the user, the system prompt or the model;
- :class:`ToolCallPart` — the model asks for a tool (``id``, ``name``, ``arguments`` as a dict);
- :class:`ToolResultPart` — the answer to one tool call (``call_id``, ``name``, ``content``);
- :class:`ReasoningPart` — the model's reasoning before it answered (text, plus an opaque
  provider signature or redacted payload), sent back only to the provider that made it;
- :class:`ImagePart` — an image (PNG, JPEG, GIF or WebP) in a user message; tool results carry
  theirs in :attr:`ToolResultPart.images`. Build them with :mod:`allos_core.images`.

Rules every provider plugin relies on: an assistant message that asks for tools comes before the
``tool`` message(s) that answer it, and every tool call gets exactly one result. Provider plugins
map this model to and from their wire format; nothing else knows a wire format.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class TextPart(BaseModel):
    """Plain text."""

    model_config = ConfigDict(frozen=True)
    type: Literal["text"] = "text"
    text: str


class ToolCallPart(BaseModel):
    """A request from the model to run one tool.

    ``id`` is unique within the conversation; providers that give none (Ollama) get one generated.
    When the model sent arguments that are not valid JSON, ``arguments`` is empty, ``raw_arguments``
    keeps what was sent and ``parse_error`` says why: the agent answers such a call with an error
    result instead of running it.
    """

    model_config = ConfigDict(frozen=True)
    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    parse_error: str | None = None


class ImagePart(BaseModel):
    """An image: its media type and its bytes, base64-encoded (as every provider sends them)."""

    model_config = ConfigDict(frozen=True)
    type: Literal["image"] = "image"
    media_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"]
    data: str


class ToolResultPart(BaseModel):
    """The result of one tool call, matched to it by ``call_id`` (``images``: what it showed)."""

    model_config = ConfigDict(frozen=True)
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str
    content: str
    is_error: bool = False
    images: list[ImagePart] = Field(default_factory=list)


class ReasoningPart(BaseModel):
    """The model's reasoning ("thinking") in an assistant message, before its text and calls.

    ``text`` is the readable reasoning (empty when the provider sent it redacted). ``signature``
    (Anthropic's signed thinking) and ``redacted`` (an encrypted ``redacted_thinking`` payload)
    are opaque: they must go back to ``provider`` byte for byte, and mean nothing to any other.
    Each provider plugin sends back the parts it made itself and drops the others (a model
    cannot verify another vendor's reasoning), so a session moving between providers stays valid.
    """

    model_config = ConfigDict(frozen=True)
    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    #: the provider that made it (its ``name``, e.g. ``anthropic``)
    provider: str | None = None


Part = Annotated[
    TextPart | ToolCallPart | ToolResultPart | ReasoningPart | ImagePart,
    Field(discriminator="type"),
]


class Usage(BaseModel):
    """Token counts, and what they cost. Add two with ``+``.

    ``input_tokens`` counts every input token, including those read from or written to the
    provider's prompt cache; ``cache_read_tokens`` and ``cache_write_tokens`` say how many of
    them were. ``cost`` is in US dollars (see :mod:`allos_core.pricing`): None when no request
    in it had a known price, else the sum over the requests that had one.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            requests=self.requests + other.requests,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost=_add_costs(self.cost, other.cost),
        )


def _add_costs(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else a + b


class Message(BaseModel):
    """One message of a conversation.

    ``provider`` and ``model`` record which model wrote an assistant message, so a session resumed
    on another provider still tells its history.
    """

    role: Role
    parts: list[Part] = Field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    usage: Usage | None = None
    created_at: datetime = Field(default_factory=utc_now)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", parts=[TextPart(text=text)])

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", parts=[TextPart(text=text)])

    @classmethod
    def assistant(
        cls, text: str = "", tool_calls: list[ToolCallPart] | None = None, **fields: Any
    ) -> Message:
        parts: list[Any] = [TextPart(text=text)] if text else []
        parts.extend(tool_calls or [])
        return cls(role="assistant", parts=parts, **fields)

    @classmethod
    def tool_results(cls, results: list[ToolResultPart]) -> Message:
        return cls(role="tool", parts=list(results))

    # -- views ---------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """All text parts joined."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]

    @property
    def tool_results_parts(self) -> list[ToolResultPart]:
        return [p for p in self.parts if isinstance(p, ToolResultPart)]

    @property
    def images(self) -> list[ImagePart]:
        """The image parts (of a user message)."""
        return [p for p in self.parts if isinstance(p, ImagePart)]

    @property
    def reasoning(self) -> list[ReasoningPart]:
        """The reasoning parts (empty for messages without reasoning)."""
        return [p for p in self.parts if isinstance(p, ReasoningPart)]


def validate_conversation(messages: list[Message]) -> list[str]:
    """Return the problems that would make ``messages`` invalid for some provider.

    Checked: tool-call ids are unique; every tool call is answered by exactly one result, in a
    ``tool`` message that follows it before the next assistant message; no result answers an
    unknown call. An empty list means
    the conversation is valid input for every provider.
    """
    problems: list[str] = []
    pending: dict[str, str] = {}
    used: set[str] = set()
    for index, message in enumerate(messages):
        if message.role == "assistant":
            for call_id, name in pending.items():
                problems.append(f"message {index}: tool call {call_id} ({name}) has no result")
            pending = {}
            for call in message.tool_calls:
                if call.id in used:
                    problems.append(f"message {index}: tool call id {call.id} is used twice")
                used.add(call.id)
                pending[call.id] = call.name
        elif message.role == "tool":
            for result in message.tool_results_parts:
                if result.call_id not in pending:
                    problems.append(
                        f"message {index}: result for {result.call_id} answers no open tool call"
                    )
                else:
                    del pending[result.call_id]
        elif message.role == "user" and pending:
            for call_id, name in pending.items():
                problems.append(f"message {index}: tool call {call_id} ({name}) has no result")
            pending = {}
    for call_id, name in pending.items():
        problems.append(f"end: tool call {call_id} ({name}) has no result")
    return problems
