"""The table of ``allos plugins list``: fits an 80-column terminal without breaking a word.

Each cell is made of words (names, versions); long cells wrap between words, after commas, and
every column but the distribution is at least as wide as its longest word, so ``read_file``
never becomes ``read_fi`` + ``le`` (only a distribution name too long for the terminal folds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.table import Table

    from allos_core.plugins import PluginInfo

COLOURS = {
    "ok": "green",
    "failed": "red",
    "conflict": "yellow",
    "disabled": "dim",
    "degraded": "magenta",
}
#: hook kinds that register names, and the PluginInfo list holding them
NAMED_HOOKS = {"providers": "providers", "tools": "tools", "commands": "commands"}
HEADERS = ("plugin", "distribution", "group", "hooks", "status")


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
    """The table's cells as plain text."""
    rows = []
    for info in infos:
        distribution = info.distribution or "-"
        if info.version:
            distribution += f" {info.version}"
        hooks = "\n".join(hook_lines(info)) or "-"
        rows.append((info.name, distribution, short_group(info.group), hooks, info.status))
    return rows


def plugin_table(infos: list[PluginInfo]) -> Table:
    """A rich table of the plugins (see the module docstring for the widths)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rows = plugin_rows(infos)
    table = Table(title=Text("Allos plugins"), title_justify="left", box=box.SIMPLE_HEAD)
    for index, header in enumerate(HEADERS):
        longest = max([len(header)] + [len(word) for row in rows for word in row[index].split()])
        # the distribution column gives way first: a very long name folds, nothing else does
        minimum = None if header == "distribution" else longest
        table.add_column(Text(header), min_width=minimum, overflow="fold")
    for row, info in zip(rows, infos, strict=True):
        cells = [Text(cell) for cell in row[:-1]]
        cells.append(Text(row[-1], style=COLOURS.get(info.status, "white")))
        table.add_row(*cells)
    return table
