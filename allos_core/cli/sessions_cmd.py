"""``allos sessions list | show NAME | rm NAME``."""

from __future__ import annotations

import json
from typing import Any

import click

from allos_core.cli.errors import handle_errors


@click.group("sessions")
def sessions() -> None:
    """List, show and delete saved sessions.

    Sessions live in the user data folder (ALLOS_SESSIONS_DIR overrides it); `allos run -s NAME`
    and `allos chat -s NAME` create and resume them.
    """


@sessions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
def sessions_list(as_json: bool) -> None:
    """List saved sessions, most recent first."""
    from allos_core.sessions import list_sessions, sessions_dir

    with handle_errors():
        summaries = list_sessions()
        folder = sessions_dir()
    if as_json:
        click.echo(json.dumps({"sessions": [_summary_dict(s) for s in summaries]}, indent=2))
        return
    from rich.table import Table

    from allos_core.cli.ui import err_console, out_console
    from allos_core.terminal import safe_markup

    if not summaries:
        err_console().print(f"no sessions in {safe_markup(str(folder))}")
        err_console().print('[dim]start one with: allos run -s NAME "TASK" or allos chat[/]')
        return
    table = Table(title=f"Sessions in {safe_markup(str(folder))}", title_justify="left")
    for column in ("name", "updated", "messages", "model", "title"):
        table.add_column(column, overflow="fold")
    for summary in summaries:
        model = "/".join(x for x in (summary.provider, summary.model) if x) or "-"
        title = safe_markup(_one_line(summary.title or "", 60))
        if getattr(summary, "error", None):
            title = f"[red]{safe_markup(summary.error)}[/]"
        table.add_row(
            safe_markup(summary.name),
            _when(summary.updated_at),
            str(summary.messages),
            safe_markup(model),
            title,
        )
    out_console().print(table)


@sessions.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the whole session as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show tool results in full.")
def sessions_show(name: str, as_json: bool, verbose: bool) -> None:
    """Show the conversation of session NAME (a name or a path)."""
    from allos_core.sessions import Session, find_session, session_path

    with handle_errors(verbose):
        found = find_session(name)[1]
        # NAME.json found in the sessions folder rather than the current one: load that file
        session = Session.load(name if found == session_path(name)[1] else found)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "name": session.name,
                    "path": str(session.path),
                    "created_at": _iso(session.created_at),
                    "updated_at": _iso(session.updated_at),
                    "turns": session.turns,
                    "metadata": session.metadata,
                    "usage": _dump(session.usage),
                    "messages": [_dump(m) for m in session.messages],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    print_conversation(session, verbose=verbose)
    from allos_core.cli.undo_cmd import describe_changes

    changes = describe_changes(session.metadata)
    if changes:
        from allos_core.cli.ui import out_console

        console = out_console()
        console.print("\n[bold]File changes[/] [dim](allos undo -s NAME restores them)[/]")
        for line in changes:
            console.print(f"  {line}", markup=False, highlight=False)


@sessions.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option(
    "--force",
    is_flag=True,
    help="Also delete files that are not readable Allos sessions (corrupt or unrecognised).",
)
def sessions_rm(names: tuple[str, ...], force: bool) -> None:
    """Delete sessions (names or paths).

    A NAME is looked up in the sessions folder (NAME.json too, when that file is there). Only
    Allos session files are deleted; any other file is kept unless --force is given.
    """
    from allos_core.cli.ui import err_console
    from allos_core.sessions import delete_session

    for name in names:
        with handle_errors():
            path = delete_session(name, force=force)
        err_console().print(f"deleted {path}", highlight=False, markup=False)


def print_conversation(session: Any, *, verbose: bool = False) -> None:
    """A session's messages, readably: who said what, tool calls and shortened results."""
    from rich.markup import escape

    from allos_core.cli.render import format_call, format_cost
    from allos_core.cli.ui import out_console
    from allos_core.terminal import safe_markup

    console = out_console()
    usage = session.usage
    cost = f" · {format_cost(usage.cost)}" if usage.cost is not None else ""
    console.print(
        f"[bold]{safe_markup(session.name)}[/] [dim]{safe_markup(str(session.path))}[/]\n"
        f"[dim]{len(session.turns)} model turns · updated {_when(session.updated_at)} · "
        f"{usage.input_tokens:,} tokens in · {usage.output_tokens:,} out{cost}[/]"
    )
    by_model = _cost_by_model(session.turns)
    if len(by_model) > 1:
        shown = " · ".join(f"{who} {format_cost(c)}" for who, c in by_model.items())
        console.print(f"[dim]{escape(shown)}[/]")
    for message in session.messages:
        if message.role == "system":
            if verbose:
                console.print(f"\n[bold magenta]system[/]\n[dim]{safe_markup(message.text)}[/]")
            continue
        if message.role == "user":
            console.print(f"\n[bold green]user[/]\n{safe_markup(message.text)}")
        elif message.role == "assistant":
            who = "/".join(x for x in (message.provider, message.model) if x)
            console.print(f"\n[bold cyan]assistant[/] [dim]{safe_markup(who)}[/]")
            if message.text:
                console.print(safe_markup(message.text))
            for call in message.tool_calls:
                console.print(f"[cyan]●[/] {safe_markup(format_call(call.name, call.arguments))}")
        elif message.role == "tool":
            for result in message.tool_results_parts:
                style = "red" if result.is_error else "dim"
                content = result.content if verbose else _one_line(result.content, 160)
                console.print(f"  [{style}]→ {safe_markup(result.name)}: {safe_markup(content)}[/]")


def _cost_by_model(turns: list[dict[str, Any]]) -> dict[str, float]:
    """The cost of a session's turns by ``provider/model``, for the models that had a price."""
    totals: dict[str, float] = {}
    for turn in turns:
        cost = (turn.get("usage") or {}).get("cost")
        if isinstance(cost, (int, float)):
            who = "/".join(str(x) for x in (turn.get("provider"), turn.get("model")) if x)
            totals[who] = totals.get(who, 0.0) + cost
    return totals


def _summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "name": summary.name,
        "path": str(summary.path),
        "updated_at": _iso(summary.updated_at),
        "messages": summary.messages,
        "provider": summary.provider,
        "model": summary.model,
        "title": summary.title,
        "error": getattr(summary, "error", None),
    }


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _when(value: Any) -> str:
    if hasattr(value, "astimezone"):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value or "-")


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
