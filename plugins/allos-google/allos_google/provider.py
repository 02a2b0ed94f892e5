"""The ``google`` provider: Gemini models through the official ``google-genai`` SDK.

The SDK (about a second to import) is imported when the first request is made, and one client
is kept per provider instance so connections are reused. The same provider reaches the Gemini
Developer API (an API key) or Vertex AI (``vertexai = true`` with a Google Cloud project and
location, authenticated by Application Default Credentials).

Retries are done here, not by the SDK (whose back-off ignores the server's advice): 429, 5xx,
timeouts and refused connections are retried ``max_retries`` times with exponential back-off
that honours ``Retry-After`` and Google's ``RetryInfo`` delay.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

from allos_core.errors import ConfigError, ProviderConnectionError
from allos_core.providers import (
    Capabilities,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderStatus,
    StreamDone,
    StreamEvent,
    call_with_retries,
)
from allos_core.thinking import parse_think
from allos_google import models
from allos_google.errors import (
    API_KEY_ENV,
    API_KEY_ENVS,
    BASE_URL_ENV,
    is_retryable,
    missing_key_error,
    translate_error,
    vertex_setup_error,
)
from allos_google.mapping import CallMemory, to_gemini, tools_to_gemini
from allos_google.responses import Assembler

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
VERTEX_ENV = "GOOGLE_GENAI_USE_VERTEXAI"
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
LOCATION_ENV = "GOOGLE_CLOUD_LOCATION"
#: options this provider consumes itself (the rest go into ``GenerateContentConfig``)
_OWN_OPTIONS = frozenset({"vertexai", "project", "location", "api_version"})


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class GoogleProvider(Provider):
    """Gemini models on the Gemini Developer API or on Vertex AI.

    Options: ``model``; ``api_key`` (default ``$GOOGLE_API_KEY``, else ``$GEMINI_API_KEY``, the
    SDK's order); ``base_url`` (default ``$GOOGLE_GEMINI_BASE_URL`` or
    https://generativelanguage.googleapis.com, for proxies and tests); ``api_version``
    (default ``v1beta``); ``timeout``; ``max_retries``; ``retry_base_delay``; ``temperature``;
    ``max_tokens`` (Gemini's ``max_output_tokens``). Vertex AI: ``vertexai = true`` (or
    ``$GOOGLE_GENAI_USE_VERTEXAI``), ``project`` and ``location`` (default
    ``$GOOGLE_CLOUD_PROJECT`` / ``$GOOGLE_CLOUD_LOCATION``); an ``api_key`` there selects Vertex
    AI express mode. Any other option (``top_p``, ``top_k``, ``thinking_config``,
    ``safety_settings``, ``tool_config``, ``stop_sequences``, ``seed``, ...) is a field of the
    SDK's ``GenerateContentConfig`` and is passed as it is.
    """

    name: ClassVar[str] = "google"
    description: ClassVar[str] = "Google Gemini models (official google-genai SDK; Vertex AI too)"
    default_model: ClassVar[str] = models.DEFAULT_MODEL
    capabilities: ClassVar[Capabilities] = Capabilities(
        streaming=True, tools=True, parallel_tool_calls=True, system_prompt=True
    )
    api_key_env: ClassVar[str | None] = API_KEY_ENV
    base_url_env: ClassVar[str | None] = BASE_URL_ENV

    def __init__(
        self, model: str | None = None, *, retry_base_delay: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(model, **kwargs)
        own = {k: self.options.pop(k) for k in list(self.options) if k in _OWN_OPTIONS}
        vertexai = own.get("vertexai")
        self.vertexai = _truthy(os.environ.get(VERTEX_ENV, "") if vertexai is None else vertexai)
        self.project = own.get("project") or os.environ.get(PROJECT_ENV)
        self.location = own.get("location") or os.environ.get(LOCATION_ENV)
        self.api_version = own.get("api_version")
        if not self.vertexai:
            self.base_url = (
                self.base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
            ).rstrip("/")
        self.retry_base_delay = float(retry_base_delay)
        import asyncio

        #: how the retry loop waits (tests may replace it)
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self.memory = CallMemory()
        self._client: Any = None
        self._window: int | None = None
        self._window_asked = False

    def __repr__(self) -> str:  # never shows the key
        where = "vertexai" if self.vertexai else "gemini-api"
        return f"GoogleProvider(model={self.model!r}, backend={where!r})"

    # -- configuration --------------------------------------------------------------------------
    def _key(self) -> str | None:
        if self.api_key:
            return self.api_key
        return next((os.environ[n] for n in API_KEY_ENVS if os.environ.get(n)), None)

    @property
    def where(self) -> str:
        """Where requests go, for messages (never with a key)."""
        if self.vertexai and not self.base_url:
            return f"Vertex AI ({self.project or '?'}, {self.location or '?'})"
        return str(self.base_url)

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
        """Configured when a key is set (or Vertex AI is chosen with a project); never shows it."""
        vertexai = options.get("vertexai")
        if _truthy(os.environ.get(VERTEX_ENV, "") if vertexai is None else vertexai):
            project = options.get("project") or os.environ.get(PROJECT_ENV)
            if project or options.get("api_key"):
                return ProviderStatus(True, f"Vertex AI (project {project or 'express mode'})")
            return ProviderStatus(False, f"Vertex AI: set project or {PROJECT_ENV}")
        if options.get("api_key"):
            return ProviderStatus(True, "key set (api_key)")
        for name in API_KEY_ENVS:
            if os.environ.get(name):
                return ProviderStatus(True, f"key set ({name})")
        return ProviderStatus(False, f"set {API_KEY_ENV}")

    @property
    def client(self) -> Any:
        """The SDK's async client (``Client(...).aio``), built on first use and then reused."""
        if self._client is None:
            self._client = self._build_client()
        return self._client.aio

    def _build_client(self) -> Any:
        key = self._key()
        if not self.vertexai and not key:
            raise missing_key_error()
        from google import genai
        from google.genai import types

        http: dict[str, Any] = {"timeout": int(self.timeout * 1000)}
        if self.base_url:
            http["base_url"] = self.base_url
        if self.api_version:
            http["api_version"] = self.api_version
        arguments: dict[str, Any] = {
            "vertexai": self.vertexai,
            "http_options": types.HttpOptions(**http),
        }
        if self.vertexai and not self.api_key:
            arguments.update(project=self.project, location=self.location)
        else:
            arguments["api_key"] = key
        try:
            return genai.Client(**arguments)
        except Exception as exc:  # no project, no credentials, conflicting settings
            if self.vertexai:
                raise vertex_setup_error(exc) from None
            raise ConfigError(f"cannot set up the google client: {exc}") from None

    def _error(self, exc: BaseException) -> BaseException:
        return translate_error(
            exc,
            model=self.model,
            base_url=self.where,
            timeout=self.timeout,
            secret=self._key(),
        )

    async def _with_retries(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``attempt`` (an SDK call), translating failures and retrying the retryable ones."""

        async def translated() -> Any:
            try:
                return await attempt()
            except Exception as exc:
                raise self._error(exc) from None

        return await call_with_retries(
            translated,
            max_retries=self.max_retries,
            is_retryable=is_retryable,
            retry_after=lambda exc: getattr(exc, "retry_after", None),
            base_delay=self.retry_base_delay,
            sleep=self.sleep,
        )

    # -- requests -------------------------------------------------------------------------------
    def build_request(self, request: ModelRequest) -> dict[str, Any]:
        """The ``model``, ``contents`` and ``config`` for ``generate_content`` (plain dicts)."""
        system, contents = to_gemini(request.messages, self.memory, model=self.model)
        config: dict[str, Any] = {"automatic_function_calling": {"disable": True}}
        if system:
            config["system_instruction"] = system
        if request.tools:
            config["tools"] = tools_to_gemini(request.tools)
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            config["temperature"] = temperature
        max_tokens = request.max_tokens or self.max_tokens
        if max_tokens:
            config["max_output_tokens"] = max_tokens
        think = parse_think(self.think)
        if think is not None:  # --think: a budget, and the thought summaries to show
            config["thinking_config"] = {"thinking_budget": think.budget, "include_thoughts": True}
        for key, value in {**self.options, **request.options}.items():
            if value is not None and key not in _OWN_OPTIONS:
                config[key] = value
        return {"model": self.model, "contents": contents, "config": config}

    def _config(self, request: ModelRequest) -> dict[str, Any]:
        arguments = self.build_request(request)
        self.client  # noqa: B018 - imports the SDK (and checks the key) before validating
        from google.genai import types

        try:
            arguments["config"] = types.GenerateContentConfig.model_validate(arguments["config"])
        except ValueError as exc:
            raise ConfigError(
                f"invalid option for the google provider: {_first_line(exc)}",
                hint="see GenerateContentConfig in the google-genai SDK for the accepted options",
            ) from None
        return arguments

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer."""
        arguments = self._config(request)
        answer = await self._with_retries(lambda: self.client.models.generate_content(**arguments))
        assembler = Assembler(self.model, self.memory)
        assembler.feed(answer)
        return assembler.finish()

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream the answer: text deltas, one :class:`ToolCallDelta` per call, then done.

        Only opening the stream (up to its first chunk) is retried: once something has been
        yielded, a failure is raised.
        """
        arguments = self._config(request)
        opened: dict[str, Any] = {}

        async def open_stream() -> Any:
            iterator = await self.client.models.generate_content_stream(**arguments)
            opened["iterator"] = iterator
            try:
                return await iterator.__anext__()
            except StopAsyncIteration:
                return None

        chunk = await self._with_retries(open_stream)
        iterator = opened["iterator"]
        assembler = Assembler(self.model, self.memory)
        try:
            while chunk is not None:
                for event in assembler.feed(chunk):
                    yield event
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    chunk = None
                except Exception as exc:
                    raise self._error(exc) from None
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()
        if assembler.reason is None and assembler.blocked is None:
            raise ProviderConnectionError(
                f"the stream from google at {self.where} ended before a finish reason",
                hint="try again",
                provider=self.name,
            )
        yield StreamDone(assembler.finish())

    # -- knowledge ------------------------------------------------------------------------------
    async def context_window(self) -> int | None:
        """The model's input token limit: Allos's table, else the API's model information."""
        known = models.context_window(self.model)
        if known is not None or self._window_asked:
            return known or self._window
        self._window_asked = True  # once per provider, answered or not
        try:
            info = await self.client.models.get(model=self.model)
        except Exception:
            return None
        limit = getattr(info, "input_token_limit", None)
        self._window = int(limit) if limit else None
        return self._window

    async def list_models(self) -> list[str]:
        """Model ids the API offers this key (without the ``models/`` prefix)."""

        async def listing() -> list[str]:
            pager = await self.client.models.list()
            return [str(m.name).removeprefix("models/") async for m in pager if m.name]

        return await self._with_retries(listing)

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aio.aclose()
            client.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[:3])[:300] if text else type(exc).__name__
