"""A fake Anthropic Messages API on 127.0.0.1 that validates requests like the real one.

Use it with the official ``anthropic`` SDK (or the Allos ``anthropic`` provider) pointed at
``server.base_url``::

    from fakes.anthropic_server import FakeAnthropicServer

    with FakeAnthropicServer() as server:
        server.queue_text("Hello!")
        server.queue_tool_call("read_file", {"path": "README.md"})
        server.queue_error(529, retry_after=0)          # overloaded once ...
        server.queue_text("done")                        # ... then an answer
        provider = AnthropicProvider(api_key="sk-test", base_url=server.base_url)
        ...
        assert server.message_bodies[-1]["max_tokens"] == 8192

Endpoints: ``POST /v1/messages`` (JSON, or server-sent events when the body has
``"stream": true``) and ``GET /v1/models``.

**Scripting.** Each ``POST /v1/messages`` that passes validation takes the next queued reply;
when the queue is empty the server answers with :attr:`fallback` (by default the short text
:data:`DEFAULT_TEXT`). A queued reply is a :class:`~fakes.base.Reply` (sent as it is) or a
*spec*, rendered as JSON or SSE to match the request:

- a string: the model's text;
- a mapping with any of ``text``; ``tool_calls`` (a list of ``{"name", "arguments"}`` with an
  optional ``id``; ``raw_arguments`` sends exactly that string as the streamed input JSON, valid
  or not); ``usage`` (``input_tokens``, ``output_tokens``); ``stop_reason`` (default ``tool_use``
  when there are tool calls, else ``end_turn``); ``model``; ``chunk_size`` (characters per
  streamed delta, default 4 for text and 7 for tool input, so JSON is cut mid-token);
  ``stream_error`` (an Anthropic error type sent as an ``error`` event mid-stream);
  ``thinking`` (reasoning text, sent first as a ``thinking`` block with a signature the server
  makes from the text) and ``redacted_thinking`` (an opaque payload, sent as a
  ``redacted_thinking`` block);
- an error: ``{"error": status, "message": ..., "type": ..., "retry_after": ...}``, sent as
  Anthropic's error JSON ``{"type": "error", "error": {"type": ..., "message": ...}}`` with a
  ``Retry-After`` header when given (``queue_error`` builds these; status 529 is
  ``overloaded_error``).

**Validation** (each failure is a 400 ``invalid_request_error``, or 401 / 404, with a message
naming the problem, and consumes no queued reply): ``x-api-key`` (or ``Authorization: Bearer``,
which the SDK sends for keys) and ``anthropic-version`` headers; ``model`` and ``max_tokens``
present; ``messages`` non-empty, roles only ``user`` / ``assistant`` (a ``system`` role is
rejected), first message from the user, roles alternating; no empty or whitespace-only text
blocks; ``tool_use`` only from the assistant, with unique ids matching ``^[a-zA-Z0-9_-]+$`` and
an object ``input``; every ``tool_use`` answered by a ``tool_result`` in the very next user
message; every ``tool_result`` answering a ``tool_use`` of the previous assistant message and
placed before any other block; tool definitions with valid names and an object
``input_schema``. Thinking: ``thinking`` must be ``{"type": "enabled", "budget_tokens": N}``
with 1024 <= N < ``max_tokens`` (or ``{"type": "disabled"}``), and no ``temperature`` other
than 1 with it; ``thinking`` / ``redacted_thinking`` blocks only in assistant messages, each
exactly as this server sent it (the signature is checked against the text, the payload
against those handed out); with thinking on, when the conversation ends in tool results, the
assistant message they answer must start with a thinking block. Prompt caching: the placement
rules of ``cache_control`` are checked, and usage reports cache reads and writes computed from
the breakpoints (see :mod:`fakes.anthropic_cache`; ``server.cache`` holds the cached prefixes). Pass ``api_key=`` to also reject other keys (401), and ``models=`` to reject
other model names (404).

Inspect traffic with ``server.requests`` (every request) or ``server.message_bodies`` (the
JSON bodies of ``POST /v1/messages``, accepted or not).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any

from fakes.anthropic_cache import CacheRuleBroken, PromptCache
from fakes.base import FakeServer, RecordedRequest, Reply, chunks
from fakes.images import MEDIA_TYPES, image_problem
from fakes.structured_rules import anthropic_problem

DEFAULT_TEXT = "Hello from the fake Anthropic server."
DEFAULT_MODELS = ("claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5", "claude-sonnet-4-6")

ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}


def error_body(error_type: str, message: str) -> dict[str, Any]:
    """Anthropic's error JSON."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


