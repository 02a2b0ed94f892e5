"""A fake OpenAI Chat Completions server on 127.0.0.1, for driving the official ``openai`` SDK.

It speaks the documented wire protocol of ``POST /v1/chat/completions`` (plain JSON, or
server-sent events ending in ``data: [DONE]`` when the request has ``"stream": true``) and
``GET /v1/models``, and it **validates requests the way the real API does**: a request the real
API would reject gets the same kind of 400 answer with an OpenAI error body
(``{"error": {"message", "type", "param", "code"}}``). Checked, among others: ``model`` present,
``messages`` a non-empty list of known roles, each ``tool`` message answering a tool call of the
assistant message right before it (tool messages in between allowed), every assistant tool call
answered before the next non-tool message, tool-call ids at most 40 characters, tool-call
arguments sent as a string, tool names matching ``^[a-zA-Z0-9_-]{1,64}$``, ``stream_options`` only
with ``stream``, and no unknown top-level parameters.

Typical use::

    from fakes.openai_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        server.queue_text("Hello!")                                  # a text answer
        server.queue_tool_call("read_file", {"path": "README.md"})   # a tool call
        server.queue_error(429, retry_after=0.01)                     # a rate limit, then...
        server.queue_text("done")                                     # ...the retry succeeds
        client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test")
        ...
        server.chat_requests[-1]["messages"]   # what the SDK sent

Replies are answered in order; each is rendered as JSON or as SSE depending on the request's
``stream`` flag, so the same script serves ``complete`` and ``stream`` calls. In streams, text
arrives in pieces of ``text_chunk_size`` characters and tool-call arguments in pieces of
``arguments_chunk_size`` characters (so JSON is cut mid-token), and usage comes in a final chunk
with no choices when ``stream_options.include_usage`` was requested. When the queue is empty the
server answers ``default_text``, so an end-to-end run never hangs.

Invalid requests are answered with 400 without consuming a queued reply; they are recorded in
``server.rejections`` (the error message of each) so tests can assert nothing was rejected.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fakes.base import FakeServer, RecordedRequest, Reply, chunks
from fakes.images import image_problem
from fakes.structured_rules import openai_problem

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
MAX_TOOL_CALL_ID = 40
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: top-level parameters the real Chat Completions endpoint accepts
KNOWN_PARAMS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "n",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "seed",
        "service_tier",
        "store",
        "metadata",
        "reasoning_effort",
        "verbosity",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "functions",
        "function_call",
    }
)

_DEFAULT_MESSAGES = {
    401: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    403: "You are not allowed to sample from this model",
    404: "The model does not exist or you do not have access to it.",
    408: "Request timed out.",
    429: "Rate limit reached for requests per min (RPM). Please try again in 1s.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
}
_DEFAULT_TYPES = {
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
_DEFAULT_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


class RequestInvalid(Exception):
    """A request the real API would reject with 400 (internal to the fake)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


