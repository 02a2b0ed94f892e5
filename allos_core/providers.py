"""The provider contract: what a model plugin implements, and the types it speaks.

A provider plugin subclasses :class:`Provider` and returns the class from its
``allos_providers`` hook. The class must be cheap to import: import the SDK inside ``__init__``
(or later), never at module level, so discovering plugins stays fast.

This module does not import pydantic at import time for the same reason; the conversation types
(:mod:`allos_core.messages`) are only needed once a request is made.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.errors import ProviderError
    from allos_core.messages import Message, ToolCallPart, Usage

T = TypeVar("T")


@dataclass(frozen=True)
class ToolSchema:
    """A tool as a model sees it: name, description and the JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class OutputSchema:
    """The shape the model's final answer must have (see :mod:`allos_core.output`).

    ``tool=False``: the provider asks its API for a native structured answer matching ``schema``
    (OpenAI ``response_format``, Ollama ``format``, Anthropic ``output_config.format``) and the
    answer is the message text. ``strict`` says the schema meets OpenAI's strict rules (every
    property required, ``additionalProperties: false``). ``tool=True`` (the fallback): ``name``
    is also one of the request's tools, and the provider should make the model call a tool
    (``tool_choice`` "required" / "any") so the run ends by calling it.
    """

    name: str
    schema: dict[str, Any]
    strict: bool = False
    description: str = ""
    tool: bool = False


@dataclass
class ModelRequest:
    """One call to a model.

    ``messages`` may start with ``system`` messages; each provider places them where its API wants
    them (OpenAI: a system message; Anthropic: the top-level ``system``).
    """

    messages: list[Message]
    tools: list[ToolSchema] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: the structured answer wanted, if any (see :class:`OutputSchema`)
    output: OutputSchema | None = None


@dataclass
class ModelResponse:
    """A model's complete answer.

    ``finish_reason`` is normalised: ``stop``, ``tool_calls``, ``length``, ``content_filter`` or
    ``other``.
    """

    message: Message
    usage: Usage
    finish_reason: str = "stop"
    model: str | None = None


@dataclass
class TextDelta:
    """A piece of streamed text."""

    text: str


@dataclass
class ReasoningDelta:
    """A piece of streamed reasoning (for display; the whole part is in StreamDone's message)."""

    text: str


