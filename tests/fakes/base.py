"""The common part of the fake provider servers: a threaded HTTP server with a response queue.

A subclass implements ``handle(request) -> Reply``. Tests queue replies with ``server.queue(...)``
(or let the subclass make a default answer), and read ``server.requests`` afterwards.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or raw text when not JSON
    client_port: int | None = None  # the client's TCP port: one port for a reused connection


@dataclass
class Reply:
    """One HTTP answer: JSON, server-sent events or NDJSON lines, with a status and headers."""

    status: int = 200
    json_body: Any = None
    sse_events: list[tuple[str | None, Any]] | None = None  # (event name or None, data)
    ndjson_lines: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None

    @classmethod
    def error(cls, status: int, body: Any, **headers: str) -> Reply:
        return cls(status=status, json_body=body, headers=dict(headers))


class FakeServer:
    """Start with ``with Subclass() as server:``; ``server.base_url`` is http://127.0.0.1:PORT."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.replies: deque[Reply | Any] = deque()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # send small replies at once (Nagle + delayed ACK would add ~40 ms per request)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                request = RecordedRequest(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.client_address[1],
                )
                with owner.lock:
                    owner.requests.append(request)
                reply = owner.handle(request)
                # the client may have given up already (timeout tests)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    owner._write(self, reply)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # poll for shutdown often, so stop() takes milliseconds, not the default half second
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------
    def queue(self, *replies: Reply | Any) -> None:
        """Queue replies (or subclass-specific specs) answered in order."""
        with self.lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply | Any | None:
        with self.lock:
            return self.replies.popleft() if self.replies else None

    def handle(self, request: RecordedRequest) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- writing ---------------------------------------------------------------------------------
    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        headers = dict(reply.headers)
        if reply.sse_events is not None:
            payload = b"".join(_sse_frame(name, data) for name, data in reply.sse_events)
            headers.setdefault("Content-Type", "text/event-stream")
        elif reply.ndjson_lines is not None:
            payload = b"".join(json.dumps(line).encode() + b"\n" for line in reply.ndjson_lines)
            headers.setdefault("Content-Type", "application/x-ndjson")
        elif reply.raw_body is not None:
            payload = reply.raw_body
        else:
            payload = json.dumps(reply.json_body if reply.json_body is not None else {}).encode()
            headers.setdefault("Content-Type", "application/json")
        handler.send_response(reply.status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        handler.wfile.flush()


def _sse_frame(name: str | None, data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


def chunks(text: str, size: int) -> Iterable[str]:
    """``text`` cut into pieces of ``size`` characters (to split streamed deltas)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
