"""Write-behind for the session saved after every turn.

The agent saves its session after every tool turn. Encoding the conversation is cheap (each
message's JSON is cached), but the atomic write waits for the disk twice (fsync of the file and
of its folder): 10 ms or more a turn on a busy disk, longer than a fast turn itself.
:class:`SessionWriter` takes the snapshot on the caller's thread, so the file gets exactly the
conversation of that moment, and writes it on a worker thread while the next model request goes
out. At most one write is in flight, and per-turn writes start at most every
:data:`MIN_INTERVAL` seconds: a turn that ends while the disk is busy, or right after the last
write (a fast tool loop), is marked *dirty* and written by the next save, or by
:meth:`SessionWriter.flush_dirty` once the interval has passed (the agent schedules it), so the
file lags the conversation by a fraction of a second at most. The final save of a run waits for
the write in flight, then writes everything; an error of a per-turn write is raised by the next
save.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

from allos_core.sync_loop import DaemonThreadPool

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from allos_core.sessions import Session

__all__ = ["MIN_INTERVAL", "SessionWriter"]

#: seconds between the starts of two per-turn writes (turns of real models are slower)
MIN_INTERVAL = 0.2

_pool: DaemonThreadPool | None = None


def _writer_pool() -> DaemonThreadPool:
    global _pool
    if _pool is None:
        _pool = DaemonThreadPool()
    return _pool


class SessionWriter:
    """Saves one session in the background, one write at a time."""

    def __init__(self, min_interval: float = MIN_INTERVAL) -> None:
        self._pending: concurrent.futures.Future[Path] | None = None
        self.min_interval = min_interval
        self._started = float("-inf")
        #: a turn ended that no write has taken yet
        self.dirty = False

    def save_behind(self, session: Session) -> bool:
        """Snapshot ``session`` now and write it on a worker thread, unless it is too soon.

        Returns whether a write was started (else the session is marked :attr:`dirty`). Raises
        the :class:`~allos_core.errors.SessionError` of the previous write, if it failed, or of
        this snapshot (content that is not JSON).
        """
        import time

        now = time.monotonic()
        pending = self._pending
        busy = pending is not None and not pending.done()
        if busy or now - self._started < self.min_interval:
            self.dirty = True
            return False
        self.wait()
        data = session.snapshot()
        self._pending = _writer_pool().submit(session.write, data)
        self._started, self.dirty = now, False
        return True

    def seconds_to_next(self) -> float:
        """How long until a per-turn write may start again."""
        import time

        return max(self.min_interval - (time.monotonic() - self._started), 0.0)

    def wait(self) -> None:
        """Wait for the write in flight, if any; raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def forget(self) -> None:
        """The caller saved everything itself: nothing is dirty any more."""
        self.dirty = False