@dataclass
class ToolCallDelta:
    """Progress of a streamed tool call (for display; the assembled call is in StreamDone)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments_delta: str = ""


@dataclass
class StreamDone:
    """The last event of every stream: the assembled response."""

    response: ModelResponse


StreamEvent = TextDelta | ToolCallDelta | ReasoningDelta | StreamDone


@dataclass(frozen=True)
class Capabilities:
    """What a provider (or its models) can do."""

    streaming: bool = True
    tools: bool = True
    parallel_tool_calls: bool = True
    system_prompt: bool = True
    images: bool = False
    #: the API can constrain the answer to a JSON schema (``ModelRequest.output`` with
    #: ``tool=False``); without it the agent uses a final-answer tool
    structured_output: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """One model a provider offers: what ``allos models`` lists.

    ``tools``, ``thinking`` and ``vision`` are True or False where the provider says (Ollama's
    ``/api/show`` capabilities), None where it is not known.
    """

    id: str
    context_window: int | None = None
    tools: bool | None = None
    thinking: bool | None = None
    vision: bool | None = None
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name or self.id,
            "context_window": self.context_window,
            "capabilities": {"tools": self.tools, "thinking": self.thinking, "vision": self.vision},
        }


@dataclass
class ProviderStatus:
    """Whether a provider is usable as configured. ``detail`` never contains a secret."""

    configured: bool
    detail: str


class Provider(ABC):
    """Base class of model providers.

    Subclasses set the class attributes and implement :meth:`complete` (and usually
    :meth:`stream`). Constructor options common to every provider are stored on the instance
    (among them ``think``: reasoning effort or budget, and ``cache``: prompt caching on or off,
    which each provider maps onto its API or ignores); provider-specific ones land in
    ``self.options`` and are passed through to the API.
    """

    #: the name users pass to ``-p`` and write in config files
    name: ClassVar[str]
    #: one line for ``allos providers list``
    description: ClassVar[str] = ""
    default_model: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: environment variable that holds the API key, if the provider needs one
    api_key_env: ClassVar[str | None] = None
    #: environment variable that overrides the base URL, if any
    base_url_env: ClassVar[str | None] = None
    #: the provider's id in genai-prices ("openai", "anthropic"), None for unpriced providers
    #: (local models); see :mod:`allos_core.pricing`
    prices_id: ClassVar[str | None] = None

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        think: str | int | bool | None = None,
        cache: bool = True,
        **options: Any,
    ) -> None:
        self.model = model or self.default_model
        self.api_key = api_key
        self.base_url = base_url
        self.timeout = 120.0 if timeout is None else float(timeout)
        self.max_retries = 3 if max_retries is None else int(max_retries)
        self.temperature = temperature
        self.max_tokens = max_tokens
        #: how hard the model should reason (see :func:`allos_core.thinking.parse_think`);
        #: each provider maps it onto its API (None: the provider's default)
        self.think = think
        #: whether to ask the API to cache the prompt prefix, where it needs asking (Anthropic)
        self.cache = bool(cache)
        self.options = options

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}(model={self.model!r})"

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Send ``request`` and yield events as they arrive; the last one is :class:`StreamDone`.

        The default implementation calls :meth:`complete` and yields its text in one piece.
        """
        response = await self.complete(request)
        if response.message.text:
            yield TextDelta(response.message.text)
        yield StreamDone(response)

    async def context_window(self) -> int | None:
        """The model's context window in tokens, or None when unknown."""
        return None

    def count_tokens(self, messages: list[Message], tools: list[ToolSchema] | None = None) -> int:
        """The best offline estimate of the tokens ``messages`` and ``tools`` take."""
        return estimate_tokens(messages, tools)

    async def list_models(self) -> list[str]:
        """Models this provider can serve, when the provider can tell (else empty)."""
        return []

    async def describe_models(self) -> list[ModelInfo]:
        """The models this provider offers, with context window and capabilities where known.

        The default lists :meth:`list_models` with nothing more known.
        """
        return [ModelInfo(model) for model in await self.list_models()]

    async def model_info(self) -> ModelInfo | None:
        """What is known of the configured model (for checks before a run), or None."""
        return None

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
        """Whether the provider is configured, without network calls where possible."""
        if cls.api_key_env is None:
            return ProviderStatus(True, "no key needed")
        if options.get("api_key") or os.environ.get(cls.api_key_env):
            return ProviderStatus(True, f"key set ({cls.api_key_env})")
        return ProviderStatus(False, f"set {cls.api_key_env}")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Release network resources (HTTP clients)."""


# -- helpers shared by provider plugins ---------------------------------------------------------


def estimate_tokens(messages: list[Message], tools: list[ToolSchema] | None = None) -> int:
    """A provider-independent token estimate: about four characters a token plus overheads."""
    chars = 0
    count = 0
    part: Any  # one of the part types, told apart by ``type``
    for message in messages:
        count += 1
        for part in message.parts:
            kind = part.type
            if kind == "text":
                chars += len(part.text)
            elif kind == "tool_call":
                chars += len(part.name) + len(part.raw_arguments or json.dumps(part.arguments))
            elif kind == "reasoning":
                chars += len(part.text) + len(part.signature or "") + len(part.redacted or "")
            elif kind == "image":
                chars += IMAGE_CHARS
            elif kind == "tool_result":
                chars += len(part.content) + len(part.name) + IMAGE_CHARS * len(part.images)
    for schema in tools or ():
        chars += len(schema.name) + len(schema.description) + len(json.dumps(schema.parameters))
    return chars // 4 + 4 * count


#: what an image counts for in the estimate (about 1600 tokens, a typical screenshot)
IMAGE_CHARS = 6400

_CALL_ID_OK = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def new_tool_call_id() -> str:
    """A fresh tool-call id valid for every provider (for APIs that give none, like Ollama)."""
    import uuid  # imported on use: uuid pulls in platform, a cost for every CLI start

    return "call_" + uuid.uuid4().hex[:24]


def portable_call_id(call_id: str) -> str:
    """``call_id`` made acceptable to every provider (``[A-Za-z0-9_-]``, at most 40 characters).

    Ids that already fit are returned unchanged; others map to a stable derived id, so a call and
    its result still match after mapping.
    """
    if _CALL_ID_OK.match(call_id):
        return call_id
    import uuid

    return "call_" + uuid.uuid5(uuid.NAMESPACE_OID, call_id).hex[:24]


def tool_call_from_json(
    call_id: str | None, name: str, raw: str | dict[str, Any] | None
) -> ToolCallPart:
    """Build a :class:`ToolCallPart` from arguments as the model sent them.

    Invalid JSON, or JSON that is not an object, is not an exception: the call is marked with
    ``parse_error`` so the agent can answer the model with an error and go on.
    """
    from allos_core.messages import ToolCallPart

    call_id = call_id or new_tool_call_id()
    if isinstance(raw, dict):
        return ToolCallPart(id=call_id, name=name, arguments=raw)
    text = (raw or "").strip()
    if not text:
        return ToolCallPart(id=call_id, name=name, arguments={})
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return ToolCallPart(
            id=call_id, name=name, raw_arguments=raw, parse_error=f"invalid JSON: {exc}"
        )
    if not isinstance(value, dict):
        return ToolCallPart(
            id=call_id,
            name=name,
            raw_arguments=raw,
            parse_error=f"arguments must be a JSON object, got {type(value).__name__}",
        )
    return ToolCallPart(id=call_id, name=name, arguments=value)


def tool_call_arguments_json(call: ToolCallPart) -> str:
    """The arguments of ``call`` as a JSON string (what OpenAI-style APIs carry)."""
    if call.parse_error and call.raw_arguments is not None:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    is_retryable: Callable[[BaseException], bool],
    retry_after: Callable[[BaseException], float | None] = lambda exc: None,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
) -> T:
    """Run ``attempt`` and retry retryable failures with exponential back-off and jitter.

    A ``Retry-After`` the server sent (as returned by ``retry_after``) is honoured, capped at
    ``max_delay``. The last failure is re-raised. For SDKs without retries of their own (Ollama);
    the openai and anthropic SDKs retry by themselves. ``sleep`` defaults to ``asyncio.sleep``.
    """
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if failures >= max_retries or not is_retryable(exc):
                raise
            delay = retry_after(exc)
            if delay is None:
                import random

                delay = base_delay * (2**failures) * (0.5 + random.random() / 2)
            failures += 1
            await sleep(min(max(delay, 0.0), max_delay))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import datetime, timezone

    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def error_for_status(
    provider: str,
    status: int | None,
    detail: str,
    *,
    model: str | None = None,
    api_key_env: str | None = None,
    base_url: str | None = None,
) -> ProviderError:
    """Map an HTTP status from a provider onto the Allos error that says what to do.

    Provider plugins call this from their SDK-error translation and may replace the hint with a
    provider-specific one (for example Ollama's ``ollama pull NAME``). Never put a key in
    ``detail``.
    """
    from allos_core import errors

    where = f" at {base_url}" if base_url else ""
    detail = detail.strip()
    suffix = f": {detail}" if detail else ""
    common: dict[str, Any] = {"provider": provider, "status_code": status}
    if status in (401, 403):
        return errors.AuthenticationError(
            f"{provider} rejected the API key (HTTP {status}){suffix}",
            hint=f"check the key in {api_key_env}" if api_key_env else "check your credentials",
            **common,
        )
    if status == 404:
        return errors.ModelNotFoundError(
            f"{provider}{where} does not know the model {model!r} (HTTP 404){suffix}",
            hint="check the model name (-m/--model) and the base URL",
            **common,
        )
    if status in (429, 529):
        what = "is overloaded" if status == 529 else "rate-limited the request"
        return errors.RateLimitError(
            f"{provider} {what} (HTTP {status}) and retries ran out{suffix}",
            hint="wait a moment and try again, or raise max_retries",
            **common,
        )
    if status == 408:
        return errors.ProviderTimeoutError(
            f"{provider} timed out (HTTP 408){suffix}", hint="try again or raise timeout", **common
        )
    if status is not None and status >= 500:
        return errors.ProviderServerError(
            f"{provider}{where} had a server error (HTTP {status}){suffix}",
            hint="the provider is having trouble; try again later",
            **common,
        )
    if status in (400, 413, 422):
        lowered = detail.lower()
        if "context" in lowered and (
            "length" in lowered or "window" in lowered or "long" in lowered
        ):
            return errors.ContextLengthError(
                f"the conversation is too long for {model or 'the model'}{suffix}",
                hint="compact the session (/compact) or start a new one",
                **common,
            )
        return errors.BadRequestError(
            f"{provider} rejected the request (HTTP {status}){suffix}", **common
        )
    return errors.ProviderError(f"{provider} failed (HTTP {status}){suffix}", **common)
