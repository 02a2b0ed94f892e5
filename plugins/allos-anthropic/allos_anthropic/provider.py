"""The ``anthropic`` provider: Claude models through the official ``anthropic`` SDK.

The SDK is imported when the first request is made (``import anthropic`` takes about a second),
and one ``AsyncAnthropic`` client is kept per provider instance so connections are reused. The
SDK's own retries are used: 429, 529 (overloaded), 5xx and connection errors are retried
``max_retries`` times with exponential back-off that honours ``Retry-After``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from allos_anthropic import models
from allos_anthropic.cache import add_cache_breakpoints
from allos_anthropic.errors import API_KEY_ENV, missing_key_error, translate_error
from allos_anthropic.mapping import to_anthropic, tools_to_anthropic
from allos_anthropic.responses import StreamAssembler, parse_message
from allos_anthropic.structured import output_params
from allos_anthropic.thinking import apply_thinking
from allos_core.clients import LoopBoundClient
from allos_core.errors import ProviderConnectionError
from allos_core.providers import (
    Capabilities,
    ModelInfo,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderStatus,
    StreamDone,
    StreamEvent,
    ToolSchema,
    estimate_tokens,
)

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message

DEFAULT_BASE_URL = "https://api.anthropic.com"
AUTH_TOKEN_ENV = "ANTHROPIC_AUTH_TOKEN"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"


class AnthropicProvider(Provider):
    """Claude models on the Anthropic Messages API.

    Options: ``model``, ``api_key`` (default ``$ANTHROPIC_API_KEY``; ``$ANTHROPIC_AUTH_TOKEN`` is
    used as a bearer token when no key is set), ``base_url`` (default ``$ANTHROPIC_BASE_URL`` or
    https://api.anthropic.com), ``timeout``, ``max_retries``, ``temperature``, ``max_tokens``
    (always sent, as the API requires: default per model, usually 8192). Any other option
    (``top_k``, ``top_p``, ``stop_sequences``, ``metadata``, ``thinking``, ``tool_choice``, ...)
    is passed to the API as it is. ``think`` (an effort or a token budget) turns on extended
    thinking; Claude's signed thinking blocks are kept in the conversation and sent back.
    ``cache`` (default true) marks the tools, the system prompt and the end of the
    conversation for prompt caching (see :mod:`allos_anthropic.cache`); false turns it off.
    """

    name: ClassVar[str] = "anthropic"
    description: ClassVar[str] = "Anthropic Claude models (official anthropic SDK)"
    default_model: ClassVar[str] = models.DEFAULT_MODEL
    capabilities: ClassVar[Capabilities] = Capabilities(
        streaming=True,
        tools=True,
        parallel_tool_calls=True,
        system_prompt=True,
        structured_output=True,
    )
    prices_id: ClassVar[str | None] = "anthropic"
    api_key_env: ClassVar[str | None] = API_KEY_ENV
    base_url_env: ClassVar[str | None] = BASE_URL_ENV

    #: parameters ``messages.create`` takes by name; other options go in ``extra_body``
    _create_params: ClassVar[frozenset[str] | None] = None

    def __init__(self, model: str | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.base_url = (self.base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self._credentials()  # a missing key is a configuration error, found before any request
        self._client = LoopBoundClient(self._make_client)

    # -- configuration --------------------------------------------------------------------------
    def _credentials(self) -> dict[str, Any]:
        key = self.api_key or os.environ.get(API_KEY_ENV)
        if key:
            return {"api_key": key}
        token = os.environ.get(AUTH_TOKEN_ENV)
        if token:
            return {"auth_token": token}
        raise missing_key_error()

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
        """Configured when a key is set; never shows it."""
        if options.get("api_key") or os.environ.get(API_KEY_ENV):
            return ProviderStatus(True, f"key set ({API_KEY_ENV})")
        if os.environ.get(AUTH_TOKEN_ENV):
            return ProviderStatus(True, f"bearer token set ({AUTH_TOKEN_ENV})")
        return ProviderStatus(False, f"set {API_KEY_ENV}")

    @property
    def client(self) -> Any:
        """The one ``AsyncAnthropic`` client of this provider, built (and the SDK imported) on first use."""
        return self._client.get()

    def _make_client(self) -> Any:
        credentials = self._credentials()
        from anthropic import AsyncAnthropic

        # credentials and base_url are always explicit, so the SDK reads no profile files
        return AsyncAnthropic(
            **credentials,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _secret(self) -> str | None:
        return self.api_key or os.environ.get(API_KEY_ENV) or os.environ.get(AUTH_TOKEN_ENV)

    def _error(self, exc: BaseException) -> BaseException:
        return translate_error(
            exc,
            model=self.model,
            base_url=self.base_url,
            timeout=self.timeout,
            secret=self._secret(),
        )

    # -- requests -------------------------------------------------------------------------------
    def build_params(self, request: ModelRequest) -> dict[str, Any]:
        """The Messages API body for ``request`` (without ``stream``)."""
        system, messages = to_anthropic(request.messages)
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens
            or self.max_tokens
            or models.default_max_tokens(self.model),
            "messages": messages,
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = tools_to_anthropic(request.tools)
        if request.output is not None:
            params.update(output_params(request.output))
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            params["temperature"] = temperature
        for key, value in {**self.options, **request.options}.items():
            if value is not None and key not in ("model", "messages", "stream"):
                params[key] = value
        apply_thinking(params, self.think)
        if self.cache:
            add_cache_breakpoints(params)
        return params

    def _create_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Split ``params`` into named arguments of ``messages.create`` and ``extra_body``."""
        cls = type(self)
        if cls._create_params is None:
            signature = inspect.signature(self.client.messages.create)
            cls._create_params = frozenset(signature.parameters) - {
                "extra_headers",
                "extra_query",
                "extra_body",
                "timeout",
            }
        named = {k: v for k, v in params.items() if k in cls._create_params}
        extra = {k: v for k, v in params.items() if k not in cls._create_params}
        if extra:
            named["extra_body"] = extra
        return named

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer."""
        kwargs = self._create_kwargs(self.build_params(request))
        try:
            message = await self.client.messages.create(**kwargs)
        except Exception as exc:
            raise self._error(exc) from None
        return parse_message(message, self.model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream the answer: text deltas, tool-call progress, then :class:`StreamDone`."""
        kwargs = self._create_kwargs(self.build_params(request))
        assembler = StreamAssembler(self.model)
        try:
            events = await self.client.messages.create(**kwargs, stream=True)
        except Exception as exc:
            raise self._error(exc) from None
        try:
            try:
                async for event in events:
                    for item in assembler.feed(event):
                        yield item
            except Exception as exc:
                raise self._error(exc) from None
        finally:
            await events.close()
        if not assembler.stopped:
            raise ProviderConnectionError(
                f"the stream from anthropic at {self.base_url} ended before message_stop",
                hint="try again",
                provider=self.name,
            )
        yield StreamDone(assembler.finish())

    # -- knowledge ------------------------------------------------------------------------------
    async def context_window(self) -> int | None:
        """The model's context window from Allos's table of Claude models (None if unknown)."""
        return models.context_window(self.model)

    def count_tokens(self, messages: list[Message], tools: list[ToolSchema] | None = None) -> int:
        """An offline estimate, scaled for the newer Claude tokenizer where the model uses it."""
        return int(estimate_tokens(messages, tools) * models.tokenizer_factor(self.model))

    async def list_models(self) -> list[str]:
        """Model ids the API offers this key."""
        try:
            return [info.id async for info in self.client.models.list()]
        except Exception as exc:
            raise self._error(exc) from None

    async def model_info(self) -> ModelInfo | None:
        """Every Claude model takes tools and images."""
        return ModelInfo(self.model, models.context_window(self.model), tools=True, vision=True)

    async def describe_models(self) -> list[ModelInfo]:
        """The models API, with context windows from Allos's table (every Claude takes tools
        and images)."""
        try:
            listed = [info async for info in self.client.models.list()]
        except Exception as exc:
            raise self._error(exc) from None
        return [
            ModelInfo(
                info.id,
                context_window=models.context_window(info.id),
                tools=True,
                vision=True,
                name=getattr(info, "display_name", "") or "",
            )
            for info in listed
        ]

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
