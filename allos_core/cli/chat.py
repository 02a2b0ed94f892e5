"""``allos chat``: an interactive session.

Answers stream as they arrive; tool calls, diffs and permission prompts are shown as in
``allos run``. Input: a line ending with ``\\`` continues on the next line; a line with only
``\"\"\"`` starts (and ends) a block. Ctrl-C stops the current turn and returns to the prompt;
Ctrl-D or ``/exit`` leaves. The conversation is saved as a session after every turn
(``-s NAME`` to pick the name and resume it later).
"""

from __future__ import annotations

import contextlib
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from allos_core.cli.options import agent_options

SLASH_HELP = [
    ("/help", "show this list"),
    ("/model [NAME]", "show the model, or switch to another model of the same provider"),
    ("/provider NAME [MODEL]", "switch provider (the conversation carries over)"),
    ("/tools", "list the tools the model can use"),
    ("/image PATH", "send this image with your next message"),
    ("/session", "show the session file, its size and the tokens used"),
    ("/compact", "summarise older turns to free context"),
    ("/clear", "forget the conversation (keeps the session name)"),
    ("/exit", "leave (Ctrl-D works too)"),
]
BLOCK = '"""'


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
        self.provider = self.setup.choice.name
        self.model = getattr(getattr(self.agent, "provider", None), "model", None)
        self.model = self.model or self.setup.choice.model or "default"
        self.running = True
        self.history_file: Path | None = None
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
        session = self.agent.session
        if session is not None and getattr(session, "path", None) and Path(session.path).exists():
            self.renderer.note(
                f"session saved: {session.path} (resume: allos chat -s {session.name})"
            )

    def banner(self) -> None:
        from rich.markup import escape

        session = self.agent.session
        name = getattr(session, "name", None) or "-"
        resumed = len([m for m in self.agent.messages if m.role != "system"])
        self.console.print(
            f"[bold]allos chat[/] · {escape(self.provider)} · {escape(str(self.model))}"
            f" · session {escape(name)}" + (f" ({resumed} messages)" if resumed else "")
        )
        self.console.print("[dim]/help for commands · Ctrl-C stops a turn · Ctrl-D leaves[/]")

    def read_input(self) -> str:
        """One message: continued lines (ending with \\) and \"\"\" blocks are joined."""
        interactive = sys.stdin.isatty()
        prompt, more = ("› ", "… ") if interactive else ("", "")
        first = input(prompt)
        if first.strip() == BLOCK:
            lines = []
            while True:
                line = input(more)
                if line.strip() == BLOCK:
                    return "\n".join(lines)
                lines.append(line)
        lines = []
        line = first
        while line.endswith("\\"):
            lines.append(line[:-1])
            line = input(more)
        lines.append(line)
        return "\n".join(lines)

    def turn(self, text: str) -> None:
        """Run one turn; Ctrl-C stops it and the chat goes on."""
        from allos_core.cli.ui import print_error

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
        elif result.stop_reason in ("iteration_limit", "usage_limit"):
            print_error(result.error or "stopped at a limit", result.error_hint)
        self.renderer.print_usage()

    # -- slash commands ----------------------------------------------------------------------------
    def command(self, text: str) -> None:
        from allos_core.cli.errors import is_usage_error
        from allos_core.cli.ui import print_error
        from allos_core.errors import AllosError

        name, _, rest = text.partition(" ")
        handler = {
            "/help": self.cmd_help,
            "/?": self.cmd_help,
            "/model": self.cmd_model,
            "/provider": self.cmd_provider,
            "/tools": self.cmd_tools,
            "/image": self.cmd_image,
            "/session": self.cmd_session,
            "/compact": self.cmd_compact,
            "/clear": self.cmd_clear,
            "/exit": self.cmd_exit,
            "/quit": self.cmd_exit,
        }.get(name.lower())
        if handler is None:
            print_error(f"unknown command {name}", "type /help to see the commands")
            return
        try:
            handler(rest.strip())
        except AllosError as exc:
            print_error(str(exc), exc.hint)
            if self.options.verbose and not is_usage_error(exc):
                import traceback

                traceback.print_exc()
        except KeyboardInterrupt:
            self.renderer.pause()
            self.console.print("[yellow]interrupted[/]")

    def cmd_image(self, path: str) -> None:
        from allos_core.errors import ConfigError
        from allos_core.images import image_from_path

        if not path:
            raise ConfigError("give the image's path", hint="/image screenshot.png")
        image = image_from_path(path.strip().strip("'\""))
        self.images.append(image)
        count = len(self.images)
        self.console.print(
            f"[dim]{image.media_type} attached; it goes with your next message"
            f" ({count} image{'s' if count != 1 else ''})[/]"
        )

    def cmd_help(self, _: str) -> None:
        from rich.markup import escape

        for usage, description in SLASH_HELP:
            self.console.print(f"  [bold]{escape(usage):<24}[/] {description}")
        self.console.print(
            '  [dim]end a line with \\ to continue it; """ on its own line starts a block[/]'
        )

    def cmd_model(self, rest: str) -> None:
        if not rest:
            self.console.print(f"{self.provider} · {self.model}")
            return
        self.switch(self.provider, rest)

    def cmd_provider(self, rest: str) -> None:
        if not rest:
            self.console.print(f"{self.provider} · {self.model}")
            return
        parts = rest.split()
        self.switch(parts[0], parts[1] if len(parts) > 1 else None)

    def switch(self, name: str, model: str | None) -> None:
        """Switch provider and/or model; the conversation carries over."""
        from allos_core.cli.setup import provider_for_switch

        name, configured_model, options = provider_for_switch(
            self.setup.manager, self.setup.settings, name
        )
        if self.options.think:  # --think and --no-cache hold for the whole chat
            options["think"] = self.options.think
        if self.options.no_cache:
            options["cache"] = False
        cls = self.setup.manager.get_provider_class(name)
        provider = cls(model=model or configured_model, **options)
        self.agent.set_provider(provider)
        self.provider, self.model = name, provider.model
        self.console.print(f"[green]now using[/] {name} · {provider.model}")

    def cmd_tools(self, _: str) -> None:
        from rich.markup import escape

        from allos_core.cli.ui import first_sentence

        for name, tool in sorted(self.agent.tools.items()):
            self.console.print(
                f"  [bold]{escape(name)}[/] [dim]({tool.default_permission})[/] "
                f"{escape(first_sentence(tool.description))}"
            )

    def cmd_session(self, _: str) -> None:
        session = self.agent.session
        usage = self.agent.usage
        messages = len([m for m in self.agent.messages if m.role != "system"])
        where = f"{session.name} ({session.path})" if session is not None else "not saved"
        self.console.print(f"session {where}")
        self.console.print(
            f"  {messages} messages · {usage.input_tokens:,} tokens in · "
            f"{usage.output_tokens:,} out · {self.provider} · {self.model}"
        )

    def cmd_compact(self, _: str) -> None:
        before = len(self.agent.messages)
        self.renderer.spin("compacting…")
        try:
            self.agent.compact()
        finally:
            self.renderer.pause()
        after = len(self.agent.messages)
        self.console.print(f"[green]compacted[/] {before} → {after} messages")

    def cmd_clear(self, _: str) -> None:
        self.agent.clear()
        self.console.print("[green]conversation cleared[/]")

    def cmd_exit(self, _: str) -> None:
        self.running = False

    # -- input history -----------------------------------------------------------------------------
    def _setup_history(self) -> None:
        """Up/down recall earlier input (readline), kept across chats; only at a terminal."""
        if not sys.stdin.isatty():
            return
        try:
            import readline
        except ImportError:  # pragma: no cover - Windows without pyreadline
            return
        import platformdirs

        path = Path(platformdirs.user_state_dir("allos")) / "chat_history"
        self.history_file = path
        readline.set_history_length(1000)
        if path.is_file():
            with contextlib.suppress(OSError):
                readline.read_history_file(path)

    def _save_history(self) -> None:
        if self.history_file is None:
            return
        try:
            import readline

            self.history_file.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(self.history_file)
        except (ImportError, OSError):
            pass
