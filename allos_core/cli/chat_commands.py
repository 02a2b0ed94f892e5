"""The slash commands of ``allos chat``: one function each, given the chat loop."""

from __future__ import annotations

from typing import Any

from allos_core.cli.chat import SLASH_HELP
from allos_core.terminal import neutralise, safe_markup


def run_command(chat: Any, text: str) -> None:
    """Run the slash command ``text``; errors are one line, the chat goes on."""
    from allos_core.cli.errors import is_usage_error
    from allos_core.cli.ui import print_error
    from allos_core.errors import AllosError

    name, _, rest = text.partition(" ")
    handler = COMMANDS.get(name.lower())
    if handler is None:
        print_error(f"unknown command {name}", "type /help to see the commands")
        return
    try:
        handler(chat, rest.strip())
    except AllosError as exc:
        print_error(str(exc), exc.hint)
        if chat.options.verbose and not is_usage_error(exc):
            import traceback

            traceback.print_exc()
    except KeyboardInterrupt:
        chat.renderer.pause()
        chat.console.print("[yellow]interrupted[/]")


def cmd_help(chat: Any, _: str) -> None:
    from allos_core.terminal import safe_markup as escape

    for usage, description in SLASH_HELP:
        chat.console.print(f"  [bold]{escape(usage):<24}[/] {description}")
    chat.console.print(
        "  [dim]Alt-Enter (or Esc, Enter) for a new line; Tab completes /commands and @paths; "
        'end a line with \\ to continue it; """ on its own line starts a block[/]'
    )


def cmd_model(chat: Any, rest: str) -> None:
    if not rest:
        chat.console.print(f"{safe_markup(chat.provider)} · {safe_markup(chat.model)}")
        return
    switch(chat, chat.provider, rest)


def cmd_provider(chat: Any, rest: str) -> None:
    if not rest:
        chat.console.print(f"{safe_markup(chat.provider)} · {safe_markup(chat.model)}")
        return
    parts = rest.split()
    switch(chat, parts[0], parts[1] if len(parts) > 1 else None)


def switch(chat: Any, name: str, model: str | None) -> None:
    """Switch provider and/or model; the conversation carries over."""
    from allos_core.cli.setup import provider_for_switch

    name, configured_model, options = provider_for_switch(
        chat.setup.manager, chat.setup.settings, name
    )
    if chat.options.base_url and name == chat.setup.choice.name:  # --base-url holds for the chat
        options["base_url"] = chat.options.base_url
    if chat.options.think:  # --think and --no-cache hold for the whole chat
        options["think"] = chat.options.think
    if chat.options.no_cache:
        options["cache"] = False
    cls = chat.setup.manager.get_provider_class(name)
    provider = cls(model=model or configured_model, **options)
    chat.agent.set_provider(provider)
    chat.provider, chat.model = name, provider.model
    chat.console.print(f"[green]now using[/] {safe_markup(name)} · {safe_markup(provider.model)}")


def cmd_tools(chat: Any, _: str) -> None:
    from allos_core.cli.ui import first_sentence
    from allos_core.terminal import safe_markup as escape

    for name, tool in sorted(chat.agent.tools.items()):
        chat.console.print(
            f"  [bold]{escape(name)}[/] [dim]({tool.default_permission})[/] "
            f"{escape(first_sentence(tool.description))}"
        )


def cmd_session(chat: Any, _: str) -> None:
    session = chat.agent.session
    usage = chat.agent.usage
    messages = len([m for m in chat.agent.messages if m.role != "system"])
    where = f"{session.name} ({session.path})" if session is not None else "not saved"
    chat.console.print(f"session {safe_markup(where)}")
    chat.console.print(
        f"  {messages} messages · {usage.input_tokens:,} tokens in · "
        f"{usage.output_tokens:,} out · {safe_markup(chat.provider)} · {safe_markup(chat.model)}"
    )


