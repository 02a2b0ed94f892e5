"""Terminal output helpers: one stderr console for progress, stdout for answers.

Colour and spinners follow the terminal: ``NO_COLOR`` and non-terminal output turn them off
(rich handles both), and ``FORCE_COLOR`` turns colour on.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console


@cache
def err_console() -> Console:
    """The console for progress, tool calls, prompts and errors (stderr).

    Lines are not hard-wrapped (``soft_wrap``): a log of a piped run keeps one line per item,
    and a terminal wraps long lines itself.
    """
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@cache
def out_console() -> Console:
    """The console for results (stdout)."""
    from rich.console import Console

    return Console(highlight=False)


def reset_consoles() -> None:
    """Forget cached consoles (tests that swap stdout/stderr call this)."""
    err_console.cache_clear()
    out_console.cache_clear()


def print_error(message: str, hint: str | None = None) -> None:
    """One or two clear lines on stderr: what went wrong and what to do."""
    from allos_core.terminal import safe_markup

    console = err_console()
    console.print(f"[bold red]error:[/] {safe_markup(message)}")
    if hint:
        console.print(f"[dim]hint:[/] {safe_markup(hint)}")


def print_warning(level: str, message: str) -> None:
    """One line on stderr: ``warning: ...`` or ``notice: ...``."""
    from allos_core.terminal import safe_markup

    colour = "yellow" if level == "warning" else "cyan"
    err_console().print(f"[bold {colour}]{safe_markup(level)}:[/] {safe_markup(message)}")


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def first_sentence(text: str | None) -> str:
    """The first sentence of a description, for one-line summaries (tool lists)."""
    first_line = (text or "").strip().split("\n", 1)[0]
    sentence = first_line.split(". ", 1)[0]
    return sentence if sentence.endswith(".") or not sentence else sentence + "."
