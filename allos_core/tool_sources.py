"""Tool sources: tools that exist only once something is started.

An MCP server's tools, tools read from an OpenAPI spec: a plugin offers them as a
:class:`ToolSource` (through the ``allos_tool_sources`` hook, or passed to
``Agent(tool_sources=[...])``). The agent runs them with a :class:`ToolSourceRunner`:

- every source starts when a run first needs its tools, all in parallel, each within its start-up
  timeout;
- a source that fails (or times out) is reported in one line (a
  :class:`~allos_core.events.ToolSourceFailed` event) and the run goes on without it;
- its tools are listed under the source's prefix (``mcp__time__`` + ``get_current_time``), with
  names valid for every provider (``^[a-zA-Z0-9_-]{1,64}$``; longer or odd names are shortened
  deterministically with a hash);
- a call to a source that stopped or died gets an error result, never an exception;
- every source is stopped when the run ends, however it ends (answer, error, Ctrl-C).

Nothing here knows MCP: a third-party plugin implements :class:`ToolSource` and the hook.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from allos_core.source_tool import (
    MAX_TOOL_NAME_LENGTH,
    VALID_NAME,
    SourceTool,
    safe_name,
    source_tool_name,
)
from allos_core.tools import Tool

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.plugins import PluginManager

__all__ = [
    "DEFAULT_START_TIMEOUT",
    "MAX_TOOL_NAME_LENGTH",
    "SourceStatus",
    "SourceSummary",
    "SourceTool",
    "ToolSource",
    "ToolSourceRunner",
    "collect_tool_sources",
    "configured_tool_sources",
    "list_source_tools",
    "safe_name",
    "source_summaries",
    "source_tool_name",
]

logger = logging.getLogger("allos.tool_sources")

#: seconds a source may take to start when it does not say (``ToolSource.start_timeout``)
DEFAULT_START_TIMEOUT = 30.0


class ToolSource(ABC):
    """A configured source of tools with a start/stop lifecycle.

    ``name`` identifies the source to users (``time``); ``prefix`` starts the name of each of its
    tools (``mcp__time__``: letters, digits, ``_`` and ``-``, at most 40 characters). ``kind`` is a
    short label for listings (``mcp stdio``). ``start_timeout`` overrides
    :data:`DEFAULT_START_TIMEOUT` for this source.

    :meth:`start` connects (starts a process, reads a spec) and returns the tools, named as the
    source knows them; the runner renames them under the prefix. :meth:`stop` releases everything
    :meth:`start` acquired; it is called once per start, also after a failed or timed-out start
    (when :meth:`start` was cancelled half-way), so it must cope with any state. A source that
    stops working after a successful start sets :attr:`failure` to one line saying why; calls to
    its tools then get an error result.

    Both methods run on the agent's event loop, possibly in different tasks: a source built on
    structured concurrency (anyio task groups) keeps its connection in a task of its own.
    """

    name: str
    prefix: str
    kind: str = "tools"
    start_timeout: float | None = None
    #: why the source stopped working after it started (None while it works)
    failure: str | None = None

    @abstractmethod
    async def start(self) -> list[Tool]:
        """Start the source and return its tools. Raise (an AllosError, ideally) on failure."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the source and release what it holds (processes, connections). Never hangs."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _check_prefix(source: ToolSource) -> str:
    prefix = getattr(source, "prefix", "")
    if not isinstance(prefix, str) or not prefix or len(prefix) > 40:
        raise ValueError(f"its prefix {prefix!r} must be 1 to 40 characters")
    if not VALID_NAME.match(prefix):
        raise ValueError(f"its prefix {prefix!r} may hold only letters, digits, '_' and '-'")
    return prefix


SourceState = Literal["idle", "running", "failed", "stopped"]


@dataclass
class SourceStatus:
    """What a runner knows about one source (for ``allos mcp list`` and embedders)."""

    source: ToolSource
    state: SourceState = "idle"
    error: str | None = None
    tools: list[str] = field(default_factory=list)
    seconds: float = 0.0


FailureCallback = Callable[[ToolSource, str], None]