def cmd_compact(chat: Any, _: str) -> None:
    before = len(chat.agent.messages)
    chat.renderer.spin("compacting…")
    try:
        chat.agent.compact()
    finally:
        chat.renderer.pause()
    after = len(chat.agent.messages)
    chat.console.print(f"[green]compacted[/] {before} → {after} messages")


def cmd_clear(chat: Any, _: str) -> None:
    chat.agent.clear()
    chat.console.print("[green]conversation cleared[/]")


def cmd_exit(chat: Any, _: str) -> None:
    chat.running = False


def cmd_add(chat: Any, rest: str) -> None:
    """Queue files to attach to the next message (checked now with read_file)."""
    from allos_core.cli.mentions import MentionError, attach_files
    from allos_core.cli.ui import print_error

    if not rest:
        print_error("/add needs a path", "for example: /add src/app.py")
        return
    for path in rest.split():
        try:
            attach_files("", [path], chat.agent)
        except MentionError as exc:
            print_error(str(exc), "check the path and your read_file rules")
            continue
        if path not in chat.pending_files:
            chat.pending_files.append(path)
        chat.console.print(
            f"added {neutralise(path)}: it goes with your next message", markup=False
        )


def cmd_undo(chat: Any, rest: str) -> None:
    """Restore the files the last turn(s) changed and drop those turns."""
    from allos_core.cli.ui import print_error

    turns = 1
    if rest:
        if not rest.isdigit() or int(rest) < 1:
            print_error(f"/undo takes a number of turns, not {rest!r}", "for example: /undo 2")
            return
        turns = int(rest)
    report = chat.agent.undo(turns)
    for path in report.restored:
        chat.console.print(f"restored {neutralise(path)}", markup=False, highlight=False)
    for path in report.deleted:
        chat.console.print(
            f"deleted {neutralise(path)} (the agent created it)", markup=False, highlight=False
        )
    count = len(report.turns)
    chat.console.print(f"[green]undid {count} turn{'s' if count > 1 else ''}[/]")
    if report.commands:
        chat.console.print(
            "not undone: what these commands did: " + neutralise("; ".join(report.commands)),
            markup=False,
            highlight=False,
            style="yellow",
        )


def cmd_image(chat: Any, path: str) -> None:
    """Attach an image (PNG, JPEG, GIF, WebP) to the next message."""
    from allos_core.errors import ConfigError
    from allos_core.images import image_from_path

    if not path:
        raise ConfigError("give the image's path", hint="/image screenshot.png")
    image = image_from_path(path.strip().strip("'\""))
    chat.images.append(image)
    count = len(chat.images)
    chat.console.print(
        f"[dim]{image.media_type} attached; it goes with your next message"
        f" ({count} image{'s' if count != 1 else ''})[/]"
    )


def cmd_cost(chat: Any, _: str) -> None:
    """Tokens (and cost, where the provider's prices are known) of this chat."""
    usage = chat.agent.usage
    line = (
        f"{usage.input_tokens:,} tokens in · {usage.output_tokens:,} out · "
        f"{usage.requests} request{'s' if usage.requests != 1 else ''}"
    )
    cached = getattr(usage, "cache_read_tokens", 0) or 0
    if cached:
        line += f" · {cached:,} read from cache"
    cost = getattr(usage, "cost", None)
    if cost is not None:
        line += f" · ${cost:.4f}"
    chat.console.print(line, markup=False, highlight=False)


COMMANDS = {
    "/help": cmd_help,
    "/?": cmd_help,
    "/add": cmd_add,
    "/image": cmd_image,
    "/undo": cmd_undo,
    "/cost": cmd_cost,
    "/model": cmd_model,
    "/provider": cmd_provider,
    "/tools": cmd_tools,
    "/session": cmd_session,
    "/compact": cmd_compact,
    "/clear": cmd_clear,
    "/exit": cmd_exit,
    "/quit": cmd_exit,
}
