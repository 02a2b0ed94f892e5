"""An agent's tool sources (MCP servers and the like): started when a run needs tools, stopped
when it ends (or kept between runs with ``keep_tool_sources``); their tools join the agent's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allos_core import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.run_state import RunState
    from allos_core.tool_sources import ToolSource, ToolSourceRunner

__all__ = ["AgentToolSources"]


class AgentToolSources:
    """Starts and stops ``agent.tool_sources`` and adds or removes their tools."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.runner: ToolSourceRunner | None = None

    async def start(self, state: RunState) -> None:
        """Start the sources for a run (a kept runner is reused) and add their tools."""
        agent = self.agent
        if not agent.tool_sources:
            return
        from allos_core.tool_sources import ToolSourceRunner

        def failed(source: ToolSource, error: str) -> None:
            agent._emit(state, ev.ToolSourceFailed(source.name, error))

        if self.runner is not None:  # kept from an earlier run
            self.runner.on_failure = failed
            return
        runner = self.runner = ToolSourceRunner(
            agent.tool_sources, on_failure=failed, hosted=agent.keep_tool_sources
        )
        try:
            agent._tools.update(await runner.start(taken=agent._tools))
        except BaseException:  # interrupted while starting: the next run starts afresh
            await self.stop(force=True)
            raise
        agent._schemas = None
        for status in runner.statuses:
            if status.state == "running":
                source = status.source.name
                agent._emit(state, ev.ToolSourceStarted(source, len(status.tools), status.seconds))

    async def stop(self, *, force: bool = False) -> None:
        """Stop the sources at the end of a run (unless kept, or ``force``)."""
        if self.agent.keep_tool_sources and not force:
            return
        runner = self._take_runner()
        if runner is not None:
            await runner.stop()

    def stop_kept(self) -> None:
        """Stop the sources kept running between runs, blocking (for ``Agent.close``)."""
        runner = self._take_runner()
        if runner is not None:
            runner.stop_blocking()

    async def astop_kept(self) -> None:
        """Stop the sources kept running between runs (for ``Agent.aclose``)."""
        runner = self._take_runner()
        if runner is not None:
            await runner.stop()

    def _take_runner(self) -> ToolSourceRunner | None:
        runner, self.runner = self.runner, None
        if runner is not None:
            agent = self.agent
            for status in runner.statuses:
                for name in status.tools:
                    agent._tools.pop(name, None)
            agent._schemas = None
        return runner
