"""A local HTTP server whose routes each test sets, and a tool-context helper."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from allos_core.permissions import PermissionRules
from allos_core.tools import ToolContext

Route = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """Serves ``routes[path](handler)``; records each request's path, method, headers, body."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                server.requests.append(
                    {
                        "path": self.path,
                        "method": self.command,
                        "headers": dict(self.headers),
                        "body": body,
                    }  # fmt: skip
                )
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def send(handler: BaseHTTPRequestHandler, body: bytes | str, *, status: int = 200,
         content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None) -> None:  # fmt: skip
    data = body.encode() if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.thread.start()
    try:
        yield local
    finally:
        local.release.set()
        local.httpd.shutdown()
        local.httpd.server_close()


def context_with(tmp_path: Any, allow: list[str] = (), web: dict[str, Any] | None = None) -> ToolContext:  # fmt: skip
    """A tool context whose user rules are ``allow`` and whose ``[web]`` settings are ``web``."""
    rules = PermissionRules.from_lists(allow=list(allow))

    def rule_allows(tool: str, subject: str) -> str | None:
        answer = rules.decide_one(tool, subject)
        return (
            answer.reason.removeprefix("rule ") if answer and answer.decision == "allow" else None
        )

    return ToolContext(workspace=tmp_path, rule_allows=rule_allows, settings={"web": web or {}})


@pytest.fixture
def make_context(tmp_path: Any) -> Callable[..., ToolContext]:
    """``make_context(allow=[...], web={...})``: see :func:`context_with`."""
    return lambda allow=(), web=None: context_with(tmp_path, list(allow), web)


@pytest.fixture(name="send")
def send_fixture() -> Callable[..., None]:
    return send