class ToolSourceRunner:
    """Starts, tracks and stops a set of sources for one run (see the module docstring).

    :meth:`start` starts the idle sources, :meth:`stop` stops all of them; the statuses stay
    readable afterwards (for listings). With ``hosted=True`` the sources live on a background
    loop (:mod:`allos_core.source_host`), so they can serve several runs, each on its own loop,
    until :meth:`stop` (or the interpreter's exit).

    ``on_failure(source, one_line)`` is called once for each source that fails to start or dies
    afterwards, in the caller's thread. ``start_timeout`` is the default for sources that set
    none.
    """

    def __init__(
        self,
        sources: Iterable[ToolSource],
        *,
        on_failure: FailureCallback | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        hosted: bool = False,
    ) -> None:
        self.statuses = [SourceStatus(source) for source in sources]
        self.on_failure = on_failure
        self.start_timeout = start_timeout
        self.hosted = hosted
        self._started: list[ToolSource] = []
        self._reports: list[tuple[ToolSource, str]] = []

    @property
    def sources(self) -> list[ToolSource]:
        return [status.source for status in self.statuses]

    def status(self, source: ToolSource) -> SourceStatus:
        for status in self.statuses:
            if status.source is source:
                return status
        raise KeyError(source)

    async def start(self, taken: Iterable[str] = ()) -> dict[str, Tool]:
        """Start every idle source in parallel; return the tools by listed name.

        Names in ``taken`` (the agent's own tools) are never shadowed: such a tool is skipped.
        Never raises for a failing source (see ``on_failure``).
        """
        if self.hosted:
            from allos_core.source_host import on_host, stop_at_exit

            stop_at_exit(self, self._stop)
            tools = await on_host(self._start(taken))
        else:
            tools = await self._start(taken)
        self._report()
        return tools

    async def _start(self, taken: Iterable[str]) -> dict[str, Tool]:
        import asyncio

        pending = [s for s in self.statuses if s.state == "idle"]
        if not pending:
            return {}
        outcomes = await asyncio.gather(*(self._start_one(s) for s in pending))
        tools: dict[str, Tool] = {}
        used = set(taken)
        for status, found in zip(pending, outcomes, strict=True):
            for tool in found:
                if tool.name in used:
                    logger.warning("tool source %s: %s is taken, skipped", status.source, tool.name)
                    continue
                used.add(tool.name)
                tools[tool.name] = tool
                status.tools.append(tool.name)
        return tools

    async def _start_one(self, status: SourceStatus) -> list[Tool]:
        import asyncio

        source = status.source
        started = time.perf_counter()
        timeout = source.start_timeout or self.start_timeout
        self._started.append(source)
        try:
            prefix = _check_prefix(source)
            raw = await asyncio.wait_for(source.start(), timeout)
            tools = [self._listed(source, prefix, tool) for tool in raw]
        except asyncio.TimeoutError:
            self._fail(status, f"did not start within {timeout:g}s")
            return []
        except Exception as exc:
            self._fail(status, _one_line(exc))
            return []
        status.state = "running"
        status.seconds = time.perf_counter() - started
        return tools

    def _listed(self, source: ToolSource, prefix: str, tool: Tool) -> Tool:
        if not isinstance(tool, Tool):
            raise TypeError(f"start() returned {type(tool).__name__}, not a Tool")
        return SourceTool(tool, source_tool_name(prefix, str(tool.name)), source, self)

    def _fail(self, status: SourceStatus, reason: str) -> None:
        if status.state == "failed":
            return
        status.state = "failed"
        status.error = reason
        self._reports.append((status.source, reason))

    def _report(self) -> None:
        reports, self._reports = self._reports, []
        for source, reason in reports:
            if self.on_failure is None:
                continue
            try:
                self.on_failure(source, reason)
            except Exception:
                logger.warning("the tool source failure callback failed", exc_info=True)

    def down_reason(self, source: ToolSource) -> str | None:
        """Why calls to ``source`` cannot run (stopped, failed, died), or None when it can."""
        status = self.status(source)
        if status.state == "running" and source.failure:
            self._fail(status, _one_line(source.failure))
            self._report()
        if status.state == "running":
            return None
        if status.state == "failed":
            return f"the tool source {source.name} failed: {status.error}"
        return f"the tool source {source.name} is {status.state}"

    async def stop(self) -> None:
        """Stop every source that was started (in parallel); never raises an ordinary error."""
        if self.hosted:
            from allos_core.source_host import on_host

            await on_host(self._stop())
        else:
            await self._stop()

    def stop_blocking(self, timeout: float | None = None) -> None:
        """:meth:`stop` from synchronous code (a hosted runner's sources, e.g. at the end of a
        chat); waits at most ``timeout`` seconds."""
        if self.hosted:
            from allos_core.source_host import run_on_host

            run_on_host(self._stop(), timeout)
        else:
            import asyncio

            asyncio.run(self._stop())

    async def _stop(self) -> None:
        import asyncio

        started, self._started = self._started, []
        for status in self.statuses:
            if status.source in started and status.state == "running":
                status.state = "stopped"
        if started:
            await asyncio.gather(*(_stop_quietly(s) for s in started))

    async def __aenter__(self) -> ToolSourceRunner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _stop_quietly(source: ToolSource) -> None:
    try:
        await source.stop()
    except Exception:
        logger.warning("stopping the tool source %s failed", source.name, exc_info=True)


