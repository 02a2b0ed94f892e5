"""``allos chat``: an interactive session.

Answers stream as they arrive; tool calls, diffs and permission prompts are shown as in
``allos run``. Input (:mod:`allos_core.cli.chat_input`): history across chats, Alt-Enter for a
new line, Tab completes slash commands and ``@path`` mentions, which attach files
(:mod:`allos_core.cli.mentions`); a line ending with ``\\`` continues on the next line; a line
with only ``\"\"\"`` starts (and ends) a block. Slash commands: :mod:`allos_core.cli.chat_commands`. Ctrl-C stops the current turn and returns to the prompt;
Ctrl-D or ``/exit`` leaves. The conversation is saved as a session after every turn
(``-s NAME`` to pick the name and resume it later).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from allos_core.cli.options import agent_options
from allos_core.terminal import safe_markup

SLASH_HELP = [
    ("/help", "show this list"),
    ("/add PATH", "attach a file to your next message (or write @PATH in a message)"),
    ("/undo [N]", "restore the files the last N turns changed, and drop those turns"),
    ("/cost", "tokens used in this chat (and their cost where known)"),
    ("/model [NAME]", "show the model, or switch to another model of the same provider"),
    ("/provider NAME [MODEL]", "switch provider (the conversation carries over)"),
    ("/tools", "list the tools the model can use"),
    ("/image PATH", "send this image with your next message"),
    ("/session", "show the session file, its size and the tokens used"),
    ("/compact", "summarise older turns to free context"),
    ("/clear", "forget the conversation (keeps the session name)"),
    ("/exit", "leave (Ctrl-D works too)"),
]


@click.command("chat")
@agent_options
def chat(**kwargs: Any) -> None:
    """Chat with the agent: streamed answers, tools, slash commands (/help).

    The conversation is saved after every turn; resume it with `allos chat -s NAME`.
    """
    from allos_core.cli.errors import handle_errors
    from allos_core.cli.options import AgentOptions

    options = AgentOptions.from_kwargs(kwargs)
    with handle_errors(options.verbose):
        ChatLoop(options).start()


def default_session_name() -> str:
    """A fresh name for a chat started without ``-s``."""
    return "chat-" + datetime.now().strftime("%Y%m%d-%H%M%S")


class ChatLoop:
    """The read–run–print loop of ``allos chat``."""

    def __init__(self, options: Any) -> None:
        from allos_core.cli.prompt import PermissionPrompter, can_prompt
        from allos_core.cli.render import Renderer
        from allos_core.cli.setup import build_agent
        from allos_core.cli.ui import err_console

        self.options = options
        self.console = err_console()
        self.renderer = Renderer(verbose=options.verbose, live_answer=True, show_usage=False)
        ask = PermissionPrompter(self.renderer) if can_prompt() else None
        if not options.session:
            options.session = default_session_name()
        self.setup = build_agent(options, on_event=self._on_event, ask=ask)
        self.agent = self.setup.agent
        self.agent.keep_tool_sources = True  # MCP servers start once per chat, not per message
        self.provider = self.setup.choice.name
        self.model = getattr(getattr(self.agent, "provider", None), "model", None)
        self.model = self.model or self.setup.choice.model or "default"
        self.running = True
        self.history_file: Path | None = None
        self.input: Any = None
        #: files added with /add, attached to the next message
        self.pending_files: list[str] = []
        #: images attached with /image, sent with the next message
        self.images: list[Any] = []

    # -- events ------------------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        if event.type == "run_started":
            self.provider, self.model = event.provider, event.model
        self.renderer(event)

    # -- the loop ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._setup_history()
        self.banner()
        from allos_core.cli.header import header_lines

        for line in header_lines(self.setup):
            self.renderer.note(line)
        try:
            while self.running:
                try:
                    text = self.read_input()
                except KeyboardInterrupt:
                    sys.stdout.write("\n")
                    continue
                except EOFError:
                    sys.stdout.write("\n")
                    break
                text = text.strip()
                if not text:
                    continue
                if text.startswith("/"):
                    self.command(text)
                else:
                    self.turn(text)
        finally:
            self._save_history()
            self.agent.close()
        session = self.agent.session
        if session is not None and session.path is not None and Path(session.path).exists():
            from allos_core.cli.invocation import allos_command

            self.renderer.note(
                f"session saved: {session.path} (resume: {allos_command()} chat -s {session.name})"
            )

    def banner(self) -> None:

        session = self.agent.session
        name = getattr(session, "name", None) or "-"
        resumed = len([m for m in self.agent.messages if m.role != "system"])
        self.console.print(
            f"[bold]allos chat[/] · {safe_markup(self.provider)} · {safe_markup(str(self.model))}"
            f" · session {safe_markup(name)}" + (f" ({resumed} messages)" if resumed else "")
        )
        self.console.print("[dim]/help for commands · Ctrl-C stops a turn · Ctrl-D leaves[/]")

    def read_input(self) -> str:
        """One message (see :mod:`allos_core.cli.chat_input`)."""
        if self.input is None:
            from allos_core.cli.chat_input import ChatInput

            commands = [usage.split()[0] for usage, _ in SLASH_HELP]
            self.input = ChatInput(self.agent.workspace, self.history_file, commands)
        return self.input.read()

    def turn(self, text: str) -> None:
        """Run one turn (``@path`` mentions and /add-ed files attached); Ctrl-C stops it."""
        from allos_core.cli.mentions import MentionError, attach_files, attach_mentions
        from allos_core.cli.ui import print_error

        try:
            text, _mentioned = attach_mentions(text, self.agent)
            text = attach_files(text, self.pending_files, self.agent)
        except MentionError as exc:
            print_error(str(exc), "fix the path (or the permission rule); the message was not sent")
            return
        except KeyboardInterrupt:
            self.console.print("[yellow]interrupted[/]")
            return
        self.pending_files = []
        self.renderer.started = time.monotonic()
        images, self.images = self.images, []
        try:
            result = self.agent.run(text, images=images or None)
        except KeyboardInterrupt:
            self.renderer.pause()
            self.console.print("[yellow]interrupted[/]")
            return
        self.renderer.pause()
        if result.stop_reason == "answered" and result.text and not self.renderer.answer_printed:
            self.renderer.write_answer(result.text)
        if result.stop_reason == "error":
            print_error(result.error or "the turn failed", result.error_hint)
        elif result.stop_reason in ("iteration_limit", "usage_limit", "cost_limit"):
            print_error(result.error or "stopped at a limit", result.error_hint)
        from allos_core.cli.run import commit_turn_if_asked

        commit_turn_if_asked(self.setup, self.renderer)
        self.renderer.print_usage()

    def command(self, text: str) -> None:
        """Run a slash command (see :mod:`allos_core.cli.chat_commands`)."""
        from allos_core.cli.chat_commands import run_command

        run_command(self, text)

    # -- input history -----------------------------------------------------------------------------
    def _setup_history(self) -> None:
        """Input history is kept across chats (prompt_toolkit, at a terminal only)."""
        import platformdirs

        self.history_file = Path(platformdirs.user_state_dir("allos")) / "chat_history"

    def _save_history(self) -> None:
        """prompt_toolkit appends each entry as it is sent: nothing left to write."""
