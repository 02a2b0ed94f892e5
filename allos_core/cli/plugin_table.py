"""The table of ``allos plugins list``: fits the terminal (80 columns) without breaking a word.

Plain text, not rich: ``allos plugins list`` must start fast, and a table of names needs no
layout engine. Cells wrap between words (after commas); every column but the distribution is at
least as wide as its longest word, so ``read_file`` never becomes ``read_fi`` + ``le`` (only a
distribution name too long for the terminal is cut into pieces). Everything shown comes from
plugins, so control characters are replaced before they reach the terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.plugins import PluginInfo

COLOURS = {
    "ok": "green",
    "failed": "red",
    "conflict": "yellow",
    "disabled": "bright_black",
    "degraded": "magenta",
}
#: hook kinds that register names, and the PluginInfo list holding them
NAMED_HOOKS = {
    "providers": "providers",
    "tools": "tools",
    "commands": "commands",
    "batch backends": "batch_backends",
}
HEADERS = ("plugin", "distribution", "group", "hooks", "status")
GAP = "  "
#: when the terminal is narrow, columns give way in this order, each down to its longest word
#: (hooks first, then distribution, then plugin); last, a distribution name folds
SHRINK_ORDER = (3, 1, 0)
FOLD_WIDTH = 12


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences, NUL, bidi, ...) shown visibly."""
    from allos_core.terminal import neutralise

    return neutralise(text)


def hook_lines(info: PluginInfo) -> list[str]:
    """One line per kind of hook: ``tools: read_file, write_file``, ``permission``, ``audit``."""
    lines = []
    for kind in info.hooks:
        names = getattr(info, NAMED_HOOKS[kind]) if kind in NAMED_HOOKS else []
        lines.append(f"{kind}: {', '.join(names)}" if names else kind)
    return lines


def short_group(group: str) -> str:
    """``allos.providers`` -> ``providers`` (the prefix is the same for every plugin)."""
    return group.removeprefix("allos.")


def plugin_rows(infos: list[PluginInfo]) -> list[tuple[str, str, str, str, str]]:
    """The table's cells as plain text (lines of a cell separated by newlines)."""
    rows = []
    for info in infos:
        distribution = info.distribution or "-"
        if info.version:
            distribution += f" {info.version}"
        hooks = "\n".join(hook_lines(info)) or "-"
        row = (info.name, distribution, short_group(info.group), hooks, info.status)
        rows.append(tuple(printable(cell) for cell in row))
    return rows  # type: ignore[return-value]


def _wrap(text: str, width: int, *, fold: bool) -> list[str]:
    """``text`` in lines of at most ``width``, broken between words (inside one only if
    ``fold`` and the word alone is too long)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            while fold and len(word) > width:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:width])
                word = word[width:]
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def column_widths(rows: Sequence[tuple[str, ...]], width: int) -> list[int]:
    """Widths that fit ``width`` if they can: natural widths, narrowed down to the longest word."""
    table = [HEADERS, *rows]
    natural = [max(len(line) for row in table for line in row[i].split("\n")) for i in range(5)]
    minimum = [max(len(word) for row in table for word in row[i].split()) for i in range(5)]
    widths = list(natural)
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
    steps = [(i, minimum[i]) for i in SHRINK_ORDER] + [(1, min(minimum[1], FOLD_WIDTH))]
    for index, floor in steps:
        if excess <= 0:
            break
        give = max(0, min(excess, widths[index] - floor))
        widths[index] -= give
        excess -= give
    return widths


def table_lines(infos: list[PluginInfo], width: int, *, colour: bool = False) -> list[str]:
    """The table as lines of at most ``width`` characters (when the longest words allow)."""
    rows = plugin_rows(infos)
    widths = column_widths(rows, width)

    def style(text: str, **how: object) -> str:
        if not colour:
            return text
        import click

        return click.style(text, **how)  # type: ignore[arg-type]

    lines = [style("Allos plugins", bold=True), ""]
    lines.append(
        GAP.join(
            style(h.ljust(w), bold=True) for h, w in zip(HEADERS, widths, strict=True)
        ).rstrip()
    )
    lines.append("─" * min(width, sum(widths) + len(GAP) * 4))
    for row in rows:
        cells = [
            _wrap(cell, w, fold=i == 1) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        for n in range(max(len(c) for c in cells)):
            parts = []
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
                text = cell[n] if n < len(cell) else ""
                padded = text.ljust(w)
                if i == 4 and text:
                    padded = style(padded, fg=COLOURS.get(text, "white"))
                parts.append(padded)
            lines.append(GAP.join(parts).rstrip())
    return lines


def wants_colour() -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set; ``FORCE_COLOR`` forces it."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` wins), 80 when unknown."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns
