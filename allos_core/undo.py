"""Undo: put back the files the last turns of a conversation changed (see checkpoints).

:func:`undo` restores the files newest first and refuses, naming them, when a file was changed
since by someone else (the user, a command), unless forced: nothing is half-done. Every path
goes through the workspace resolver (``ToolContext.fs``), so a change log edited by hand cannot
make undo write outside the workspace.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from typing import Any

from allos_core.checkpoints import Checkpoint, CheckpointLog, FileChange, current_hash
from allos_core.errors import AllosError
from allos_core.tools import PathOutsideWorkspaceError


class UndoError(AllosError):
    """Undo could not restore the files (changed since, too large, outside the workspace)."""


@dataclass
class UndoReport:
    """What :func:`undo` did."""

    turns: list[Checkpoint]
    restored: list[str]
    deleted: list[str]
    #: files changed since the agent's change that were overwritten because of ``force``
    forced: list[str]
    #: commands that ran in the undone turns (their effects are not undone)
    commands: list[str]


def undo(context: Any, log: CheckpointLog, turns: int = 1, *, force: bool = False) -> UndoReport:
    """Restore the files the last ``turns`` turns changed and drop those turns from ``log``.

    Refuses (an :class:`UndoError` naming the files, nothing restored) when a file was changed
    since the agent changed it, unless ``force``; and always for a file too large to have been
    kept. ``context`` is a :class:`~allos_core.tools.ToolContext` of the workspace.
    """
    undone = log.last_turns(turns)
    if not undone:
        raise UndoError(
            "there is nothing to undo: no turn changed files through the file tools",
            hint="changes made by shell commands are not recorded; use git to revert them",
        )
    target: dict[str, FileChange] = {}  # path -> the oldest change (its "before" is the goal)
    expected: dict[str, str | None] = {}  # path -> the newest change's content hash
    for checkpoint in undone:  # newest first
        for change in checkpoint.changes:
            target[change.path] = change
            expected.setdefault(change.path, change.after_sha256)
    too_large = sorted(p for p, c in target.items() if not c.restorable)
    if too_large:
        raise UndoError(
            f"cannot undo: the previous content of {', '.join(too_large)} was too large to keep",
            hint="restore it from version control",
        )
    changed_since: list[str] = []
    for relative in target:
        try:
            context.resolve_path(relative)
        except PathOutsideWorkspaceError as exc:
            raise UndoError(f"cannot undo {relative}: {exc}") from None
        if current_hash(context, relative) != expected[relative]:
            changed_since.append(relative)
    if changed_since and not force:
        raise UndoError(
            "cannot undo: changed since the agent changed them: "
            + ", ".join(sorted(changed_since)),
            hint="keep your changes, or pass --force to restore them anyway",
        )
    restored: list[str] = []
    deleted: list[str] = []
    for relative, change in sorted(target.items()):
        if change.before is None:
            _remove(context, relative)
            deleted.append(relative)
        else:
            _restore(context, relative, change.before)
            restored.append(relative)
    for checkpoint in undone:
        log.checkpoints.remove(checkpoint)
    commands = [c for checkpoint in undone for c in checkpoint.commands]
    return UndoReport(undone, restored, deleted, sorted(changed_since), commands)


def drop_turn_messages(messages: list[Any], checkpoint: Checkpoint) -> bool:
    """Remove ``checkpoint``'s turn and every later message from ``messages`` (in place).

    Only when the message at the turn's start is still that turn's task (the conversation was
    not compacted or changed since); returns whether anything was removed.
    """
    count = checkpoint.message_count
    if count is None or not 0 < count < len(messages):
        return False
    message = messages[count]
    if message.role != "user" or not message.text.strip().startswith(checkpoint.task):
        return False
    del messages[count:]
    return True


def _restore(context: Any, relative: str, data: bytes) -> None:
    folder = relative.rpartition("/")[0]
    if folder:
        context.fs.makedirs(folder)
    mode = None
    with contextlib.suppress(Exception):
        mode = stat.S_IMODE(context.fs.lstat(relative).st_mode)
    context.fs.atomic_write(relative, data, mode=mode)


def _remove(context: Any, relative: str) -> None:
    parent, name = context.fs.open_parent(relative)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=parent)
    finally:
        os.close(parent)
