"""Permission prompts: show exactly what a tool call will do, then read yes / no / always.

Only used when someone can answer: ``allos run`` and ``allos chat`` pass a prompter as the
agent's ``ask`` only when stdin and stderr are terminals. Otherwise the agent turns every ``ask`` into a
denial that says how to allow the call (``--allow RULE`` or ``-y``), and nothing waits for input.
"""

from __future__ import annotations

import json
import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from allos_core.cli.render import Renderer

ANSWERS = {
    "y": "yes",
    "yes": "yes",
    "n": "no",
    "no": "no",
    "a": "always",
    "always": "always",
}
#: arguments that are shown as the subject already, or as the preview diff
_SHOWN_AS_SUBJECT = {"command", "path"}


class PermissionPrompter:
    """The agent's ``ask`` callback for a terminal.

    It stops the spinner, prints the tool, the subject (the command or path, in full), the other
    arguments and the preview (the diff of an edit or write), then reads an answer from
    ``input`` (stdin): ``y`` (yes, this once), ``n`` (no), ``a`` (always, for the rest of this
    session). End of input answers no.
    """

    def __init__(
        self,
        renderer: Renderer | None = None,
        *,
        console: Console | None = None,
        input: IO[str] | None = None,
    ) -> None:
        from allos_core.cli.ui import err_console

        self.renderer = renderer
        self.console = console or err_console()
        self.input = input

    def __call__(self, request: Any) -> str:
        if self.renderer is not None:
            self.renderer.pause()
        self.show(request)
        return self.read_answer(request)

    def show(self, request: Any) -> None:
        """Print the call exactly: control, escape and invisible characters in the subject, the
        arguments or the preview are shown as visible escapes (``\\x1b[2K``, ``<U+202E>``) and a
        warning line says so."""
        from allos_core.terminal import neutralised, safe_markup

        console = self.console
        altered = False
        console.print(f"[bold yellow]?[/] [bold]{safe_markup(request.tool_name)}[/] wants to run:")
        if request.subject:
            subject, changed = neutralised(request.subject)
            altered |= changed
            console.print(f"    [bold]{safe_markup(subject)}[/]", soft_wrap=True)
        others = {
            key: value
            for key, value in (request.arguments or {}).items()
            if not (request.subject and key in _SHOWN_AS_SUBJECT and str(value) == request.subject)
        }
        if request.preview:
            others = {k: v for k, v in others.items() if k not in _PREVIEWED}
        if others or not request.subject:
            shown = json.dumps(others, indent=2, ensure_ascii=False, default=str)
            for line in shown.splitlines():
                line, changed = neutralised(line)
                altered |= changed
                console.print(f"    [dim]{safe_markup(line)}[/]", soft_wrap=True)
        preview = request.preview
        if preview and (_is_diff(preview) or not (request.subject and request.subject in preview)):
            altered |= neutralised(preview)[1]
            self._show_preview(preview)
            if self.renderer is not None and _is_diff(preview):
                self.renderer.previewed.add(request.call.id)
        if request.reason and not request.reason.startswith("default for "):
            console.print(f"  [dim]asking because of {safe_markup(request.reason)}[/]")
        if altered:
            console.print(
                "  [bold yellow]warning:[/] this call contains control, escape or invisible "
                "characters; they are shown as \\x.. / <U+....> above, exactly where they are"
            )

    def _show_preview(self, preview: str) -> None:
        from rich.text import Text

        from allos_core.cli.render import colour_diff_lines
        from allos_core.terminal import neutralise

        if not _is_diff(preview):
            for line in neutralise(preview).split("\n"):
                self.console.print(Text("    " + line), soft_wrap=True)
            return
        text = Text()
        for line, style in colour_diff_lines(preview):
            text.append("    ")
            text.append(line, style=style)
            text.append("\n")
        self.console.print(text, end="", soft_wrap=True)

    def read_answer(self, request: Any) -> str:
        """Ask until the answer is y, n or a; end of input is no."""
        stream = self.input or sys.stdin
        from allos_core.terminal import safe_markup

        scope = safe_markup(getattr(request, "always_rule", "") or request.tool_name)
        while True:
            self.console.print(
                f"  Allow? [bold]y[/]es / [bold]n[/]o / [bold]a[/]lways ({scope}, this session): ",
                end="",
            )
            self.console.file.flush()
            line = stream.readline()
            if not line:  # end of input
                self.console.print()
                return "no"
            answer = ANSWERS.get(line.strip().lower())
            if answer:
                return answer
            self.console.print("  [dim]please answer y, n or a[/]")


#: arguments an edit's diff preview already shows
_PREVIEWED = {"old_string", "new_string", "content", "old_text", "new_text", "edits"}


def _is_diff(text: str) -> bool:
    return any(line.startswith(("@@", "+++", "---")) for line in text.splitlines())


def can_prompt() -> bool:
    """Whether someone can see a prompt and answer it: stdin and stderr are terminals."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