def _one_line(value: object) -> str:
    if isinstance(value, BaseException):
        text = str(value).strip() or type(value).__name__
        inner = getattr(value, "exceptions", None)  # anyio wraps a task's error in a group
        if isinstance(inner, (list, tuple)) and inner:
            text = "; ".join(_one_line(e) for e in inner)
    else:
        text = str(value).strip()
    first = text.splitlines()[0] if text else "failed"
    # it may come from a hostile server: no escape sequences or control characters on a terminal
    from allos_core.terminal import neutralise

    return neutralise(first[:300])


@dataclass
class SourceSummary:
    """A source as the system prompt lists it before it starts (``name``: a tool-name pattern)."""

    name: str
    description: str


def source_summaries(sources: Iterable[ToolSource]) -> list[SourceSummary]:
    """One line per source for the system prompt: ``mcp__time__*: tools of time (mcp stdio)``.

    The prompt is written before the sources start (their tools are known only then), and stays
    the same from run to run.
    """
    return [
        SourceSummary(f"{source.prefix}*", f"the tools of {source.name} ({source.kind})")
        for source in sources
    ]


def list_source_tools(
    sources: Iterable[ToolSource], *, on_failure: FailureCallback | None = None
) -> tuple[dict[str, Tool], list[SourceStatus]]:
    """Start ``sources``, take their tools and statuses, stop them: for listings (synchronous).

    The tools can be inspected (names, descriptions, schemas) but not called afterwards.
    """
    import asyncio

    async def main() -> tuple[dict[str, Tool], list[SourceStatus]]:
        runner = ToolSourceRunner(sources, on_failure=on_failure)
        try:
            tools = await runner.start()
        finally:
            await runner.stop()
        return tools, runner.statuses

    return asyncio.run(main())


def configured_tool_sources(
    plugin_manager: PluginManager, workspace: str | Path | None = None
) -> list[ToolSource]:
    """The sources the plugins configure for ``workspace`` (default: the current folder), from
    the user's and the workspace's settings, as ``allos run`` would build them."""
    from allos_core.config import load_settings

    root = Path(workspace) if workspace is not None else Path.cwd()
    settings = load_settings(root)
    return collect_tool_sources(
        plugin_manager,
        settings.plugin_settings(),
        root,
        workspace_trusted=settings.workspace_trusted,
    )


def collect_tool_sources(
    plugin_manager: PluginManager,
    settings: Mapping[str, Any],
    workspace: str | Path,
    *,
    workspace_trusted: bool = False,
) -> list[ToolSource]:
    """Every plugin's ``allos_tool_sources`` answer, in plugin order.

    ``settings`` are the plugin settings (:attr:`ToolContext.settings`); ``workspace_trusted``
    whether configuration found in the workspace itself may start programs. A plugin whose hook
    raises is logged and skipped.
    """
    from allos_core.tools import frozen_settings

    frozen = frozen_settings(settings)
    root = Path(workspace).resolve()
    sources: list[ToolSource] = []
    for impl in plugin_manager.hook.allos_tool_sources.get_hookimpls():
        offered = {"settings": frozen, "workspace": root, "workspace_trusted": workspace_trusted}
        try:
            answer = impl.function(**{k: offered[k] for k in impl.argnames if k in offered})
            items = list(answer or [])
        except Exception:
            logger.warning("allos_tool_sources of %s failed", impl.plugin_name, exc_info=True)
            continue
        for item in items:
            if isinstance(item, ToolSource):
                sources.append(item)
            else:
                logger.warning("%s offered %r, not a ToolSource", impl.plugin_name, item)
    return sources