class RequestRejected(Exception):
    """A request the real API would refuse; carries the status and Anthropic error JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def reply(self) -> Reply:
        return Reply.error(self.status, error_body(ERROR_TYPES[self.status], self.message))


class FakeAnthropicServer(FakeServer):
    """The Anthropic Messages API, scripted by a reply queue; see the module docstring."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        validate: bool = True,
        fallback: str | dict[str, Any] | Reply = DEFAULT_TEXT,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = list(models) if models is not None else None
        self.validate = validate
        self.fallback = fallback
        self._ids = 0
        self._id_lock = threading.Lock()
        #: redacted_thinking payloads handed out (they must come back unchanged)
        self.redacted_payloads: set[str] = set()
        self.cache = PromptCache()

    # -- convenience API -------------------------------------------------------------------------
    def queue_text(self, text: str, **spec: Any) -> None:
        """Answer the next request with ``text`` (extra keys: usage, stop_reason, ...)."""
        self.queue({"text": text, **spec})

    def queue_tool_call(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        id: str | None = None,
        text: str = "",
        raw_arguments: str | None = None,
        **spec: Any,
    ) -> None:
        """Answer the next request with one ``tool_use`` (optionally after some text)."""
        call: dict[str, Any] = {"name": name, "arguments": arguments or {}}
        if id is not None:
            call["id"] = id
        if raw_arguments is not None:
            call["raw_arguments"] = raw_arguments
        self.queue({"text": text, "tool_calls": [call], **spec})

    def queue_tool_calls(self, calls: list[dict[str, Any]], *, text: str = "", **spec: Any) -> None:
        """Answer the next request with several ``tool_use`` blocks (parallel calls)."""
        self.queue({"text": text, "tool_calls": calls, **spec})

    def queue_error(
        self,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        retry_after: float | str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with an Anthropic error (529: overloaded)."""
        spec = {"error": status, "message": message, "type": error_type, "retry_after": retry_after}
        self.queue(*[dict(spec) for _ in range(times)])

    def fail_always(
        self, status: int, message: str | None = None, *, retry_after: float | str | None = None
    ) -> None:
        """Answer every request with this error once the queue is empty."""
        self.fallback = {"error": status, "message": message, "retry_after": retry_after}

    @property
    def message_bodies(self) -> list[Any]:
        """Bodies of every ``POST /v1/messages`` received, in order."""
        with self.lock:
            return [
                r.body
                for r in self.requests
                if r.method == "POST" and r.path.split("?")[0] == "/v1/messages"
            ]

    @property
    def last_body(self) -> Any:
        bodies = self.message_bodies
        return bodies[-1] if bodies else None

    # -- HTTP ------------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        path = request.path.split("?")[0]
        try:
            if self.validate:
                self._check_headers(request.headers)
            if request.method == "GET" and path == "/v1/models":
                return Reply(json_body=self._models_page())
            if request.method != "POST" or path != "/v1/messages":
                raise RequestRejected(404, f"Not found: {request.method} {path}")
            body = request.body
            if self.validate:
                validate_messages_body(body, models=self.models)
                _validate_thinking(body, self.redacted_payloads)
            with self.lock:
                cached = self.cache.account(body)
        except CacheRuleBroken as broken:
            return RequestRejected(400, str(broken)).reply()
        except RequestRejected as rejected:
            return rejected.reply()
        spec = self.next_reply()
        if spec is None:
            spec = self.fallback
        if isinstance(spec, Reply):
            return spec
        if isinstance(spec, (str, dict)) and not _is_error(spec):
            spec = {"text": spec} if isinstance(spec, str) else dict(spec)
            spec["usage"] = {**cached, **(spec.get("usage") or {})}
        return self.render(spec, body)

    def _check_headers(self, headers: dict[str, str]) -> None:
        key = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise RequestRejected(401, "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            raise RequestRejected(401, "invalid x-api-key")
        if not headers.get("anthropic-version"):
            raise RequestRejected(400, "anthropic-version: header is required")

    def _models_page(self) -> dict[str, Any]:
        names = self.models if self.models is not None else list(DEFAULT_MODELS)
        data = [
            {
                "type": "model",
                "id": name,
                "display_name": name,
                "created_at": "2026-01-01T00:00:00Z",
                "lifecycle": "active",
            }
            for name in names
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": names[0] if names else None,
            "last_id": names[-1] if names else None,
        }

    # -- rendering -------------------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        with self._id_lock:
            self._ids += 1
            return f"{prefix}_fake{self._ids:06d}"

    def render(self, spec: str | dict[str, Any], body: dict[str, Any]) -> Reply:
        """A spec as the reply to ``body``: error JSON, a message JSON, or an SSE stream."""
        if isinstance(spec, str):
            spec = {"text": spec}
        if spec.get("error"):
            return _error_reply(spec)
        message = self._message(spec, body)
        if body.get("stream"):
            return Reply(sse_events=self._sse(message, spec))
        for block in message["content"]:
            block.pop("_raw", None)
        return Reply(json_body=message, headers={"request-id": self._next_id("req")})

    def _message(self, spec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if spec.get("thinking"):
            thought = spec["thinking"]
            content.append({"type": "thinking", "thinking": thought, "signature": sign(thought)})
        if spec.get("redacted_thinking"):
            data = spec["redacted_thinking"]
            with self.lock:
                self.redacted_payloads.add(data)
            content.append({"type": "redacted_thinking", "data": data})
        text = spec.get("text") or ""
        if text:
            content.append({"type": "text", "text": text})
        for call in spec.get("tool_calls") or []:
            arguments = call.get("arguments") or {}
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or self._next_id("toolu"),
                "name": call["name"],
                "input": arguments,
                "_raw": call.get("raw_arguments", json.dumps(arguments)),
            }
            content.append(block)
        calls = bool(spec.get("tool_calls"))
        usage = {
            "input_tokens": _estimate(body),
            "output_tokens": max(
                1, (len(text) + sum(len(b.get("_raw", "")) for b in content)) // 4
            ),
        }
        usage.update(spec.get("usage") or {})
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": spec.get("model") or body.get("model"),
            "content": content,
            "stop_reason": spec.get("stop_reason") or ("tool_use" if calls else "end_turn"),
            "stop_sequence": None,
            "usage": usage,
        }

    def _sse(self, message: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, Any]]:
        """The documented event sequence for ``message``."""
        usage = message["usage"]
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {
                **{k: v for k, v in usage.items() if k != "output_tokens"},
                "output_tokens": 1,
            },
        }
        events: list[tuple[str, Any]] = [
            ("message_start", {"type": "message_start", "message": start}),
            ("ping", {"type": "ping"}),
        ]
        text_size = spec.get("chunk_size") or 4
        json_size = spec.get("chunk_size") or 7
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                first = {"type": "text", "text": ""}
                pieces = [
                    {"type": "text_delta", "text": p} for p in chunks(block["text"], text_size)
                ]
            elif block["type"] == "thinking":
                first = {"type": "thinking", "thinking": "", "signature": ""}
                pieces = [
                    {"type": "thinking_delta", "thinking": p}
                    for p in chunks(block["thinking"], text_size)
                ]
                pieces.append({"type": "signature_delta", "signature": block["signature"]})
            elif block["type"] == "redacted_thinking":
                first, pieces = dict(block), []
            else:
                first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                # like the real API: an empty first piece, then the JSON cut anywhere
                pieces = [{"type": "input_json_delta", "partial_json": ""}]
                pieces += [
                    {"type": "input_json_delta", "partial_json": p}
                    for p in chunks(block["_raw"], json_size)
                    if p
                ]
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": first},
                )
            )
            for number, delta in enumerate(pieces):
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
                if number == 0 and spec.get("stream_error"):
                    error_type = spec["stream_error"]
                    events.append(("error", error_body(error_type, f"{error_type} mid-stream")))
                    return events
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events


def _error_reply(spec: dict[str, Any]) -> Reply:
    status = int(spec["error"])
    error_type = spec.get("type") or ERROR_TYPES.get(status, "api_error")
    message = spec.get("message") or ERROR_MESSAGES.get(status, f"error {status}")
    headers = {"request-id": "req_fake_error"}
    if spec.get("retry_after") is not None:
        headers["retry-after"] = str(spec["retry_after"])
    return Reply.error(status, error_body(error_type, message), **headers)


def _is_error(spec: Any) -> bool:
    return isinstance(spec, dict) and bool(spec.get("error"))


def sign(thinking: str) -> str:
    """The signature this server gives a thinking text (checked when the block comes back)."""
    import base64
    import hashlib

    digest = hashlib.sha256(b"fake-anthropic-thinking\0" + thinking.encode()).digest()
    return base64.b64encode(digest).decode()


def _validate_thinking(body: dict[str, Any], payloads: set[str]) -> None:
    """The extended-thinking rules (see the module docstring)."""
    thinking = body.get("thinking")
    enabled = False
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1024:
                raise _bad(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            if budget >= body["max_tokens"]:
                raise _bad("`max_tokens` must be greater than `thinking.budget_tokens`")
            temperature = body.get("temperature")
            if temperature is not None and temperature != 1:
                raise _bad(
                    "`temperature` may only be set to 1 when thinking is enabled or in "
                    "interleaved thinking mode"
                )
            enabled = True
        elif kind != "disabled":
            raise _bad(
                "thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled'"
            )
    messages = body["messages"]
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            kind = block.get("type")
            if kind not in ("thinking", "redacted_thinking"):
                continue
            spot = f"messages.{i}.content.{j}"
            if message["role"] != "assistant":
                raise _bad(f"{spot}: thinking blocks are only allowed in assistant messages")
            if kind == "thinking":
                text, signature = block.get("thinking"), block.get("signature")
                if not isinstance(text, str) or not isinstance(signature, str):
                    raise _bad(f"{spot}: thinking blocks need `thinking` and `signature`")
                if signature != sign(text):
                    raise _bad(f"{spot}: Invalid `signature` in `thinking` block")
            elif block.get("data") not in payloads:
                raise _bad(f"{spot}: Invalid `data` in `redacted_thinking` block")
    last = messages[-1]
    ends_in_results = (
        last["role"] == "user"
        and isinstance(last.get("content"), list)
        and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in last["content"])
    )
    if enabled and ends_in_results and len(messages) >= 2:
        blocks = messages[-2].get("content")
        first = blocks[0].get("type") if isinstance(blocks, list) and blocks else "text"
        if first not in ("thinking", "redacted_thinking"):
            raise _bad(
                f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
                f"`redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final "
                "`assistant` message must start with a thinking block (preceeding the lastmost "
                "set of `tool_use` and `tool_result` blocks)."
            )


def _estimate(body: dict[str, Any]) -> int:
    """A deterministic input-token figure for a request body."""
    return max(1, len(json.dumps(body.get("messages", []))) // 4)


# -- validation ------------------------------------------------------------------------------------


def _bad(message: str) -> RequestRejected:
    return RequestRejected(400, message)


def validate_messages_body(body: Any, *, models: list[str] | None = None) -> None:
    """Raise :class:`RequestRejected` for a body the real Messages API would refuse."""
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model: Field required")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise _bad("max_tokens: Field required")
    if max_tokens < 1:
        raise _bad("max_tokens: must be greater than or equal to 1")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise _bad("stream: Input should be a valid boolean")
    temperature = body.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, (int, float)) and 0 <= temperature <= 1
    ):
        raise _bad("temperature: must be between 0 and 1")
    _validate_system(body.get("system"))
    _validate_tools(body.get("tools"))
    structured = anthropic_problem(body)  # output_config and tool_choice
    if structured is not None:
        raise _bad(structured)
    _validate_messages(body.get("messages"))
    if models is not None and model not in models:
        raise RequestRejected(404, f"model: {model}")


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _bad("system: Input should be a valid string or list of text blocks")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _bad(f"system.{i}: only text blocks are allowed")
        _check_text(block, f"system.{i}")


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _bad("tools: Input should be a valid list")
    names = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise _bad(f"tools.{i}: Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
            raise _bad(f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if name in names:
            raise _bad(f"tools: Tool names must be unique ({name!r} repeated)")
        names.add(name)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise _bad(f"tools.{i}.input_schema: must be a JSON schema with type 'object'")
        if "description" in tool and not isinstance(tool["description"], str):
            raise _bad(f"tools.{i}.description: Input should be a valid string")


def _check_text(block: dict[str, Any], where: str) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        raise _bad(f"{where}.text: Field required")
    if not text.strip():
        raise _bad(f"{where}: text content blocks must contain non-whitespace text")


def _blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        if not content.strip():
            raise _bad(f"{where}: all messages must have non-empty content")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _bad(f"{where}.content: Input should be a valid string or list")
    if not content:
        raise _bad(f"{where}: all messages must have non-empty content")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _bad(f"{where}.content.{j}: Input should be a valid content block")
    return content


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: at least one message is required")
    previous_role: str | None = None
    open_calls: set[str] = set()  # tool_use ids of the previous assistant message
    seen_ids: set[str] = set()
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise _bad(f"{where}: Input should be a valid dictionary")
        role = message.get("role")
        if role == "system":
            raise _bad(
                f'{where}: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            raise _bad(f"{where}.role: Input should be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise _bad('messages: first message must use the "user" role')
        if role == previous_role:
            raise _bad(f'messages: roles must alternate between "user" and "assistant" ({where})')
        blocks = _blocks(message, where)
        if role == "assistant":
            if open_calls:  # cannot happen with alternation, kept for clarity
                raise _bad(f"{where}: tool_use ids without tool_result: {sorted(open_calls)}")
            open_calls = set()
            for j, block in enumerate(blocks):
                spot = f"{where}.content.{j}"
                kind = block["type"]
                if kind == "text":
                    _check_text(block, spot)
                elif kind == "tool_use":
                    call_id = block.get("id")
                    if not isinstance(call_id, str) or not ID_PATTERN.match(call_id):
                        raise _bad(f"{spot}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
                    if call_id in seen_ids:
                        raise _bad(f"{spot}: tool_use ids must be unique ({call_id!r})")
                    seen_ids.add(call_id)
                    if not isinstance(block.get("name"), str) or not block["name"]:
                        raise _bad(f"{spot}.name: Field required")
                    if not isinstance(block.get("input"), dict):
                        raise _bad(f"{spot}.input: Input should be a valid dictionary")
                    open_calls.add(call_id)
                elif kind == "tool_result":
                    raise _bad(f"{spot}: tool_result blocks are only allowed in user messages")
                elif (
                    kind in ("thinking", "redacted_thinking")
                    and j
                    and blocks[j - 1]["type"] not in ("thinking", "redacted_thinking")
                ):
                    raise _bad(f"{spot}: thinking blocks must come before other content")
            is_last = i == len(messages) - 1
            if open_calls and is_last:
                raise _bad(
                    f"{where}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(sorted(open_calls))}. Each `tool_use` block "
                    "must have a corresponding `tool_result` block in the next message."
                )
        else:
            answered: set[str] = set()
            seen_other = False
            for j, block in enumerate(blocks):
                spot = f"{where}.content.{j}"
                kind = block["type"]
                if kind == "text":
                    _check_text(block, spot)
                    seen_other = True
                elif kind == "tool_result":
                    if seen_other:
                        raise _bad(
                            f"{spot}: tool_result blocks must come first in the user message, "
                            "before any other content"
                        )
                    use_id = block.get("tool_use_id")
                    if not isinstance(use_id, str) or not ID_PATTERN.match(use_id):
                        raise _bad(
                            f"{spot}.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
                        )
                    if use_id not in open_calls:
                        raise _bad(
                            f"{spot}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{use_id}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message."
                        )
                    if use_id in answered:
                        raise _bad(f"{spot}: duplicate tool_result for tool_use_id {use_id}")
                    answered.add(use_id)
                    _check_result_content(block.get("content"), spot)
                    if "is_error" in block and not isinstance(block["is_error"], bool):
                        raise _bad(f"{spot}.is_error: Input should be a valid boolean")
                elif kind == "tool_use":
                    raise _bad(f"{spot}: tool_use blocks are only allowed in assistant messages")
                else:
                    if kind == "image":
                        _check_image(block, spot)
                    seen_other = True
            missing = open_calls - answered
            if missing:
                raise _bad(
                    f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(sorted(missing))}. Each `tool_use` block "
                    "must have a corresponding `tool_result` block in the next message."
                )
            open_calls = set()
        previous_role = role


def _check_result_content(content: Any, where: str) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _bad(f"{where}.content: Input should be a valid string or list")
    for k, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") not in ("text", "image", "document"):
            raise _bad(f"{where}.content.{k}: Input should be a valid content block")
        if block["type"] == "text":
            _check_text(block, f"{where}.content.{k}")
        elif block["type"] == "image":
            _check_image(block, f"{where}.content.{k}")


def _check_image(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise _bad(f"{where}.source: an image source of type base64 is required")
    if source.get("media_type") not in MEDIA_TYPES:
        raise _bad(f"{where}.source.media_type: Input should be one of {', '.join(MEDIA_TYPES)}")
    problem = image_problem(source.get("data"), source["media_type"])
    if problem:
        raise _bad(f"{where}.source: {problem}")
