"""Saving an agent's session: after every turn (written behind the next request) and at the end.

The file-change log (:mod:`allos_core.checkpoints`) is kept in the session's metadata, so
``undo`` works after a resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from allos_core import events as ev
from allos_core.errors import SessionError
from allos_core.session_writer import SessionWriter

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.run_state import RunState
    from allos_core.sessions import Session

__all__ = ["SessionSaver"]

logger = logging.getLogger("allos.agent")


class SessionSaver:
    """Saves ``agent.session`` (read at save time; nothing happens without one)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        #: writes the per-turn saves on a worker thread (see session_writer)
        self.writer = SessionWriter()
        self._timer_set = False

    def save_behind(self, state: RunState) -> None:
        """Save after a turn: snapshot now, write while the next request goes out.

        A turn right after the last write is written a moment later (see session_writer), by a
        timer that saves only while the conversation is consistent (no tool call running).
        """
        session = self.agent.session
        if session is None or session.path is None:
            return
        self._keep_checkpoints(session)
        writer = self.writer
        if writer.save_behind(session):
            self.agent._emit(state, ev.SessionSaved(str(session.path)))
        elif not self._timer_set:
            self._timer_set = True
            asyncio.get_running_loop().call_later(
                writer.seconds_to_next() + 0.01, self._save_if_dirty, state
            )

    def save(self, state: RunState | None) -> None:
        """Write the whole session now (after any save still being written)."""
        session = self.agent.session
        with contextlib.suppress(SessionError):  # this save rewrites all; its own error counts
            self.writer.wait()
        self.writer.forget()
        if session is None or session.path is None:
            return
        self._keep_checkpoints(session)
        path = session.save()
        self.agent._emit(state, ev.SessionSaved(str(path)))

    def _keep_checkpoints(self, session: Session) -> None:
        """Put the file-change log in the session (only once there is one)."""
        checkpoints = self.agent.checkpoints
        if checkpoints.checkpoints or "checkpoints" in session.metadata:
            session.metadata["checkpoints"] = checkpoints.to_data()

    def _save_if_dirty(self, state: RunState) -> None:
        self._timer_set = False
        if not self.writer.dirty or state.finished:
            return
        if state.pending is not None:  # tools are running: their turn's save will take it
            return
        try:
            self.save_behind(state)
        except SessionError:  # raised again by the next save, which stops the run
            logger.debug("a deferred session save failed", exc_info=True)
