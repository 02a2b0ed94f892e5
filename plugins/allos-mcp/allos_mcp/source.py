"""One MCP server as a :class:`~allos_core.tool_sources.ToolSource`, on the official ``mcp`` SDK.

The connection lives in a task of its own (the SDK's client is an anyio context: it must be
entered and left in one task), started by :meth:`McpServerSource.start` and ended by
:meth:`McpServerSource.stop`. A stdio server's stderr goes to a log file (see :func:`log_dir`),
never to the terminal; the last line of it is quoted when the server fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from allos_core.errors import ConfigError, ToolSourceError
from allos_core.tool_sources import ToolSource, safe_name
from allos_core.tools import Tool
from allos_mcp.config import DEFAULT_CALL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, ServerConfig

#: environment variable naming the folder for server logs (default: the user log folder)
ENV_LOG_DIR = "ALLOS_MCP_LOG_DIR"
#: seconds a server gets to exit cleanly when stopped before it is cancelled (the SDK then
#: terminates and kills its process tree)
STOP_TIMEOUT = 8.0
_LIST_PAGES = 100


class McpServerError(ToolSourceError):
    """An MCP server failed to start, or stopped answering."""


def log_dir() -> Path:
    """Where server stderr logs go: ``$ALLOS_MCP_LOG_DIR``, else ``<user log dir>/mcp``."""
    override = os.environ.get(ENV_LOG_DIR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("allos", appauthor=False)) / "mcp"


def server_prefix(name: str) -> str:
    """``mcp__NAME__`` with NAME made safe for tool names (see ``allos_core.tool_sources``)."""
    return f"mcp__{safe_name(name, 33)}__"


class McpServerSource(ToolSource):
    """The tools of one configured MCP server (stdio or streamable HTTP)."""

    def __init__(self, config: ServerConfig, workspace: str | Path | None = None) -> None:
        self.config = config
        self.name = config.name
        self.prefix = server_prefix(config.name)
        self.kind = f"mcp {config.transport}"
        self.start_timeout = config.startup_timeout or DEFAULT_STARTUP_TIMEOUT
        self.workspace = Path(workspace) if workspace is not None else Path.cwd()
        self.failure: str | None = None
        self.log_path: Path | None = None
        self.server_info: Any = None
        self.definitions: list[Any] = []
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[list[Any]] | None = None
        self._stopping: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> list[Tool]:
        """Connect, list the server's tools, and keep the connection open until :meth:`stop`."""
        from allos_mcp.tools import McpTool

        if self.config.problem:
            raise ConfigError(self.config.problem)
        config = self.config.expanded()
        self.failure = None
        self._ready = asyncio.get_running_loop().create_future()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._serve(config), name=f"mcp server {self.name}")
        self.definitions = await self._ready
        return [McpTool(definition, self) for definition in self.definitions]

    async def stop(self) -> None:
        """End the connection (a stdio server's process tree with it); never hangs."""
        task, self._task = self._task, None
        if task is None:
            return
        assert self._stopping is not None and self._ready is not None
        self._stopping.set()
        if not self._ready.done() or self._ready.cancelled():
            task.cancel()  # still connecting (a hanging server): nothing to close cleanly
        await asyncio.wait({task}, timeout=STOP_TIMEOUT)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_TIMEOUT)

    async def _serve(self, config: ServerConfig) -> None:
        assert self._ready is not None and self._stopping is not None
        ready = self._ready
        try:
            async with contextlib.AsyncExitStack() as stack:
                client = await self._connect(config, stack)
                definitions = await _list_tools(client)
                self.server_info = getattr(client, "server_info", None)
                self._client = client
                if not ready.done():
                    ready.set_result(definitions)
                await self._stopping.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = self._explain(exc)
            if not ready.done():
                ready.set_exception(McpServerError(reason, hint=self._hint()))
            elif not self._stopping.is_set():
                self.failure = reason
        finally:
            self._client = None
            if not ready.done():
                ready.cancel()

    async def _connect(self, config: ServerConfig, stack: contextlib.AsyncExitStack) -> Any:
        from mcp import Client, Implementation

        from allos_mcp import __version__

        info = Implementation(name="allos", version=__version__)
        if config.transport == "http":
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=config.headers, timeout=httpx2.Timeout(30.0, read=300.0))
            )
            assert config.url is not None
            transport: Any = streamable_http_client(config.url, http_client=http)
        else:
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            assert config.command is not None
            params = StdioServerParameters(
                command=config.command,
                args=config.args,
                env=config.env or None,
                cwd=self.workspace / Path(config.cwd).expanduser()
                if config.cwd
                else self.workspace,
            )
            log = stack.enter_context(self._open_log(config))
            transport = stdio_client(params, errlog=log)
        return await stack.enter_async_context(Client(transport, client_info=info))

    def _open_log(self, config: ServerConfig) -> Any:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / f"{safe_name(self.name, 60)}.log"
        log = open(self.log_path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"--- {stamp} allos starts: {config.target}\n")
        log.flush()
        return log

    # -- calls -----------------------------------------------------------------------------------
    async def call(self, tool_name: str, arguments: dict[str, Any]) -> Any:
        """``tools/call`` on this server; a lost connection marks the source as failed."""
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        client = self._client
        if client is None:
            raise McpServerError(self.failure or f"the MCP server {self.name} is not running")
        timeout = self.config.call_timeout or DEFAULT_CALL_TIMEOUT
        try:
            return await client.call_tool(tool_name, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise McpServerError(
                    f"the MCP server {self.name} did not answer within {timeout:g}s "
                    "(call_timeout); the call was given up"
                ) from None
            if exc.code == CONNECTION_CLOSED:
                self.failure = self._explain(exc)
                raise McpServerError(self.failure) from None
            raise
        except (OSError, EOFError) as exc:
            self.failure = self._explain(exc)
            raise McpServerError(self.failure) from None
        except Exception as exc:
            if type(exc).__module__.startswith("anyio"):  # a closed or broken stream
                self.failure = self._explain(exc)
                raise McpServerError(self.failure) from None
            raise

    # -- messages --------------------------------------------------------------------------------
    def _explain(self, exc: BaseException) -> str:
        """One line: what failed, the server's last stderr line, and where the log is."""
        inner = getattr(exc, "exceptions", None)
        while isinstance(inner, (list, tuple)) and inner:  # anyio task-group wrappers
            exc = inner[0]
            inner = getattr(exc, "exceptions", None)
        code = getattr(exc, "code", None)
        from mcp_types import CONNECTION_CLOSED

        if isinstance(exc, FileNotFoundError) and self.config.transport == "stdio":
            what = f"cannot start {self.config.command!r}: command not found"
        elif code == CONNECTION_CLOSED:
            what = "the server closed the connection (it exited?)"
        else:
            what = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        last = self._last_log_line()
        if last:
            what += f"; its last words: {last}"
        if self.log_path is not None:
            what += f" (log: {self.log_path})"
        return what

    def _hint(self) -> str:
        if self.config.transport == "http":
            return f"check that {self.config.url} is up and the headers are right"
        return f"run `{self.config.target}` by hand to see why, or read its log"

    def _last_log_line(self) -> str:
        path = self.log_path
        if path is None:
            return ""
        try:
            with open(path, "rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(file.tell() - 4096, 0))
                tail = file.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        return "" if last.startswith("--- ") else last[:200]


async def _list_tools(client: Any) -> list[Any]:
    definitions: list[Any] = []
    cursor = None
    for _ in range(_LIST_PAGES):  # a paginator that never ends must not hang the start
        page = await client.list_tools(cursor=cursor)
        definitions.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return definitions
