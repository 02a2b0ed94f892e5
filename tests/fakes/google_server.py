"""A fake Gemini API (``generativelanguage``, v1beta REST) on 127.0.0.1 that validates like the real one.

Use it with the official ``google-genai`` SDK (or the Allos ``google`` provider) pointed at
``server.base_url``::

    from fakes.google_server import FakeGoogleServer

    with FakeGoogleServer() as server:
        server.queue_text("Hello!")
        server.queue_tool_call("read_file", {"path": "README.md"})
        server.queue_error(429, retry_delay="0s")        # rate-limited once ...
        server.queue_text("done")                        # ... then an answer
        provider = GoogleProvider(api_key="AIza-test", base_url=server.base_url)

Endpoints, under ``/v1beta`` and ``/v1`` alike (the SDK's default version): ``POST
/models/{model}:generateContent``, ``POST /models/{model}:streamGenerateContent?alt=sse``
(server-sent events, one ``GenerateContentResponse`` per event), ``GET /models`` and ``GET
/models/{model}``.

**Scripting.** Each accepted generate request takes the next queued reply; when the queue is
empty the server answers with :attr:`fallback` (by default :data:`DEFAULT_TEXT`). A queued reply
is a :class:`~fakes.base.Reply` (sent as it is) or a *spec*:

- a string: the model's text;
- a mapping with any of ``text``; ``thought`` (a thought-summary part sent before the text);
  ``tool_calls`` (a list of ``{"name", "arguments"}`` with optional ``id`` and ``signature``;
  Gemini ids are left out unless given); ``usage`` (``usageMetadata`` fields to override);
  ``finish_reason`` (default ``STOP``); ``model``; ``chunk_size`` (characters of text per
  streamed event, default 5); ``stream_error`` (an HTTP status sent as an error event after the
  first streamed event); ``no_finish`` (a stream that ends without a finish reason);
- an error: ``{"error": status, "message": ..., "retry_after": ..., "retry_delay": ...}``, sent
  as Google's ``{"error": {"code", "message", "status", "details"}}`` (``retry_delay`` becomes a
  ``google.rpc.RetryInfo`` detail, ``retry_after`` a header).

For a model of the Gemini 3 family (``signing``, by default names starting with ``gemini-3``)
the server signs the first call of each answer with a ``thoughtSignature``, as the real API does.

**Validation** (rules in :mod:`fakes.google_rules`; each failure is a 400 ``INVALID_ARGUMENT``,
or 403 / 404, consumes no queued reply and is kept in :attr:`rejections`): the
``x-goog-api-key`` header (or ``key`` query); a wrong key is Google's 400 ``API key not valid``;
``contents`` non-empty; roles only ``user`` / ``model``, the first ``user``, alternating; parts
non-empty, each with exactly one data field, no empty text; ``functionCall`` only from the model,
``functionResponse`` only from the user; a model turn with calls answered by the next user turn
with as many ``functionResponse`` parts (same names, same ids where the calls had ids, object
``response``) before any text, and a ``functionResponse`` only right after calls; on signing
models, the first call of each model step since the last user text carries a signature this
server issued or Google's ``skip_thought_signature_validator``; ``systemInstruction`` of text
parts; function declarations with valid unique names and ``parameters`` in Gemini's schema
subset (no ``additionalProperties``, ``$ref``, ``$defs``, ...; string-only enums; an ARRAY has
``items``; a top-level OBJECT has properties); ``generationConfig`` values in range. Pass
``api_key=`` to reject other keys and ``models=`` to answer 404 for other models.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes.base import FakeServer, RecordedRequest, Reply, chunks
from fakes.google_rules import (
    SKIP_SIGNATURE,
    RequestRejected,
    bad,
    error_body,
    validate_generate_body,
)

DEFAULT_TEXT = "Hello from the fake Gemini server."
DEFAULT_MODELS = ("gemini-3.8-flash", "gemini-2.5-flash", "gemini-2.5-pro")
_GENERATE = re.compile(r"^/(v1|v1beta)/models/([^/:]+):(generateContent|streamGenerateContent)$")
_MODEL = re.compile(r"^/(v1|v1beta)/models/([^/:]+)$")
_MODELS = re.compile(r"^/(v1|v1beta)/models$")

__all__ = [
    "SKIP_SIGNATURE",
    "FakeGoogleServer",
    "RequestRejected",
    "error_body",
    "validate_generate_body",
]


class FakeGoogleServer(FakeServer):
    """The Gemini API, scripted by a reply queue; see the module docstring."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        validate: bool = True,
        fallback: str | dict[str, Any] | Reply = DEFAULT_TEXT,
        signing: bool | None = None,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = list(models) if models is not None else None
        self.validate = validate
        self.fallback = fallback
        self.signing = signing
        self.rejections: list[str] = []
        self.issued_signatures: set[str] = set()
        self._count = 0
        self._count_lock = threading.Lock()

    # -- convenience API -------------------------------------------------------------------------
    def queue_text(self, text: str, **spec: Any) -> None:
        """Answer the next request with ``text`` (extra keys: usage, finish_reason, ...)."""
        self.queue({"text": text, **spec})

    def queue_tool_call(
        self, name: str, arguments: dict[str, Any] | None = None, *, text: str = "", **spec: Any
    ) -> None:
        """Answer the next request with one ``functionCall`` (optionally after some text)."""
        self.queue_tool_calls([(name, arguments or {})], text=text, **spec)

    def queue_tool_calls(
        self,
        calls: list[tuple[str, dict[str, Any]] | dict[str, Any]],
        *,
        text: str = "",
        **spec: Any,
    ) -> None:
        """Answer the next request with several calls (``(name, arguments)`` or dicts)."""
        normal = [c if isinstance(c, dict) else {"name": c[0], "arguments": c[1]} for c in calls]
        self.queue({"text": text, "tool_calls": normal, **spec})

    def queue_error(
        self,
        status: int,
        message: str | None = None,
        *,
        retry_after: float | str | None = None,
        retry_delay: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with a Google error."""
        spec = {
            "error": status,
            "message": message,
            "retry_after": retry_after,
            "retry_delay": retry_delay,
        }
        self.queue(*[dict(spec) for _ in range(times)])

    def fail_always(self, status: int, message: str | None = None) -> None:
        """Answer every request with this error once the queue is empty."""
        self.fallback = {"error": status, "message": message}

    @property
    def generate_bodies(self) -> list[Any]:
        """Bodies of every generate request received (streamed or not), in order."""
        with self.lock:
            return [
                r.body
                for r in self.requests
                if r.method == "POST" and _GENERATE.match(urlsplit(r.path).path)
            ]

    chat_requests = generate_bodies

    @property
    def last_body(self) -> Any:
        bodies = self.generate_bodies
        return bodies[-1] if bodies else None

    # -- HTTP ------------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        parts = urlsplit(request.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            self._check_key(request.headers, query)
            generate = _GENERATE.match(path)
            if request.method == "GET" and _MODELS.match(path):
                return Reply(json_body={"models": [_model_info(n) for n in self._names()]})
            single = _MODEL.match(path)
            if request.method == "GET" and single:
                self._check_model(single.group(2))
                return Reply(json_body=_model_info(single.group(2)))
            if request.method != "POST" or not generate:
                raise RequestRejected(404, f"Not found: {request.method} {path}")
            _version, model, method = generate.groups()
            stream = method == "streamGenerateContent"
            if stream and query.get("alt") != ["sse"]:
                raise bad("streamGenerateContent needs alt=sse in this fake")
            if self.validate:
                validate_generate_body(
                    request.body, signing=self._signs(model), issued=self.issued_signatures
                )
            self._check_model(model)
        except RequestRejected as rejected:
            with self.lock:
                self.rejections.append(rejected.message)
            return rejected.reply()
        spec = self.next_reply()
        if spec is None:
            spec = self.fallback
        if isinstance(spec, Reply):
            return spec
        return self.render(spec, request.body, model, stream)

    def _check_key(self, headers: dict[str, str], query: dict[str, list[str]]) -> None:
        key = headers.get("x-goog-api-key") or (query.get("key") or [None])[0]
        if not key:
            raise RequestRejected(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if self.api_key is not None and key != self.api_key:
            raise bad("API key not valid. Please pass a valid API key.")

    def _names(self) -> list[str]:
        return self.models if self.models is not None else list(DEFAULT_MODELS)

    def _check_model(self, model: str) -> None:
        if self.models is not None and model not in self.models:
            raise RequestRejected(
                404,
                f"models/{model} is not found for API version v1beta, or is not supported "
                "for generateContent. Call ListModels to see the list of available models "
                "and their supported methods.",
            )

    def _signs(self, model: str) -> bool:
        return self.signing if self.signing is not None else model.startswith("gemini-3")

    # -- rendering -------------------------------------------------------------------------------
    def _next(self) -> int:
        with self._count_lock:
            self._count += 1
            return self._count

    def render(self, spec: str | dict[str, Any], body: Any, model: str, stream: bool) -> Reply:
        """A spec as the reply: error JSON, a response JSON, or an SSE stream of them."""
        if isinstance(spec, str):
            spec = {"text": spec}
        if spec.get("error"):
            return _error_reply(spec)
        parts = self._parts(spec, model)
        usage = self._usage(spec, body, parts)
        version = spec.get("model") or model
        finish = spec.get("finish_reason") or "STOP"
        response_id = f"resp-{self._next()}"
        if not stream:
            return Reply(json_body=_response(parts, finish, usage, version, response_id))
        events: list[tuple[str | None, Any]] = []
        size = spec.get("chunk_size") or 5
        pieces: list[dict[str, Any]] = []
        for part in parts:
            if "text" in part and not part.get("thought"):
                pieces += [{"text": t} for t in chunks(part["text"], size) if t]
            else:
                pieces.append(part)
        batches = [[piece] for piece in pieces] or [[]]
        for number, batch in enumerate(batches):
            last = number == len(batches) - 1
            finished = finish if last and not spec.get("no_finish") else None
            partial = usage if last else _partial_usage(usage)
            events.append((None, _response(batch, finished, partial, version, response_id)))
            if number == 0 and spec.get("stream_error"):
                status = int(spec["stream_error"])
                events.append((None, error_body(status, f"error {status} mid-stream")))
                return Reply(sse_events=events)
        return Reply(sse_events=events)

    def _parts(self, spec: dict[str, Any], model: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if spec.get("thought"):
            parts.append({"text": spec["thought"], "thought": True})
        if spec.get("text"):
            parts.append({"text": spec["text"]})
        for number, call in enumerate(spec.get("tool_calls") or []):
            function_call: dict[str, Any] = {
                "name": call["name"],
                "args": call.get("arguments") or {},
            }
            if call.get("id"):
                function_call["id"] = call["id"]
            part: dict[str, Any] = {"functionCall": function_call}
            signature = call.get("signature")
            if signature is None and number == 0 and self._signs(model):
                signature = f"c2lnbmF0dXJl{self._next():04d}"  # base64 of "signature" + n
            if signature:
                part["thoughtSignature"] = signature
                with self.lock:
                    self.issued_signatures.add(signature)
            parts.append(part)
        return parts

    def _usage(self, spec: dict[str, Any], body: Any, parts: list[Any]) -> dict[str, Any]:
        prompt = max(1, len(json.dumps((body or {}).get("contents", []))) // 4)
        out = max(1, len(json.dumps(parts)) // 4)
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": out,
            "totalTokenCount": prompt + out,
        }
        usage.update(spec.get("usage") or {})
        return usage


def _partial_usage(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "promptTokenCount": usage["promptTokenCount"],
        "totalTokenCount": usage["promptTokenCount"],
    }


def _response(
    parts: list[dict[str, Any]],
    finish: str | None,
    usage: dict[str, Any],
    model: str,
    response_id: str,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    }


def _model_info(name: str) -> dict[str, Any]:
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


def _error_reply(spec: dict[str, Any]) -> Reply:
    status = int(spec["error"])
    message = spec.get("message") or {
        429: "Resource has been exhausted (e.g. check quota).",
        500: "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
        503: "The model is overloaded. Please try again later.",
    }.get(status, f"error {status}")
    details = []
    if spec.get("retry_delay") is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": spec["retry_delay"]}
        )
    headers = {}
    if spec.get("retry_after") is not None:
        headers["retry-after"] = str(spec["retry_after"])
    return Reply.error(status, error_body(status, message, details), **headers)
