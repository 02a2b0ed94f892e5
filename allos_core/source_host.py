"""A background event loop for tool sources that outlive one run.

``Agent.run`` gives each run an event loop of its own, and a source's connection (an MCP
client, say) belongs to the loop it was opened on. A source kept running between runs
(``Agent(keep_tool_sources=True)``, as ``allos chat`` does) therefore lives on this loop, in one
daemon thread per process; the runner and the listed tools hand their work to it with
:func:`on_host`. Sources still running when the interpreter exits are stopped then.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: seconds the interpreter waits at exit for kept sources to stop
EXIT_STOP_TIMEOUT = 15.0

logger = logging.getLogger("allos.tool_sources")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_at_exit: weakref.WeakSet[Any] = weakref.WeakSet()


def host_loop() -> asyncio.AbstractEventLoop:
    """The host loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="allos-sources", daemon=True)
            thread.start()
            _loop = loop
            atexit.register(_stop_all)
        return _loop


async def on_host(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the host loop and await its result from the current loop.

    Cancelling the awaiting task cancels the coroutine on the host.
    """
    future = asyncio.run_coroutine_threadsafe(coroutine, host_loop())
    return await asyncio.wrap_future(future)


def run_on_host(coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coroutine`` on the host loop and wait for it (from synchronous code)."""
    return asyncio.run_coroutine_threadsafe(coroutine, host_loop()).result(timeout)


def stop_at_exit(owner: Any, stop: Callable[[], Awaitable[None]]) -> None:
    """Have ``stop()`` run on the host loop when the interpreter exits, unless ``owner`` (held
    weakly) is gone by then."""
    owner._allos_stop_at_exit = stop
    _at_exit.add(owner)


def _stop_all() -> None:
    loop = _loop
    if loop is None or loop.is_closed():
        return
    for owner in list(_at_exit):
        stop = getattr(owner, "_allos_stop_at_exit", None)
        if stop is None:
            continue
        try:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(EXIT_STOP_TIMEOUT)
        except Exception:
            logger.warning("stopping tool sources at exit failed", exc_info=True)
