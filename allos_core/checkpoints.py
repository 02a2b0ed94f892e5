"""Checkpoints: every file change the agent's tools make, turn by turn, so it can be undone.

Before a tool that may write runs (a tool that is not read-only and whose permission subject is a
path, such as ``write_file`` and ``edit_file``), the files it names are read; after it ran, what
changed is recorded as a :class:`FileChange` holding the previous content (or that the file did
not exist) and a hash of the new one. A :class:`Checkpoint` gathers one turn's changes (a turn is
one task given to :meth:`Agent.run`), and notes the commands that ran, whose effects cannot be
undone this way. The log lives in the session (``metadata["checkpoints"]``).

Files are read through the workspace resolver (``ToolContext.fs``). :mod:`allos_core.undo` puts
them back; :mod:`allos_core.git_commits` commits a turn's files (``--git``).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from allos_core.tools import PathOutsideWorkspaceError

#: files larger than this are recorded as changed but cannot be restored
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024
#: how many turns the log keeps (older ones are dropped from the session)
MAX_TURNS = 100


@dataclass
class FileChange:
    """One file a tool changed: its content before (``None``: it did not exist) and after."""

    path: str
    before: bytes | None
    #: sha256 of the content after the change; None when the tool deleted the file
    after_sha256: str | None
    #: False when the file was too large to keep its previous content
    restorable: bool = True

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "after_sha256": self.after_sha256,
            "restorable": self.restorable,
        }
        if self.before is None:
            data["before"] = None
        else:
            try:
                data["before"] = self.before.decode("utf-8")
            except UnicodeDecodeError:
                data["before"] = base64.b64encode(self.before).decode("ascii")
                data["encoding"] = "base64"
        return data

    @classmethod
    def from_data(cls, data: Any) -> FileChange | None:
        if not isinstance(data, dict) or not isinstance(data.get("path"), str):
            return None
        raw = data.get("before")
        before: bytes | None
        if raw is None:
            before = None
        elif not isinstance(raw, str):
            return None
        elif data.get("encoding") == "base64":
            try:
                before = base64.b64decode(raw, validate=True)
            except ValueError:
                return None
        else:
            before = raw.encode("utf-8")
        after = data.get("after_sha256")
        return cls(
            path=data["path"],
            before=before,
            after_sha256=after if isinstance(after, str) else None,
            restorable=data.get("restorable") is not False,
        )


@dataclass
class Checkpoint:
    """One turn: its task, the files it changed, the commands it ran."""

    turn: int
    task: str
    changes: list[FileChange] = field(default_factory=list)
    #: how many messages the conversation had before this turn's task (to drop the turn)
    message_count: int | None = None
    #: tool calls that may have changed things undo cannot see (shell commands, other tools)
    commands: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    def change(self, path: str) -> FileChange | None:
        return next((c for c in self.changes if c.path == path), None)

    def to_data(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "task": self.task,
            "at": self.at,
            "changes": [c.to_data() for c in self.changes],
            "commands": list(self.commands),
            "message_count": self.message_count,
        }

    @classmethod
    def from_data(cls, data: Any) -> Checkpoint | None:
        if not isinstance(data, dict) or not isinstance(data.get("turn"), int):
            return None
        changes = [FileChange.from_data(c) for c in data.get("changes") or []]
        commands = data.get("commands") or []
        return cls(
            turn=data["turn"],
            task=str(data.get("task") or ""),
            changes=[c for c in changes if c is not None],
            commands=[str(c) for c in commands] if isinstance(commands, list) else [],
            at=str(data.get("at") or ""),
            message_count=count if isinstance(count := data.get("message_count"), int) else None,
        )


@dataclass
class Snapshot:
    """The files a tool call may change, read before it runs."""

    before: dict[str, bytes | None]
    too_large: set[str]


class CheckpointLog:
    """The turns of one conversation and the file changes of each."""

    def __init__(self, checkpoints: Iterable[Checkpoint] = ()) -> None:
        self.checkpoints: list[Checkpoint] = list(checkpoints)

    @classmethod
    def from_data(cls, data: Any) -> CheckpointLog:
        """The log saved in a session; anything malformed is skipped, never trusted."""
        items = data if isinstance(data, list) else []
        return cls(c for c in map(Checkpoint.from_data, items) if c is not None)

    def to_data(self) -> list[dict[str, Any]]:
        return [c.to_data() for c in self.checkpoints[-MAX_TURNS:]]

    @property
    def current(self) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def begin_turn(self, task: str, message_count: int | None = None) -> Checkpoint:
        """Start recording a new turn (one task given to the agent)."""
        number = self.checkpoints[-1].turn + 1 if self.checkpoints else 1
        title = task.strip().splitlines()[0][:200] if task.strip() else ""
        checkpoint = Checkpoint(turn=number, task=title, message_count=message_count)
        self.checkpoints.append(checkpoint)
        return checkpoint

    def snapshot(self, context: Any, paths: Iterable[str]) -> Snapshot:
        """Read the files at ``paths`` (workspace-relative) before a tool may change them."""
        before: dict[str, bytes | None] = {}
        too_large: set[str] = set()
        for path in paths:
            try:
                relative = _relative(context, path)
            except (PathOutsideWorkspaceError, OSError, ValueError):
                continue
            if relative in before or relative in too_large:
                continue
            try:
                before[relative] = _read(context, relative)
            except _TooLarge:
                too_large.add(relative)
        return Snapshot(before, too_large)

    def record(self, context: Any, snapshot: Snapshot) -> list[FileChange]:
        """Compare the snapshotted files with the disk now; record and return what changed."""
        checkpoint = self.current or self.begin_turn("")
        changed: list[FileChange] = []
        for relative in [*snapshot.before, *snapshot.too_large]:
            try:
                after = _read(context, relative)
                after_hash = None if after is None else _sha256(after)
            except _TooLarge:
                after_hash = _sha256_file(context, relative)
            if relative in snapshot.before:
                previous = snapshot.before[relative]
                if (None if previous is None else _sha256(previous)) == after_hash:
                    continue
            existing = checkpoint.change(relative)
            if existing is not None:  # changed twice in one turn: keep the first "before"
                existing.after_sha256 = after_hash
                continue
            change = FileChange(
                path=relative,
                before=snapshot.before.get(relative),
                after_sha256=after_hash,
                restorable=relative not in snapshot.too_large,
            )
            checkpoint.changes.append(change)
            changed.append(change)
        return changed

    def note_command(self, description: str) -> None:
        """Note a call whose effects undo cannot see (a shell command, a non-file tool)."""
        checkpoint = self.current or self.begin_turn("")
        checkpoint.commands.append(description[:200])

    def last_turns(self, count: int) -> list[Checkpoint]:
        """The last ``count`` turns that changed files or ran commands, newest first."""
        active = [c for c in self.checkpoints if c.changes or c.commands]
        return list(reversed(active[-count:])) if count > 0 else []


# -- helpers -----------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


def _relative(context: Any, path: str) -> str:
    real = Path(context.resolve_path(path))
    return real.relative_to(context.workspace).as_posix()


def _read(context: Any, relative: str) -> bytes | None:
    """The content of the regular file ``relative``; None when there is none (or not a file).

    Opened beneath the workspace's descriptor (``context.fs``): a symlink swapped in cannot
    make a snapshot or a restore reach outside.
    """
    try:
        return bytes(context.fs.read_bytes(relative, limit=MAX_SNAPSHOT_BYTES))
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise _TooLarge from None
        return None
    except Exception:  # refused by the resolver: not a file we may read
        return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(context: Any, relative: str) -> str | None:
    digest = hashlib.sha256()
    try:
        fd = context.fs.open(relative, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except Exception:
        return None
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_hash(context: Any, relative: str) -> str | None:
    """The sha256 of the workspace file ``relative`` now (None: no such regular file)."""
    try:
        data = _read(context, relative)
    except _TooLarge:
        return _sha256_file(context, relative)
    return None if data is None else _sha256(data)
