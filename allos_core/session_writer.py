"""Write-behind for the session saved after every turn.

The agent saves its session after every tool turn. Encoding the conversation is cheap (each
message's JSON is cached), but the atomic write waits for the disk twice (fsync of the file and
of its folder): 10 ms or more a turn on a busy disk, longer than a fast turn itself.
:class:`SessionWriter` takes the snapshot on the caller's thread, so the file gets exactly the
conversation of that moment, and writes it on a worker thread while the next model request goes
out. At most one write is in flight: a turn that ends while the disk is still busy is not
waited for; it is written with the next turn's save (the file lags the conversation by at most
the write in flight). The final save of a run waits for the write in flight, then writes
everything; an error of a per-turn write is raised by the next save.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

from allos_core.sync_loop import DaemonThreadPool

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from allos_core.sessions import Session

__all__ = ["SessionWriter"]

_pool: DaemonThreadPool | None = None


def _writer_pool() -> DaemonThreadPool:
    global _pool
    if _pool is None:
        _pool = DaemonThreadPool()
    return _pool


class SessionWriter:
    """Saves one session in the background, one write at a time."""

    def __init__(self) -> None:
        self._pending: concurrent.futures.Future[Path] | None = None

    def save_behind(self, session: Session) -> bool:
        """Snapshot ``session`` now and write it on a worker thread, unless a write is in flight.

        Returns whether a write was started. Raises the
        :class:`~allos_core.errors.SessionError` of the previous write, if it failed, or of
        this snapshot (content that is not JSON).
        """
        pending = self._pending
        if pending is not None and not pending.done():
            return False  # the disk is busy: this turn is written with the next save
        self.wait()
        data = session.snapshot()
        self._pending = _writer_pool().submit(session.write, data)
        return True

    def wait(self) -> None:
        """Wait for the write in flight, if any; raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()
