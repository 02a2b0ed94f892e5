"""Where an agent's events go: the ``on_event`` callback, a run's sinks and ``allos_on_event``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from allos_core import events as ev
    from allos_core.agent import Agent
    from allos_core.run_state import RunState

__all__ = ["EventDispatch", "stream_events"]

logger = logging.getLogger("allos.agent")


class EventDispatch:
    """Delivers each event of one agent; a failing receiver is logged, never fatal."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        #: whether any plugin implements ``allos_on_event`` (looked up once per agent)
        self._observers: bool | None = None

    def emit(self, state: RunState | None, event: ev.Event) -> None:
        """Give ``event`` to ``agent.on_event``, the run's sinks and the plugins' observers."""
        agent = self.agent
        sinks = state.sinks if state is not None else ()
        for sink in (agent.on_event, *sinks):
            if sink is None:
                continue
            try:
                sink(event)
            except Exception:
                logger.warning("an event callback failed on %s", event.type, exc_info=True)
        if self._has_observers():
            try:
                agent.plugin_manager.hook.allos_on_event(event=event, context=agent.tool_context)
            except Exception:
                logger.warning("a plugin's allos_on_event failed on %s", event.type, exc_info=True)

    def _has_observers(self) -> bool:
        observers = self._observers
        if observers is None:
            try:
                hook = self.agent.plugin_manager.hook.allos_on_event
                observers = bool(hook.get_hookimpls())
            except Exception:
                observers = False
            self._observers = observers
        return observers


async def stream_events(
    start: Callable[[Callable[[ev.Event], None]], Awaitable[Any]],
) -> AsyncGenerator[ev.Event, None]:
    """Run ``start(sink)`` as a task and yield every event given to ``sink`` as it happens.

    The task's error is raised after the last event; leaving the loop early cancels the task.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()
    done = object()
    runner = asyncio.ensure_future(start(queue.put_nowait))
    runner.add_done_callback(lambda _task: queue.put_nowait(done))
    try:
        while True:
            item = await queue.get()
            if item is done:
                break
            yield item
        runner.result()
    finally:
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
