"""``allos undo``: restore the files the agent changed in the last turn(s) of a session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from allos_core.cli.errors import handle_errors


@click.command("undo")
@click.option(
    "-s",
    "--session",
    metavar="NAME|PATH",
    help="The session (default: the newest session of the current folder).",
)
@click.option("--turns", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="How many turns to undo.")  # fmt: skip
@click.option("--force", is_flag=True, help="Restore files even if they were changed since.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors.")
def undo(session: str | None, turns: int, force: bool, verbose: bool) -> None:
    """Restore the files the agent changed in the last turn(s), and drop those turns.

    Every change made through the file tools is recorded in the session with the file's previous
    content. A file changed since (by you, or a command) is refused unless --force. Changes made
    by shell commands can't be undone this way: they are listed.
    """
    from allos_core.checkpoints import CheckpointLog
    from allos_core.cli.ui import err_console
    from allos_core.terminal import neutralise
    from allos_core.tools import ToolContext
    from allos_core.undo import drop_turn_messages
    from allos_core.undo import undo as undo_turns

    console = err_console()
    with handle_errors(verbose):
        loaded = _session(session)
        workspace = Path(str(loaded.metadata.get("workspace") or Path.cwd()))
        log = CheckpointLog.from_data(loaded.metadata.get("checkpoints"))
        report = undo_turns(ToolContext(workspace=workspace), log, turns, force=force)
        dropped = drop_turn_messages(loaded.messages, report.turns[-1])
        loaded.metadata["checkpoints"] = log.to_data()
        loaded.save()
    for path in report.restored:
        console.print(f"restored {neutralise(path)}", markup=False, highlight=False)
    for path in report.deleted:
        console.print(
            f"deleted {neutralise(path)} (the agent created it)", markup=False, highlight=False
        )
    if report.forced:
        console.print(
            f"overwrote your changes to {neutralise(', '.join(report.forced))} (--force)",
            markup=False,
        )
    count = len(report.turns)
    what = f"{count} turn{'s' if count > 1 else ''}"
    if dropped:
        console.print(f"dropped {what} from session {neutralise(str(loaded.name))}", markup=False)
    else:
        console.print(
            f"the conversation of {neutralise(str(loaded.name))} was compacted since: kept it",
            markup=False,
        )
    if report.commands:
        console.print(
            "not undone: what these commands did (undo covers the file tools only): "
            + neutralise("; ".join(report.commands)),
            markup=False,
            highlight=False,
            style="yellow",
        )


def _session(name: str | None) -> Any:
    """The session named, or the newest one whose workspace is the current folder."""
    from allos_core.errors import SessionError
    from allos_core.sessions import Session, find_session, list_sessions, session_path

    if name:
        found = find_session(name)[1]
        return Session.load(name if found == session_path(name)[1] else found)
    here = str(Path.cwd().resolve())
    for summary in list_sessions()[:50]:
        try:
            candidate = Session.load(summary.path)
        except SessionError:
            continue
        if candidate.metadata.get("workspace") == here and candidate.metadata.get("checkpoints"):
            return candidate
    raise SessionError(
        f"no session with recorded changes for {here}",
        hint="name one with -s NAME (see `allos sessions list`)",
    )


def describe_changes(metadata: dict[str, Any]) -> list[str]:
    """One line per turn that changed files or ran commands (for ``sessions show``)."""
    from allos_core.checkpoints import CheckpointLog
    from allos_core.terminal import neutralise

    lines = []
    for checkpoint in CheckpointLog.from_data(metadata.get("checkpoints")).checkpoints:
        if not checkpoint.changes and not checkpoint.commands:
            continue
        files = ", ".join(
            f"{c.path} ({'created' if c.before is None else 'deleted' if c.after_sha256 is None else 'changed'})"  # noqa: E501
            for c in checkpoint.changes
        )
        parts = [files] if files else []
        if checkpoint.commands:
            parts.append(f"{len(checkpoint.commands)} command(s), not undoable")
        lines.append(neutralise(f"turn {checkpoint.turn} ({checkpoint.task}): " + "; ".join(parts)))
    return lines