@dataclass
class ToolCallSpec:
    """One scripted tool call. ``arguments`` may be a dict (sent as JSON) or a raw string."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass
class ChatReply:
    """One scripted model turn: text and/or tool calls, usage, finish reason.

    ``usage`` is ``(prompt_tokens, completion_tokens)``; None makes a rough estimate.
    ``stream_error`` makes a stream send an error event after the content (JSON replies ignore it).
    """

    text: str = ""
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    model: str | None = None
    stream_error: str | None = None
    #: reasoning sent as ``reasoning_content`` (as vLLM and DeepSeek do), before the content
    reasoning: str = ""
    #: prompt tokens reported as read from OpenAI's automatic cache
    cached_tokens: int = 0


@dataclass
class Hang:
    """Hold the request open until the server is stopped or ``release()`` is called."""

    limit: float = 30.0


class FakeOpenAIServer(FakeServer):
    """A validating fake of the OpenAI Chat Completions API (see the module docstring).

    ``api_key``: when set, requests must carry ``Authorization: Bearer <api_key>`` (else 401).
    ``models``: when set, other model names get 404 ``model_not_found``; also what
    ``GET /v1/models`` lists. ``strict_params``: reject unknown top-level parameters, like the
    real API (turn off to imitate lenient OpenAI-compatible servers).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: list[str] | None = None,
        default_text: str = "Hello from the fake OpenAI server.",
        strict_params: bool = True,
        text_chunk_size: int = 4,
        arguments_chunk_size: int = 5,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = models
        self.default_text = default_text
        self.strict_params = strict_params
        self.text_chunk_size = text_chunk_size
        self.arguments_chunk_size = arguments_chunk_size
        self.rejections: list[str] = []
        self._released = threading.Event()
        self._ids = itertools.count(1)

    # -- addresses -------------------------------------------------------------------------------
    @property
    def openai_base_url(self) -> str:
        """The URL to give the SDK as ``base_url`` (it ends in ``/v1``)."""
        return self.base_url + "/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of every ``POST /v1/chat/completions`` received, in order."""
        with self.lock:
            return [r.body for r in self.requests if r.method == "POST" and r.path == CHAT_PATH]

    # -- scripting -------------------------------------------------------------------------------
    def queue_text(
        self,
        text: str,
        *,
        usage: tuple[int, int] | None = None,
        finish_reason: str | None = None,
        reasoning: str = "",
    ) -> None:
        """Queue a text answer (``reasoning``: sent as ``reasoning_content`` first)."""
        self.queue(
            ChatReply(text=text, usage=usage, finish_reason=finish_reason, reasoning=reasoning)
        )

    def queue_tool_call(
        self,
        name: str,
        arguments: dict[str, Any] | str | None = None,
        *,
        id: str | None = None,
        text: str = "",
        usage: tuple[int, int] | None = None,
        reasoning: str = "",
    ) -> None:
        """Queue an answer with one tool call (``arguments`` as a dict, or a raw string)."""
        spec = ToolCallSpec(name, {} if arguments is None else arguments, id)
        self.queue(ChatReply(text=text, tool_calls=[spec], usage=usage, reasoning=reasoning))

    def queue_tool_calls(
        self,
        calls: list[ToolCallSpec | tuple[str, dict[str, Any] | str]],
        *,
        text: str = "",
        usage: tuple[int, int] | None = None,
        reasoning: str = "",
    ) -> None:
        """Queue an answer with several tool calls: specs or ``(name, arguments)`` pairs."""
        specs = [c if isinstance(c, ToolCallSpec) else ToolCallSpec(*c) for c in calls]
        self.queue(ChatReply(text=text, tool_calls=specs, usage=usage, reasoning=reasoning))

    def queue_error(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Queue ``times`` error answers with an OpenAI error body and optional Retry-After.

        ``retry_after`` is sent as the ``Retry-After`` header (seconds; the SDK honours values
        above 0 and below two minutes, and backs off exponentially otherwise).
        """
        reply = error_reply(
            status,
            message,
            code=code,
            type=type,
            param=param,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            headers=headers,
        )
        self.queue(*([reply] * times))

    def queue_hang(self, limit: float = 30.0) -> None:
        """Queue a request that gets no answer until ``release()`` or ``stop()`` (for timeouts)."""
        self.queue(Hang(limit))

    def release(self) -> None:
        """Let held (``queue_hang``) requests finish."""
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        super().stop()

    # -- serving ---------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        if self.api_key is not None:
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or not auth[7:].strip():
                return error_reply(
                    401,
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    code=None,
                )
            given = auth[7:].strip()
            if given != self.api_key:
                return error_reply(
                    401,
                    f"Incorrect API key provided: {_mask(given)}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                )
        path = request.path.split("?", 1)[0]
        if request.method == "GET" and path == MODELS_PATH:
            return self._models_reply()
        if request.method != "POST" or path != CHAT_PATH:
            return error_reply(
                404,
                f"Invalid URL ({request.method} {path})",
                code=None,
                type="invalid_request_error",
            )
        body = request.body
        try:
            validate_chat_request(body, strict_params=self.strict_params)
        except RequestInvalid as exc:
            with self.lock:
                self.rejections.append(exc.message)
            return error_reply(400, exc.message, code=exc.code, param=exc.param)
        if self.models is not None and body["model"] not in self.models:
            return error_reply(
                404,
                f"The model `{body['model']}` does not exist or you do not have access to it.",
            )
        spec = self.next_reply()
        if isinstance(spec, Hang):
            self._released.wait(spec.limit)
            spec = None
        if spec is None:
            spec = ChatReply(text=self.default_text)
        if isinstance(spec, Reply):
            return spec
        if isinstance(spec, str):
            spec = ChatReply(text=spec)
        if not isinstance(spec, ChatReply):
            raise TypeError(f"cannot serve a queued {type(spec).__name__}")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._stream_reply(spec, body, include_usage)
        return Reply(json_body=self._completion(spec, body))

    # -- rendering -------------------------------------------------------------------------------
    def _models_reply(self) -> Reply:
        names = self.models if self.models is not None else ["gpt-5.4-mini", "gpt-4.1"]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
        return Reply(json_body={"object": "list", "data": data})

    def _call_ids(self, spec: ChatReply) -> list[str]:
        return [c.id or f"call_fake{next(self._ids):06d}" for c in spec.tool_calls]

    def _usage(self, spec: ChatReply, body: dict[str, Any]) -> dict[str, int]:
        if spec.usage is not None:
            prompt, completion = spec.usage
        else:
            prompt = max(1, len(json.dumps(body.get("messages"))) // 4)
            completion = max(
                1, (len(spec.text) + sum(len(c.arguments_text) for c in spec.tool_calls)) // 4
            )
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if spec.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": spec.cached_tokens}
        return usage

    def _envelope(self, spec: ChatReply, body: dict[str, Any], obj: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake{next(self._ids):06d}",
            "object": obj,
            "created": int(time.time()),
            "model": spec.model or body["model"],
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
        }

    @staticmethod
    def _finish(spec: ChatReply) -> str:
        return spec.finish_reason or ("tool_calls" if spec.tool_calls else "stop")

    def _completion(self, spec: ChatReply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": spec.text or None,
            "refusal": None,
            "annotations": [],
        }
        if spec.reasoning:
            message["reasoning_content"] = spec.reasoning
        if spec.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_text},
                }
                for call_id, call in zip(self._call_ids(spec), spec.tool_calls, strict=True)
            ]
        return {
            **self._envelope(spec, body, "chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish(spec),
                }
            ],
            "usage": self._usage(spec, body),
        }

    def _stream_reply(self, spec: ChatReply, body: dict[str, Any], include_usage: bool) -> Reply:
        head = self._envelope(spec, body, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            frame = {
                **head,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                frame["usage"] = None
            return frame

        events: list[tuple[str | None, Any]] = [
            (None, chunk({"role": "assistant", "content": "", "refusal": None}))
        ]
        if spec.reasoning:
            for piece in chunks(spec.reasoning, self.text_chunk_size):
                events.append((None, chunk({"reasoning_content": piece})))
        if spec.text:
            for piece in chunks(spec.text, self.text_chunk_size):
                events.append((None, chunk({"content": piece})))
        for index, (call_id, call) in enumerate(
            zip(self._call_ids(spec), spec.tool_calls, strict=True)
        ):
            first = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append((None, chunk({"tool_calls": [first]})))
            text = call.arguments_text
            if text:
                for piece in chunks(text, self.arguments_chunk_size):
                    part = {"index": index, "function": {"arguments": piece}}
                    events.append((None, chunk({"tool_calls": [part]})))
        if spec.stream_error is not None:
            error = {
                "message": spec.stream_error,
                "type": "server_error",
                "param": None,
                "code": None,
            }
            events.append((None, {"error": error}))
            return Reply(sse_events=events)
        events.append((None, chunk({}, self._finish(spec))))
        if include_usage:
            events.append((None, {**head, "choices": [], "usage": self._usage(spec, body)}))
        events.append((None, "[DONE]"))
        return Reply(sse_events=events)


# -- errors and validation ----------------------------------------------------------------------


def error_reply(
    status: int,
    message: str | None = None,
    *,
    code: str | None = "",
    type: str | None = None,
    param: str | None = None,
    retry_after: float | str | None = None,
    retry_after_ms: float | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """An HTTP error with an OpenAI error body (``code=""`` picks the usual code for ``status``)."""
    if code == "":
        code = _DEFAULT_CODES.get(status)
    if type is None:
        type = _DEFAULT_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
    body = {
        "error": {
            "message": message or _DEFAULT_MESSAGES.get(status, f"HTTP {status}"),
            "type": type,
            "param": param,
            "code": code,
        }
    }
    all_headers = {"x-request-id": "req_fake"}
    if retry_after is not None:
        all_headers["Retry-After"] = _number(retry_after)
    if retry_after_ms is not None:
        all_headers["retry-after-ms"] = _number(retry_after_ms)
    all_headers.update(headers or {})
    return Reply(status=status, json_body=body, headers=all_headers)


def _number(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _mask(key: str) -> str:
    """How the real API echoes a wrong key: its start and its last four characters."""
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _expect(value: Any, kinds: tuple[type, ...], name: str, expected: str) -> None:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise RequestInvalid(
            f"Invalid type for '{name}': expected {expected}, but got {_type_name(value)} instead.",
            name,
            "invalid_type",
        )


def validate_chat_request(body: Any, *, strict_params: bool = True) -> None:
    """Raise :class:`RequestInvalid` for a request body the real API would reject."""
    if not isinstance(body, dict):
        raise RequestInvalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
        )
    if strict_params:
        for key in body:
            if key not in KNOWN_PARAMS:
                raise RequestInvalid(f"Unrecognized request argument supplied: {key}")
    if not body.get("model"):
        raise RequestInvalid("you must provide a model parameter")
    _expect(body["model"], (str,), "model", "a string")
    if "messages" not in body:
        raise RequestInvalid(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    messages = body["messages"]
    _expect(messages, (list,), "messages", "an array")
    if not messages:
        raise RequestInvalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
            "an empty array instead.",
            "messages",
            "empty_array",
        )
    for index, message in enumerate(messages):
        _validate_message(index, message)
    _validate_tool_sequence(messages)
    _validate_tools(body.get("tools"))
    structured = openai_problem(body)  # response_format and tool_choice
    if structured is not None:
        raise RequestInvalid(*structured)
    if "stream" in body:
        _expect(body["stream"], (bool,), "stream", "a boolean")
    if body.get("stream_options") is not None and not body.get("stream"):
        raise RequestInvalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in ("none", "minimal", "low", "medium", "high", "xhigh"):
        raise RequestInvalid(
            f"Invalid value: '{effort}'. Supported values are: 'none', 'minimal', 'low', "
            "'medium', 'high', and 'xhigh'.",
            "reasoning_effort",
            "invalid_value",
        )
    if body.get("temperature") is not None:
        _expect(body["temperature"], (int, float), "temperature", "a decimal")
        if not 0 <= body["temperature"] <= 2:
            raise RequestInvalid(
                f"Invalid 'temperature': decimal out of range. Expected a value between 0 and 2, "
                f"but got {body['temperature']} instead.",
                "temperature",
                "decimal_out_of_range",
            )
    for key in ("max_tokens", "max_completion_tokens"):
        if body.get(key) is not None:
            _expect(body[key], (int,), key, "an integer")
            if body[key] < 1:
                raise RequestInvalid(
                    f"Invalid '{key}': integer below minimum value. Expected a value >= 1, but "
                    f"got {body[key]} instead.",
                    key,
                    "integer_below_min_value",
                )


def _validate_content(value: Any, name: str) -> None:
    if isinstance(value, str):
        return
    _expect(value, (list,), name, "one of a string or array of objects")
    for i, part in enumerate(value):
        _expect(part, (dict,), f"{name}[{i}]", "an object")
        if part.get("type") == "text":
            _expect(part.get("text"), (str,), f"{name}[{i}].text", "a string")
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url")
            if not isinstance(url, str) or not url.startswith(("data:", "https://", "http://")):
                raise RequestInvalid(f"Invalid '{name}[{i}].image_url.url'.", f"{name}[{i}]")
            if url.startswith("data:"):
                head, _, data = url.partition(";base64,")
                problem = image_problem(data, head[5:])
                if problem:
                    raise RequestInvalid(f"{problem} ({name}[{i}])", f"{name}[{i}]")
        else:
            raise RequestInvalid(
                f"Invalid value: '{part.get('type')}'. Supported values are: 'text', "
                "'image_url', 'input_audio', 'refusal', 'audio', and 'file'.",
                f"{name}[{i}].type",
            )


def _validate_message(index: int, message: Any) -> None:
    where = f"messages[{index}]"
    _expect(message, (dict,), where, "an object")
    role = message.get("role")
    if role is None:
        raise RequestInvalid(
            f"Missing required parameter: '{where}.role'.",
            f"{where}.role",
            "missing_required_parameter",
        )
    if role not in ROLES:
        raise RequestInvalid(
            f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
            "'function', 'tool', and 'developer'.",
            f"{where}.role",
            "invalid_value",
        )
    content = message.get("content")
    if role in ("system", "developer", "user", "tool"):
        if "content" not in message:
            raise RequestInvalid(
                f"Missing required parameter: '{where}.content'.",
                f"{where}.content",
                "missing_required_parameter",
            )
        _validate_content(content, f"{where}.content")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if call_id is None:
            raise RequestInvalid(
                f"Missing required parameter: '{where}.tool_call_id'.",
                f"{where}.tool_call_id",
                "missing_required_parameter",
            )
        _expect(call_id, (str,), f"{where}.tool_call_id", "a string")
    if "reasoning_content" in message:  # as DeepSeek answers it
        raise RequestInvalid(
            f"The reasoning_content is an intermediate result for display purposes only and "
            f"will not be included in the context for inference. Please remove the "
            f"reasoning_content from your message to reduce network traffic. ({where})",
            f"{where}.reasoning_content",
        )
    if role == "assistant":
        calls = message.get("tool_calls")
        if content is None and calls is None:
            raise RequestInvalid(
                f"Invalid value for '{where}.content': expected a string, got null.",
                f"{where}.content",
            )
        if content is not None:
            _validate_content(content, f"{where}.content")
        if calls is not None:
            _expect(calls, (list,), f"{where}.tool_calls", "an array")
            if not calls:
                raise RequestInvalid(
                    f"Invalid '{where}.tool_calls': empty array. Expected an array with minimum "
                    "length 1, but got an empty array instead.",
                    f"{where}.tool_calls",
                    "empty_array",
                )
            for i, call in enumerate(calls):
                _validate_tool_call(f"{where}.tool_calls[{i}]", call)


def _validate_tool_call(where: str, call: Any) -> None:
    _expect(call, (dict,), where, "an object")
    call_id = call.get("id")
    if call_id is None:
        raise RequestInvalid(
            f"Missing required parameter: '{where}.id'.",
            f"{where}.id",
            "missing_required_parameter",
        )
    _expect(call_id, (str,), f"{where}.id", "a string")
    if len(call_id) > MAX_TOOL_CALL_ID:
        raise RequestInvalid(
            f"Invalid '{where}.id': string too long. Expected a string with maximum length "
            f"{MAX_TOOL_CALL_ID}, but got a string with length {len(call_id)} instead.",
            f"{where}.id",
            "string_above_max_length",
        )
    if call.get("type") != "function":
        raise RequestInvalid(
            f"Invalid value: '{call.get('type')}'. Supported values are: 'function' and 'custom'.",
            f"{where}.type",
            "invalid_value",
        )
    function = call.get("function")
    _expect(function, (dict,), f"{where}.function", "an object")
    _expect(function.get("name"), (str,), f"{where}.function.name", "a string")
    _expect(function.get("arguments"), (str,), f"{where}.function.arguments", "a string")


def _validate_tool_sequence(messages: list[dict[str, Any]]) -> None:
    open_ids: set[str] | None = None  # calls of the assistant message the tool messages answer
    unanswered: list[str] = []
    asked_at = 0
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            call_id = message["tool_call_id"]
            if open_ids is None:
                raise RequestInvalid(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{index}].role",
                )
            if call_id not in open_ids:
                raise RequestInvalid(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in "
                    "'tool_calls' of previous message.",
                    f"messages.[{index}].tool_call_id",
                )
            if call_id in unanswered:
                unanswered.remove(call_id)
            continue
        if unanswered:
            raise _unanswered(asked_at, unanswered)
        open_ids = None
        if role == "assistant" and message.get("tool_calls"):
            ids = [call["id"] for call in message["tool_calls"]]
            open_ids, unanswered, asked_at = set(ids), list(ids), index
    if unanswered:
        raise _unanswered(asked_at, unanswered)


def _unanswered(index: int, ids: list[str]) -> RequestInvalid:
    return RequestInvalid(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(ids),
        f"messages.[{index}].role",
    )


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    _expect(tools, (list,), "tools", "an array")
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        _expect(tool, (dict,), where, "an object")
        if tool.get("type") != "function":
            raise RequestInvalid(
                f"Invalid value: '{tool.get('type')}'. Supported values are: 'function' and "
                "'custom'.",
                f"{where}.type",
                "invalid_value",
            )
        function = tool.get("function")
        _expect(function, (dict,), f"{where}.function", "an object")
        name = function.get("name")
        _expect(name, (str,), f"{where}.function.name", "a string")
        if not TOOL_NAME.match(name):
            raise RequestInvalid(
                f"Invalid '{where}.function.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                f"{where}.function.name",
                "invalid_value",
            )
        if function.get("parameters") is not None:
            _expect(function["parameters"], (dict,), f"{where}.function.parameters", "an object")
