"""The event loop behind an Agent's synchronous API, kept for the Agent's life.

``Agent.run()`` used to call ``asyncio.run`` each time: a new event loop per run, so every run
built a new SDK client (a new SSL context and connection), and the client dropped with the old
loop printed ``Task exception was never retrieved ... Event loop is closed`` on the next run.
:class:`SyncLoop` keeps one loop (``asyncio.Runner`` on Python 3.11+) in the caller's thread and
runs each call to completion on it, so clients and their connections live as long as the Agent.
Between calls the loop is idle; nothing runs in the background. Ctrl-C works as with
``asyncio.run``: the running task is cancelled, then ``KeyboardInterrupt`` is raised.

Its default executor (used by ``asyncio.to_thread`` for sync ``@tool`` functions) is a
:class:`DaemonThreadPool`: threads are reused, and a tool blocked when the user presses Ctrl-C is
abandoned rather than waited for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.providers import Provider

__all__ = [
    "DaemonThreadPool",
    "SyncLoop",
    "cancel_requested",
    "close_providers",
    "close_sync_loop",
    "refuse_inside_loop",
    "run_sync",
]

T = TypeVar("T")

#: seconds an idle worker thread waits for another job before it ends
IDLE_SECONDS = 60.0


class DaemonThreadPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool of daemon threads that never waits for its jobs.

    Idle workers take the next job; when none is idle a new thread starts, so a tool stuck in a
    system call never blocks the next one. ``shutdown`` returns at once: a tool blocked when the
    user pressed Ctrl-C must not keep the run (or the process's exit) waiting. (asyncio accepts
    only ThreadPoolExecutor instances as default executors, hence the base class; its own
    machinery is unused.)
    """

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        super().__init__(max_workers=1)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for a job that no submitted job has claimed yet
        self._idle_seconds = idle_seconds
        #: threads started so far (for tests and benchmarks)
        self.threads_started = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((future, fn, args, kwargs))
        with self._lock:
            if self._idle:
                self._idle -= 1  # an idle worker will take it
                return future
            self.threads_started += 1
        threading.Thread(target=self._work, name="allos-tool", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            try:
                future, fn, args, kwargs = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # still unclaimed: this worker ends
                        self._idle -= 1
                        return
                continue  # a job was claimed for this worker just now: take it
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # never wait for abandoned tools


class SyncLoop:
    """One event loop, reused by every synchronous call of its owner, until :meth:`close`."""

    def __init__(self) -> None:
        self.executor = DaemonThreadPool()
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop (made on first use)."""
        if self._loop is None:
            if self.closed:
                raise RuntimeError("this SyncLoop is closed")
            if sys.version_info >= (3, 11):
                self._runner = asyncio.Runner()
                self._loop = self._runner.get_loop()
            else:  # pragma: no cover - Python 3.10
                self._loop = asyncio.new_event_loop()
            self._loop.set_default_executor(self.executor)
        return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` to the end on the loop (like ``asyncio.run``, without closing it)."""
        loop = self.loop
        if self._runner is not None:
            return self._runner.run(coroutine)  # type: ignore[no-any-return,unused-ignore]
        task = loop.create_task(coroutine)  # pragma: no cover - Python 3.10
        try:  # pragma: no cover
            return loop.run_until_complete(task)
        finally:  # pragma: no cover
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):  # the first error is the one raised
                    loop.run_until_complete(task)

    def close(self) -> None:
        """Finish async generators and close the loop (a closed SyncLoop cannot run again)."""
        if self.closed:
            return
        self.closed = True
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._runner is not None:
            self._runner.close()
            return
        try:  # pragma: no cover - Python 3.10
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:  # pragma: no cover
            loop.close()

    def abandon(self) -> None:
        """Close the loop without running it (when called from inside another running loop)."""
        if self.closed:
            return
        self.closed = True
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_running():
            loop.close()


async def close_providers(providers: list[Provider]) -> None:
    """Close each provider's client; a failure to close is logged, never raised."""
    for provider in providers:
        try:
            await provider.aclose()
        except Exception:
            import logging

            logging.getLogger("allos.agent").debug(
                "closing %s failed", provider.name, exc_info=True
            )


def close_sync_loop(sync: SyncLoop, providers: list[Provider]) -> None:
    """Close ``providers`` on the loop their clients were made on, then the loop itself.

    The finaliser of an agent that used ``Agent.run``: it must not refer to the agent. From
    inside another running loop (an agent collected in async code) nothing can run on ``sync``:
    the clients are abandoned instead.
    """
    from allos_core.clients import LoopBoundClient

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if not sync.closed:
            sync.run(close_providers(providers))
            sync.close()
        return
    for provider in providers:
        for slot in vars(provider).values():
            if isinstance(slot, LoopBoundClient):
                slot.abandon()
    sync.abandon()


def run_sync(coroutine: Awaitable[T]) -> T:
    """``asyncio.run`` with a :class:`DaemonThreadPool` as the default executor (a one-off run
    that must not wait for a tool blocked when the user presses Ctrl-C)."""

    async def main() -> T:
        asyncio.get_running_loop().set_default_executor(DaemonThreadPool())
        return await coroutine

    return asyncio.run(main())


def refuse_inside_loop(method: str, instead: str) -> None:
    """Raise when ``Agent.<method>()`` (a synchronous call) runs inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    from allos_core.errors import AllosError

    raise AllosError(
        f"Agent.{method}() cannot be called from inside a running event loop",
        hint=f"use {instead} in async code",
    )


def cancel_requested() -> bool:
    """Whether the current task itself is being cancelled (always assumed before Python 3.11)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return True if cancelling is None else cancelling() > 0
