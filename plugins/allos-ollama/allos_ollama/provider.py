"""The ``ollama`` provider: local models served by Ollama, through the official ``ollama`` SDK.

The SDK is imported when a provider is built (and the client when it is first used), never when
this module is imported.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from allos_core.clients import LoopBoundClient
from allos_core.providers import (
    Capabilities,
    ModelInfo,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderStatus,
    ReasoningDelta,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    call_with_retries,
    tool_call_arguments_json,
)
from allos_ollama import errors as ollama_errors
from allos_ollama import mapping
from allos_ollama.host import HOST_ENV, resolve_host

if TYPE_CHECKING:  # pragma: no cover - the conversation model imports pydantic
    from allos_core.messages import ToolCallPart

#: timeout of the reachability check in :meth:`OllamaProvider.status`, in seconds
STATUS_TIMEOUT = 0.75
#: the context Allos asks for when neither ``num_ctx`` nor the Modelfile sets one: Ollama's own
#: default (a few thousand tokens) silently cuts tool schemas and long histories
DEFAULT_NUM_CTX = 32768

_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)


class OllamaProvider(Provider):
    """Chat with a model served by Ollama (``ollama serve``), locally or on another machine.

    Options: ``model``; ``base_url`` (else ``OLLAMA_HOST``, else http://localhost:11434);
    ``timeout`` (seconds); ``max_retries`` (the SDK has no retries of its own: 429, 5xx, timeouts
    and connection failures are retried here with back-off, honouring ``Retry-After``);
    ``retry_base_delay`` (first back-off, seconds); ``temperature``; ``max_tokens`` (Ollama's
    ``num_predict``); ``think`` (true, an effort or a budget: Ollama's ``think``; the model's
    ``thinking`` is kept as reasoning and sent back). Any other option is passed through:
    ``keep_alive``, ``format`` as request keys, everything else (``num_ctx``, ``top_p``,
    ``seed``...) inside ``options``.
    ``api_key`` is only needed for a hosted server behind a bearer token (the SDK also reads
    ``OLLAMA_API_KEY``).
    """

    name = "ollama"
    description = "Local models served by Ollama (ollama serve)"
    default_model = "qwen3"
    capabilities = Capabilities(
        streaming=True, tools=True, parallel_tool_calls=True, structured_output=True
    )
    api_key_env = None
    base_url_env = HOST_ENV

    def __init__(
        self, model: str | None = None, *, retry_base_delay: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(model, **kwargs)
        self.host = resolve_host(self.base_url)
        self.retry_base_delay = float(retry_base_delay)
        #: how the retry loop waits (tests may replace it)
        import asyncio

        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self._client = LoopBoundClient(self._make_client)
        self._context_window: int | None = None
        self._shown: Any = None  # the model's /api/show answer, once asked

    def __repr__(self) -> str:
        return f"OllamaProvider(model={self.model!r}, host={self.host!r})"

    # -- the SDK client --------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``ollama.AsyncClient`` of this provider (built on first use, then reused)."""
        return self._client.get()

    def _make_client(self) -> Any:
        import ollama

        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else None
        return ollama.AsyncClient(
            host=self.host,
            timeout=self.timeout,
            headers=headers,
            event_hooks={"response": [ollama_errors.remember_retry_after]},
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def _error(self, exc: BaseException, retry_after: float | None = None) -> Exception:
        return ollama_errors.translate(
            exc, host=self.host, model=self.model, timeout=self.timeout, retry_after=retry_after
        )

    async def _with_retries(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``attempt`` (an SDK call), translating failures and retrying the retryable ones."""

        async def translated() -> Any:
            with ollama_errors.capture_retry_after() as box:
                try:
                    return await attempt()
                except Exception as exc:
                    raise self._error(exc, box.get("retry_after")) from exc

        return await call_with_retries(
            translated,
            max_retries=self.max_retries,
            is_retryable=ollama_errors.is_retryable,
            retry_after=lambda exc: getattr(exc, "retry_after", None),
            base_delay=self.retry_base_delay,
            sleep=self.sleep,
        )

    async def _planned_arguments(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """The chat arguments, with ``num_ctx`` set to the window Allos plans with."""
        arguments = self._chat_arguments(request, stream=stream)
        window = await self.context_window()
        if window:
            arguments.setdefault("options", {})["num_ctx"] = window
        return arguments

    def _chat_arguments(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        arguments = mapping.chat_arguments(
            model=self.model,
            request=request,
            provider_options=self.options,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=stream,
            think=self.think,
        )
        if request.output is not None and not request.output.tool:
            arguments["format"] = request.output.schema  # Ollama's structured outputs
        return arguments

    def _response(
        self,
        text: str,
        calls: list[ToolCallPart],
        final: Any,
        model: str | None,
        thinking: str = "",
    ) -> ModelResponse:
        usage = mapping.usage_from(final) if final is not None else mapping.usage_from({})
        model = model or self.model
        from allos_core.messages import Message

        message = Message.assistant(
            text, calls, provider=self.name, model=model, usage=usage.model_copy()
        )
        if thinking:
            from allos_core.messages import ReasoningPart

            message.parts.insert(0, ReasoningPart(text=thinking, provider=self.name))
        done_reason = getattr(final, "done_reason", None) if final is not None else None
        return ModelResponse(
            message=message,
            usage=usage,
            finish_reason=mapping.finish_reason(done_reason, bool(calls)),
            model=model,
        )

    # -- chat --------------------------------------------------------------------------------------
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` (``stream=False``) and return the whole answer."""
        arguments = await self._planned_arguments(request, stream=False)
        response = await self._with_retries(lambda: self.client.chat(**arguments))
        message = response.message
        calls = mapping.calls_from_message(message)
        thinking = mapping.thinking_of(message)
        return self._response(message.content or "", calls, response, response.model, thinking)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream ``request``: text deltas, one :class:`ToolCallDelta` per tool call, then done.

        Ollama sends each tool call whole (possibly one per chunk); they are gathered in order.
        Only opening the stream is retried: once text has been yielded, a failure is raised.
        """
        arguments = await self._planned_arguments(request, stream=True)
        opened: dict[str, Any] = {}

        async def open_stream() -> Any:
            iterator = await self.client.chat(**arguments)
            opened["iterator"] = iterator
            try:
                return await iterator.__anext__()
            except StopAsyncIteration:
                return None

        first = await self._with_retries(open_stream)
        iterator = opened["iterator"]
        text_parts: list[str] = []
        thinking_parts: list[str] = []
        calls: list[ToolCallPart] = []
        final: Any = None
        model: str | None = None
        try:
            chunk = first
            while chunk is not None:
                model = chunk.model or model
                thought = mapping.thinking_of(chunk.message)
                if thought:
                    thinking_parts.append(thought)
                    yield ReasoningDelta(thought)
                content = chunk.message.content if chunk.message is not None else None
                if content:
                    text_parts.append(content)
                    yield TextDelta(content)
                for call in mapping.calls_from_message(chunk.message):
                    yield ToolCallDelta(
                        index=len(calls),
                        id=call.id,
                        name=call.name,
                        arguments_delta=tool_call_arguments_json(call),
                    )
                    calls.append(call)
                if chunk.done:
                    final = chunk
                    # read to the end of the body, so the connection goes back to the pool
                    with contextlib.suppress(Exception):
                        async for _ in iterator:
                            pass
                    break
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    chunk = None
                except Exception as exc:
                    raise self._error(exc) from exc
        finally:
            await iterator.aclose()
        thinking = "".join(thinking_parts)
        yield StreamDone(self._response("".join(text_parts), calls, final, model, thinking))

    # -- model information -------------------------------------------------------------------------
    async def context_window(self) -> int | None:
        """The window Allos plans with, and sends as ``num_ctx`` on every request.

        The ``num_ctx`` option (``[providers.ollama] num_ctx``), else the model's Modelfile
        parameter, else :data:`DEFAULT_NUM_CTX`, capped at the model's trained
        ``<arch>.context_length`` from ``/api/show``. None when the server cannot tell (the
        request then goes without ``num_ctx``).
        """
        if self._context_window is not None:
            return self._context_window
        shown = await self.show()
        if shown is None:
            return None
        trained = _context_length(shown.modelinfo or {})
        num_ctx = (
            _option_num_ctx(self.options)
            or _parameter_num_ctx(shown.parameters or "")
            or DEFAULT_NUM_CTX
        )
        window = min(num_ctx, trained) if trained else num_ctx
        self._context_window = window
        return window

    async def show(self) -> Any:
        """The model's ``/api/show`` answer (asked once), or None when it cannot be had."""
        if self._shown is None:
            try:
                self._shown = await self.client.show(self.model)
            except Exception:
                return None
        return self._shown

    async def list_models(self) -> list[str]:
        """The models the server has pulled (``/api/tags``)."""
        listed = await self._with_retries(lambda: self.client.list())
        return [model.model for model in listed.models if model.model]

    async def describe_models(self) -> list[ModelInfo]:
        """``/api/tags``, and for each model ``/api/show``: trained context and capabilities."""
        infos = []
        for name in await self.list_models():
            try:
                shown = await self.client.show(name)
            except Exception:
                infos.append(ModelInfo(name))
                continue
            infos.append(_info(name, shown))
        return infos

    async def model_info(self) -> ModelInfo | None:
        """The configured model's capabilities from ``/api/show`` (None if it cannot tell)."""
        shown = await self.show()
        return None if shown is None else _info(self.model, shown)

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
        """Whether an Ollama server answers at the configured URL (waits at most ~1 s)."""
        try:
            host = resolve_host(options.get("base_url"))
        except Exception as exc:
            return ProviderStatus(False, str(exc))
        try:
            import httpx
            import ollama

            with ollama.Client(host=host, timeout=httpx.Timeout(STATUS_TIMEOUT)) as client:
                names = [model.model for model in client.list().models if model.model]
        except Exception as exc:
            status_code = getattr(exc, "status_code", None)
            if isinstance(status_code, int) and status_code > 0:
                return ProviderStatus(False, f"server at {host} answered HTTP {status_code}")
            return ProviderStatus(False, f"no server at {host}: run `ollama serve`")
        count = len(names)
        detail = f"server at {host}, {count} model{'s' if count != 1 else ''}"
        model = options.get("model") or cls.default_model
        if not any(_same_model(name, model) for name in names):
            detail += f" ({model} not pulled: `ollama pull {model}`)"
        return ProviderStatus(True, detail)


def _info(name: str, shown: Any) -> ModelInfo:
    capabilities = getattr(shown, "capabilities", None)
    known = capabilities is not None
    flags = set(capabilities or ())
    return ModelInfo(
        name,
        context_window=_context_length(getattr(shown, "modelinfo", None) or {}),
        tools=("tools" in flags) if known else None,
        thinking=("thinking" in flags) if known else None,
        vision=("vision" in flags) if known else None,
    )


def _context_length(model_info: dict[str, Any]) -> int | None:
    architecture = model_info.get("general.architecture")
    value = model_info.get(f"{architecture}.context_length") if architecture else None
    if value is None:
        value = next((v for k, v in model_info.items() if k.endswith(".context_length")), None)
    return _positive_int(value)


def _option_num_ctx(options: dict[str, Any]) -> int | None:
    nested = options.get("options")
    if isinstance(nested, dict) and "num_ctx" in nested:
        return _positive_int(nested["num_ctx"])
    return _positive_int(options.get("num_ctx"))


def _parameter_num_ctx(parameters: str) -> int | None:
    match = _NUM_CTX.search(parameters)
    return _positive_int(match.group(1)) if match else None


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _same_model(listed: str, wanted: str) -> bool:
    """``qwen3`` names ``qwen3:latest``; a tag must match exactly otherwise."""
    if listed == wanted:
        return True
    return ":" not in wanted and listed == f"{wanted}:latest"
