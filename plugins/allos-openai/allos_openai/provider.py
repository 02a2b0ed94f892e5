"""The ``openai`` provider: OpenAI's Chat Completions API, or any server that speaks it.

The official ``openai`` SDK does the HTTP: authentication, retries with exponential back-off that
honours ``Retry-After``, timeouts and error types. Requests go through the client's lower-level
``post("/chat/completions", ...)``: ``chat.completions.create`` re-walks the whole message list
against its type definitions on every call, which makes a long agent loop quadratic. Answers are
taken as plain JSON (``cast_to=object``): building the SDK's typed objects for every streamed
chunk costs several times the parsing itself. The SDK is imported when the first request is made,
never when this module is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn

from allos_core.clients import LoopBoundClient
from allos_core.errors import AuthenticationError, MissingKeyError, ProviderError
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
    ToolSchema,
)
from allos_core.thinking import parse_think
from allos_openai import errors as _errors
from allos_openai import mapping, models, structured
from allos_openai.urls import DEFAULT_BASE_URL, display_url, is_openai_host

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message, Usage

#: sent to OpenAI-compatible servers that need no key (the SDK always sends one)
PLACEHOLDER_KEY = "no-key-required"


class OpenAIProvider(Provider):
    """OpenAI models through the official SDK; any OpenAI-compatible server through ``base_url``.

    Options (config file ``[providers.openai]`` or keyword arguments): ``model``, ``api_key``
    (default ``$OPENAI_API_KEY``), ``base_url`` (default ``$OPENAI_BASE_URL``, else OpenAI),
    ``timeout`` (seconds), ``max_retries``, ``temperature``, ``max_tokens``, ``context_window``
    (override the built-in table), ``organization``, ``project``, ``default_headers``,
    ``stream_usage`` (ask for usage in streams; default true), ``think`` (an effort or token
    budget, sent as ``reasoning_effort``), ``vision`` (whether the model sees images, for
    OpenAI-compatible servers; OpenAI's own models do). Any other option (``top_p``, ``seed``,
    ``reasoning_effort``, ``tool_choice``...) is sent as is in the request body.
    """

    name = "openai"
    description = (
        "OpenAI, or any OpenAI-compatible server (vLLM, LM Studio, llama.cpp, OpenRouter, Groq)"
    )
    default_model = "gpt-5.4-mini"
    capabilities = Capabilities(
        streaming=True, tools=True, parallel_tool_calls=True, structured_output=True
    )
    api_key_env = _errors.API_KEY_ENV
    prices_id = "openai"
    base_url_env = _errors.BASE_URL_ENV

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
        context_window: int | None = None,
        organization: str | None = None,
        project: str | None = None,
        default_headers: dict[str, str] | None = None,
        stream_usage: bool = True,
        vision: bool | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            model,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            temperature=temperature,
            max_tokens=max_tokens,
            **options,
        )
        self.base_url = (base_url or os.environ.get(self.base_url_env) or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        if self.options.pop("structured_output", True) is False:
            self.capabilities = structured.WITHOUT_NATIVE  # type: ignore[misc]
        key = api_key or os.environ.get(self.api_key_env) or None
        self._key_is_placeholder = False
        if key is None:
            if is_openai_host(self.base_url):
                raise MissingKeyError(
                    f"no OpenAI API key: set {self.api_key_env}",
                    hint=f"export {self.api_key_env}=sk-... (keys are at "
                    "https://platform.openai.com/api-keys), or set api_key under [providers.openai] in your user config file; "
                    f"for a local OpenAI-compatible server set {self.base_url_env} instead",
                    provider=self.name,
                )
            key, self._key_is_placeholder = PLACEHOLDER_KEY, True
        self.api_key = key
        self.organization = organization
        self.project = project
        self.default_headers = dict(default_headers or {})
        self.stream_usage = stream_usage
        self.vision = vision
        self._context_window = context_window
        # OpenAI's newer models reject max_tokens; compatible servers widely know only max_tokens
        self._max_tokens_param = (
            "max_completion_tokens" if is_openai_host(self.base_url) else "max_tokens"
        )
        self._client = LoopBoundClient(self._make_client)
        self._stream_cls: Any = None
        self._wire_cache = mapping.WireCache()

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIProvider(model={self.model!r}, base_url={display_url(self.base_url)!r})"

    # -- the SDK client ------------------------------------------------------------------------
    def _get_client(self) -> Any:
        """The provider's one ``AsyncOpenAI`` client (see :class:`LoopBoundClient`)."""
        return self._client.get()

    def _make_client(self) -> Any:
        import openai

        self._stream_cls = openai.AsyncStream[object]  # chunks as plain dicts
        return openai.AsyncOpenAI(
            api_key=self.api_key,
            base_url=self.base_url,
            organization=self.organization,
            project=self.project,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers or None,
        )

    def _error(self, exc: BaseException) -> BaseException:
        return _errors.translate_error(
            exc,
            model=self.model,
            base_url=display_url(self.base_url),
            api_key=self.api_key,
            key_is_placeholder=self._key_is_placeholder,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _raise(self, exc: BaseException) -> NoReturn:
        """Raise the Allos error for ``exc`` (``exc`` itself when it is not from the SDK)."""
        error = self._error(exc)
        if isinstance(exc, json.JSONDecodeError):
            error = self._not_openai(f"answered with invalid JSON ({exc})")
        if error is exc:
            raise exc
        if isinstance(error, AuthenticationError):
            raise error from None  # the SDK's message may echo part of the key
        raise error from exc

    def _not_openai(self, what: str) -> ProviderError:
        return ProviderError(
            f"{display_url(self.base_url)} {what}",
            hint="is it an OpenAI-compatible server? The base URL usually ends in /v1 "
            "(for example http://localhost:8000/v1)",
            provider=self.name,
        )

    # -- requests -----------------------------------------------------------------------------
    def request_body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON body sent to ``/chat/completions`` for ``request``."""
        body: dict[str, Any] = {**self.options, **request.options}
        think = parse_think(self.think)
        if think is not None and "reasoning_effort" not in body:
            body["reasoning_effort"] = think.effort
        body["model"] = self.model
        body["messages"] = mapping.messages_to_wire(request.messages, self._wire_cache)
        if request.tools:
            body["tools"] = mapping.tools_to_wire(request.tools)
        if request.output is not None:
            body.update(structured.output_body(request.output))
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            body["temperature"] = temperature
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        if (
            max_tokens is not None
            and "max_tokens" not in body
            and "max_completion_tokens" not in body
        ):
            body[self._max_tokens_param] = max_tokens
        if stream:
            body["stream"] = True
            if self.stream_usage:
                body["stream_options"] = {
                    **(body.get("stream_options") or {}),
                    "include_usage": True,
                }
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer."""
        client = self._get_client()
        body = self.request_body(request, stream=False)
        try:
            completion = await client.post("/chat/completions", cast_to=object, body=body)
        except Exception as exc:
            self._raise(exc)
        choices = completion.get("choices") if isinstance(completion, dict) else None
        if not isinstance(choices, list):
            raise self._not_openai("did not answer like an OpenAI-compatible API")
        if not choices:
            raise ProviderError(f"{self.name} returned no answer (no choices)", provider=self.name)
        choice = choices[0]
        message = choice.get("message") or {}
        text = mapping.text_of(message.get("content")) or mapping.text_of(message.get("refusal"))
        calls = mapping.calls_from_message(message)
        usage = mapping.usage_from_wire(completion.get("usage"))
        if usage is None:
            usage = self._estimated_usage(request, text, calls)
        model = completion.get("model") or self.model
        reasoning = mapping.reasoning_of(message)
        return mapping.build_response(
            text, calls, choice.get("finish_reason"), usage, model, reasoning
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Send ``request`` and yield text and tool-call deltas, then :class:`StreamDone`."""
        client = self._get_client()
        body = self.request_body(request, stream=True)
        try:
            stream = await client.post(
                "/chat/completions",
                cast_to=object,
                body=body,
                stream=True,
                stream_cls=self._stream_cls,
            )
        except Exception as exc:
            self._raise(exc)
        parts = mapping.StreamAssembler()
        received = 0
        try:
            async for chunk in stream:
                if not isinstance(chunk, dict):
                    continue
                received += 1
                parts.model = chunk.get("model") or parts.model
                usage = chunk.get("usage")
                if usage is not None:
                    parts.usage = usage
                for choice in chunk.get("choices") or ():
                    if choice.get("index", 0) not in (0, None):
                        continue  # n > 1: Allos follows the first answer
                    delta = choice.get("delta") or {}
                    thought = mapping.reasoning_of(delta)
                    if thought:
                        parts.reasoning.append(thought)
                        yield ReasoningDelta(thought)
                    text = delta.get("content") or delta.get("refusal")
                    if text:
                        parts.text.append(text)
                        yield TextDelta(text)
                    for call in delta.get("tool_calls") or ():
                        index, call_id, name, piece = parts.add_tool_delta(call)
                        yield ToolCallDelta(index, call_id, name, piece)
                    if choice.get("finish_reason"):
                        parts.finish_reason = choice["finish_reason"]
        except Exception as exc:
            self._raise(exc)
        finally:
            await stream.close()
        if not received:
            raise self._not_openai("sent no server-sent events in answer to a streaming request")
        text = "".join(parts.text)
        calls = parts.tool_calls()
        usage = mapping.usage_from_wire(parts.usage)
        if usage is None:
            usage = self._estimated_usage(request, text, calls)
        model = parts.model or self.model
        reasoning = "".join(parts.reasoning)
        yield StreamDone(
            mapping.build_response(text, calls, parts.finish_reason, usage, model, reasoning)
        )

    def _estimated_usage(self, request: ModelRequest, text: str, calls: list[Any]) -> Usage:
        """Usage for servers that report none: the best offline estimate."""
        from allos_core.messages import Usage

        written = len(text) + sum(
            len(c.name) + len(c.raw_arguments or str(c.arguments)) for c in calls
        )
        return Usage(
            input_tokens=self.count_tokens(request.messages, request.tools),
            output_tokens=max(1, written // 4) if written else 0,
            requests=1,
        )

    # -- what is known about the model --------------------------------------------------------
    async def context_window(self) -> int | None:
        """The ``context_window`` option, else the built-in table for OpenAI models, else None."""
        return self._context_window or models.context_window_for(self.model)

    def count_tokens(self, messages: list[Message], tools: list[ToolSchema] | None = None) -> int:
        """tiktoken's count for OpenAI models when tiktoken is installed and cached; else an estimate."""
        return models.count_tokens(self.model, messages, tools)

    async def list_models(self) -> list[str]:
        """The model ids the server lists at ``GET /models``."""
        client = self._get_client()
        try:
            return sorted([model.id async for model in client.models.list()])
        except Exception as exc:
            self._raise(exc)

    async def model_info(self) -> ModelInfo | None:
        """OpenAI's own models take tools and images; other servers' are unknown (unless the
        ``vision`` option says)."""
        known = is_openai_host(self.base_url or "")
        window = await self.context_window()
        vision = self.vision if self.vision is not None else (known or None)
        return ModelInfo(self.model, window, tools=True if known else None, vision=vision)

    async def describe_models(self) -> list[ModelInfo]:
        """``GET /models``, with the context window of the models Allos knows."""
        return [
            ModelInfo(model, context_window=models.context_window_for(model))
            for model in await self.list_models()
        ]

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
        """Configured when a key is set, or when the base URL is a server other than OpenAI."""
        base_url = options.get("base_url") or os.environ.get(cls.base_url_env or "")
        where = f" for {display_url(base_url)}" if base_url else ""
        if options.get("api_key"):
            return ProviderStatus(True, f"key set (config){where}")
        if os.environ.get(cls.api_key_env or ""):
            return ProviderStatus(True, f"key set ({cls.api_key_env}){where}")
        if base_url and not is_openai_host(base_url):
            return ProviderStatus(True, f"OpenAI-compatible server {display_url(base_url)}, no key")
        return ProviderStatus(
            False, f"set {cls.api_key_env} (or {cls.base_url_env} for a local server)"
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
