"""A fake Ollama server on 127.0.0.1 that speaks (and checks) Ollama's native REST API.

Use it with the real ``ollama`` SDK (or the ``ollama`` provider) pointed at ``server.base_url``::

    from fakes.ollama_server import FakeOllamaServer

    with FakeOllamaServer() as server:
        server.queue_tool_call("read_file", {"path": "README.md"})
        server.queue_text("The README says hello.", usage=(12, 6))
        provider = OllamaProvider("llama3.2", base_url=server.base_url)
        ...
        assert server.chat_requests[1]["messages"][-1]["tool_name"] == "read_file"

Endpoints:

- ``POST /api/chat`` answers the next queued turn, or :data:`DEFAULT_REPLY` when the queue is
  empty. ``stream`` defaults to **true**, as on the real server: the answer is NDJSON lines (text
  in pieces of ``chunk_size`` characters, each tool call in its own chunk, then a final
  ``done: true`` line with ``done_reason``, ``prompt_eval_count`` and ``eval_count``). With
  ``"stream": false`` it is one JSON object.
- ``GET /api/tags`` lists :attr:`models`; ``POST /api/show`` describes one (``model_info`` with
  ``<arch>.context_length``, ``parameters`` with ``num_ctx`` when configured, ``capabilities``).
- ``GET /`` answers ``Ollama is running``.

Errors are ``{"error": "..."}`` with a status, as Ollama sends them. Every chat request is
validated the way the real server would refuse it, and a refused request gets a 400 whose message
says what was wrong (also kept in :attr:`validation_errors`):

- ``model`` is required and must be one of :attr:`models` (``llama3.2`` matches
  ``llama3.2:latest``), else 404 ``model "x" not found, try pulling it first``;
- every message has a role among system/user/assistant/tool and string ``content``;
- tool-call ``arguments`` are JSON objects (a JSON string is refused, like Go's unmarshalling);
- a ``tool`` message carries ``tool_name`` naming a call of the latest assistant message
  (stricter than Ollama, which would only give the model a worse prompt);
- ``tools`` are ``{"type": "function", "function": {"name": ..., "parameters": {...}}}``, and
  only models with the ``tools`` capability accept them (else 400 ``... does not support tools``);
- ``think`` is a boolean (a level only for gpt-oss) and only thinking models accept it; a
  message's ``thinking`` is a string on an assistant message.

Scripting: ``queue_text``, ``queue_tool_call``, ``queue_tool_calls``, ``queue_error`` (with an
optional ``Retry-After``), ``queue_stream_error`` (an error line after some text), or
``queue(OllamaTurn(...))``; a raw :class:`~fakes.base.Reply` may also be queued. Queued turns
answer ``/api/chat`` only; ``fail_next(path, status)`` makes another endpoint fail once.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fakes.base import FakeServer, RecordedRequest, Reply, chunks
from fakes.images import image_problem
from fakes.structured_rules import ollama_problem

DEFAULT_REPLY = "Hello from the fake Ollama server."
CREATED_AT = "2025-01-01T00:00:00.000000Z"
VALID_ROLES = ("system", "user", "assistant", "tool")


@dataclass
class FakeModel:
    """A model the fake server has "pulled"."""

    name: str
    architecture: str = "llama"
    context_length: int = 131072
    num_ctx: int | None = None  # a Modelfile ``PARAMETER num_ctx``
    tools: bool = True  # whether the model's template supports tools
    size: int = 2_019_393_189
    #: whether the model can think (``think``); None: qwen3, deepseek-r1 and gpt-oss can
    thinking: bool | None = None
    vision: bool = False

    def __post_init__(self) -> None:
        if self.thinking is None:
            self.thinking = self.name.split(":")[0] in ("qwen3", "deepseek-r1", "gpt-oss")

    @property
    def capabilities(self) -> list[str]:
        """What ``/api/show`` reports in ``capabilities``."""
        flags = [("tools", self.tools), ("thinking", self.thinking), ("vision", self.vision)]
        return ["completion"] + [name for name, on in flags if on]


@dataclass
class OllamaTurn:
    """One scripted answer to ``/api/chat``.

    ``tool_calls`` are ``(name, arguments)`` pairs (arguments a dict; a string is sent as is, to
    play a broken server). ``usage`` is ``(prompt_eval_count, eval_count)``; by default it is
    derived from the sizes of the request and the answer. With ``status`` set, the turn is an
    error reply ``{"error": error}`` (``retry_after`` adds a ``Retry-After`` header). With
    ``stream_error`` set, a streamed answer stops after its text with an error line.
    """

    text: str = ""
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)
    usage: tuple[int, int] | None = None
    done_reason: str = "stop"
    thinking: str = ""
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    stream_error: str | None = None
    chunk_size: int = 4


class FakeOllamaServer(FakeServer):
    """The fake Ollama server; see the module docstring for the protocol and scripting API."""

    def __init__(
        self,
        models: list[FakeModel | str] | None = None,
        *,
        default_reply: str = DEFAULT_REPLY,
    ) -> None:
        super().__init__()
        given = models if models is not None else ["llama3.2", "qwen3"]
        self.models: list[FakeModel] = [
            m if isinstance(m, FakeModel) else FakeModel(_with_tag(m)) for m in given
        ]
        self.default_reply = default_reply
        self.validation_errors: list[str] = []
        self._endpoint_failures: dict[str, deque[OllamaTurn]] = {}

    # -- scripting ---------------------------------------------------------------------------------
    def queue_text(
        self,
        text: str,
        *,
        usage: tuple[int, int] | None = None,
        done_reason: str = "stop",
        chunk_size: int = 4,
        thinking: str = "",
    ) -> None:
        """Answer the next chat request with ``text``."""
        self.queue(
            OllamaTurn(
                text=text,
                usage=usage,
                done_reason=done_reason,
                chunk_size=chunk_size,
                thinking=thinking,
            )
        )

    def queue_tool_call(
        self,
        name: str,
        arguments: Any = None,
        *,
        text: str = "",
        usage: tuple[int, int] | None = None,
        thinking: str = "",
    ) -> None:
        """Answer the next chat request with one tool call (and optional text before it)."""
        self.queue_tool_calls(
            [(name, arguments if arguments is not None else {})],
            text=text,
            usage=usage,
            thinking=thinking,
        )

    def queue_tool_calls(
        self,
        calls: list[tuple[str, Any]],
        *,
        text: str = "",
        usage: tuple[int, int] | None = None,
        thinking: str = "",
    ) -> None:
        """Answer the next chat request with several tool calls (one NDJSON chunk each)."""
        self.queue(OllamaTurn(text=text, tool_calls=list(calls), usage=usage, thinking=thinking))

    def queue_error(
        self, status: int, message: str | None = None, *, retry_after: float | None = None
    ) -> None:
        """Answer the next chat request with HTTP ``status`` and ``{"error": message}``."""
        self.queue(OllamaTurn(status=status, error=message, retry_after=retry_after))

    def queue_stream_error(self, message: str, *, text: str = "partial ") -> None:
        """Stream ``text``, then an ``{"error": message}`` line (status 200), as Ollama does."""
        self.queue(OllamaTurn(text=text, stream_error=message))

    def fail_next(
        self,
        path: str,
        status: int,
        message: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        """Make the next request to ``path`` (``/api/tags``, ``/api/show``) fail."""
        with self.lock:
            self._endpoint_failures.setdefault(path, deque()).append(
                OllamaTurn(status=status, error=message, retry_after=retry_after)
            )

    # -- views -------------------------------------------------------------------------------------
    @property
    def chat_requests(self) -> list[Any]:
        """Bodies of the ``/api/chat`` requests received, in order."""
        with self.lock:
            return [r.body for r in self.requests if r.path.split("?")[0] == "/api/chat"]

    def model(self, name: str) -> FakeModel | None:
        """The known model called ``name`` (``name:latest`` when no tag is given)."""
        wanted = _with_tag(name)
        return next((m for m in self.models if m.name == wanted), None)

    # -- dispatch ----------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        path = request.path.split("?")[0]
        with self.lock:
            pending = self._endpoint_failures.get(path)
            failure = pending.popleft() if pending else None
        if failure is not None:
            return _error_reply(failure)
        if request.method == "GET" and path in ("/", ""):
            return Reply(raw_body=b"Ollama is running", headers={"Content-Type": "text/plain"})
        if request.method == "GET" and path == "/api/tags":
            return Reply(json_body={"models": [_tag_entry(m) for m in self.models]})
        if request.method == "POST" and path == "/api/show":
            return self._show(request.body)
        if request.method == "POST" and path == "/api/chat":
            return self._chat(request.body)
        return Reply(
            status=404, raw_body=b"404 page not found", headers={"Content-Type": "text/plain"}
        )

    def _refuse(self, message: str, status: int = 400) -> Reply:
        with self.lock:
            self.validation_errors.append(message)
        return Reply.error(status, {"error": message})

    def _show(self, body: Any) -> Reply:
        name = body.get("model") or body.get("name") if isinstance(body, dict) else None
        if not name:
            return self._refuse("model is required")
        model = self.model(name)
        if model is None:
            return Reply.error(404, {"error": f"model '{name}' not found"})
        parameters = f"num_ctx                        {model.num_ctx}" if model.num_ctx else ""
        capabilities = model.capabilities
        return Reply(
            json_body={
                "modelfile": f"FROM {model.name}\n",
                "parameters": parameters,
                "template": "{{ .Prompt }}",
                "details": {
                    "format": "gguf",
                    "family": model.architecture,
                    "families": [model.architecture],
                    "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                },
                "model_info": {
                    "general.architecture": model.architecture,
                    "general.parameter_count": 3212749888,
                    f"{model.architecture}.context_length": model.context_length,
                    f"{model.architecture}.embedding_length": 3072,
                },
                "capabilities": capabilities,
                "modified_at": CREATED_AT,
            }
        )

    # -- /api/chat ---------------------------------------------------------------------------------
    def _chat(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return self._refuse("invalid request body: expected a JSON object")
        name = body.get("model")
        if not isinstance(name, str) or not name:
            return self._refuse("model is required")
        model = self.model(name)
        if model is None:
            return Reply.error(404, {"error": f'model "{name}" not found, try pulling it first'})
        problem = _check_chat(body, model) or ollama_problem(body)
        if problem:
            return self._refuse(problem)
        stream = body.get("stream", True)
        turn = self.next_reply()
        if isinstance(turn, Reply):
            return turn
        if turn is None:
            turn = OllamaTurn(text=self.default_reply)
        elif isinstance(turn, str):
            turn = OllamaTurn(text=turn)
        if turn.status is not None:
            return _error_reply(turn)
        usage = turn.usage or _usage(body, turn)
        return _stream_reply(name, turn, usage) if stream else _json_reply(name, turn, usage)


def _with_tag(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _tag_entry(model: FakeModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "model": model.name,
        "modified_at": CREATED_AT,
        "size": model.size,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "format": "gguf",
            "family": model.architecture,
            "families": [model.architecture],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


def _check_chat(body: dict[str, Any], model: FakeModel) -> str | None:
    """Why the real server would refuse (or mis-handle) this chat request, or None."""
    if "stream" in body and not isinstance(body["stream"], bool):
        return "json: cannot unmarshal stream: expected a boolean"
    if "options" in body and not isinstance(body["options"], dict):
        return "json: cannot unmarshal options: expected an object"
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        return "json: cannot unmarshal tools: expected an array"
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return f"tools[{index}]: type must be 'function'"
        if not isinstance(function, dict) or not function.get("name"):
            return f"tools[{index}]: function.name is required"
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            return f"tools[{index}]: function.parameters must be an object"
    if tools and not model.tools:
        return f"registry.ollama.ai/library/{model.name.split(':')[0]} does not support tools"
    think = body.get("think")
    if think is not None:
        if not isinstance(think, bool) and think not in ("low", "medium", "high"):
            return f"invalid think value: {think!r} (must be a boolean or low, medium, high)"
        if think and not model.thinking:
            return f'"{model.name.split(":")[0]}" does not support thinking'
        if isinstance(think, str) and not model.name.startswith("gpt-oss"):
            return f"think level {think!r} is only supported by gpt-oss models"
    messages = body.get("messages")
    if messages is None:
        return None  # the real server loads the model and answers with an empty message
    if not isinstance(messages, list):
        return "json: cannot unmarshal messages: expected an array"
    open_calls: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages[{index}]: expected an object"
        role = message.get("role")
        if role not in VALID_ROLES:
            return (
                f"messages[{index}]: invalid role {role!r}, must be one of {', '.join(VALID_ROLES)}"
            )
        images = message.get("images")
        if images is not None:
            if not isinstance(images, list):
                return f"messages[{index}].images: expected an array of base64 strings"
            for number, data in enumerate(images):
                problem = image_problem(data)
                if problem:
                    return f"messages[{index}].images[{number}]: {problem}"
            if images and not model.vision:
                return "this model is missing data required for image input"
        thinking = message.get("thinking")
        if thinking is not None and (role != "assistant" or not isinstance(thinking, str)):
            return f"messages[{index}].thinking: only assistant messages carry thinking (a string)"
        content = message.get("content", "")
        if not isinstance(content, str):
            return (
                f"json: cannot unmarshal {type(content).__name__} into Go struct field "
                f"Message.messages.content of type string (messages[{index}])"
            )
        calls = message.get("tool_calls")
        if calls is not None:
            if role != "assistant":
                return f"messages[{index}]: only assistant messages carry tool_calls"
            if not isinstance(calls, list):
                return f"messages[{index}].tool_calls: expected an array"
            open_calls = []
            for number, call in enumerate(calls):
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                    return f"messages[{index}].tool_calls[{number}]: function.name is required"
                arguments = function.get("arguments", {})
                if not isinstance(arguments, dict):
                    return (
                        f"json: cannot unmarshal {_json_kind(arguments)} into Go struct field "
                        "ToolCallFunction.messages.tool_calls.function.arguments of type "
                        f"api.ToolCallFunctionArguments (messages[{index}].tool_calls[{number}])"
                    )
                open_calls.append(function["name"])
        elif role == "assistant":
            open_calls = []
        if role == "tool":
            tool_name = message.get("tool_name")
            if not tool_name:
                return f"messages[{index}]: a tool message must carry tool_name"
            if tool_name not in open_calls:
                return (
                    f"messages[{index}]: tool_name {tool_name!r} answers no tool call of the "
                    f"preceding assistant message (calls: {open_calls})"
                )
    return None


def _json_kind(value: Any) -> str:
    return {str: "string", list: "array", bool: "bool", type(None): "null"}.get(
        type(value), "number"
    )


def _usage(body: dict[str, Any], turn: OllamaTurn) -> tuple[int, int]:
    chars = sum(
        len(str(m.get("content", ""))) for m in body.get("messages") or [] if isinstance(m, dict)
    )
    output = len(turn.text) + sum(len(json.dumps(args)) for _, args in turn.tool_calls)
    return max(1, chars // 4), max(1, output // 4)


def _wire_calls(turn: OllamaTurn) -> list[dict[str, Any]]:
    return [
        {"function": {"index": index, "name": name, "arguments": arguments}}
        for index, (name, arguments) in enumerate(turn.tool_calls)
    ]


def _final_fields(turn: OllamaTurn, usage: tuple[int, int]) -> dict[str, Any]:
    return {
        "done": True,
        "done_reason": turn.done_reason,
        "total_duration": 5_000_000,
        "load_duration": 1_000_000,
        "prompt_eval_count": usage[0],
        "prompt_eval_duration": 1_000_000,
        "eval_count": usage[1],
        "eval_duration": 3_000_000,
    }


def _json_reply(model: str, turn: OllamaTurn, usage: tuple[int, int]) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text}
    if turn.thinking:
        message["thinking"] = turn.thinking
    if turn.tool_calls:
        message["tool_calls"] = _wire_calls(turn)
    return Reply(
        json_body={
            "model": model,
            "created_at": CREATED_AT,
            "message": message,
            **_final_fields(turn, usage),
        }
    )


def _stream_reply(model: str, turn: OllamaTurn, usage: tuple[int, int]) -> Reply:
    def chunk(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": model,
            "created_at": CREATED_AT,
            "message": {"role": "assistant", "content": "", **message},
            "done": False,
        }

    lines: list[Any] = []
    if turn.thinking:
        lines += [chunk({"thinking": piece}) for piece in chunks(turn.thinking, turn.chunk_size)]
    if turn.text:
        lines += [chunk({"content": piece}) for piece in chunks(turn.text, turn.chunk_size)]
    if turn.stream_error is not None:
        lines.append({"error": turn.stream_error})
        return Reply(ndjson_lines=lines)
    lines += [chunk({"tool_calls": [call]}) for call in _wire_calls(turn)]
    final = {
        "model": model,
        "created_at": CREATED_AT,
        "message": {"role": "assistant", "content": ""},
        **_final_fields(turn, usage),
    }
    lines.append(final)
    return Reply(ndjson_lines=lines)


def _error_reply(turn: OllamaTurn) -> Reply:
    status = turn.status or 500
    message = turn.error or _DEFAULT_ERRORS.get(status, f"HTTP {status}")
    headers = {} if turn.retry_after is None else {"Retry-After": f"{turn.retry_after:g}"}
    return Reply.error(status, {"error": message}, **headers)


_DEFAULT_ERRORS = {
    400: "invalid request",
    404: "model not found",
    429: "too many requests",
    500: "llama runner process has terminated: exit status 2",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
