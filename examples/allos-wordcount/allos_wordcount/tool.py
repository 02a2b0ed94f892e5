"""The ``word_count`` tool."""

from __future__ import annotations

from typing import Literal

from allos_core import ToolContext, tool


@tool(read_only=True, permission_subject="path")
def word_count(
    path: str,
    unit: Literal["lines", "words", "chars", "all"] = "all",
    *,
    context: ToolContext,
) -> str:
    """Count the lines, words and characters of a text file in the workspace.

    Args:
        path: File to count, relative to the workspace root.
        unit: What to count; "all" gives every count.
    """
    file = context.resolve_path(path)  # refuses paths outside the workspace
    # open it beneath the workspace (context.fs): a folder swapped for a symlink meanwhile
    # cannot redirect the read outside
    data = context.fs.read_bytes(context.relative(file), limit=10_000_000)
    text = data.decode("utf-8", errors="replace")
    counts = {"lines": len(text.splitlines()), "words": len(text.split()), "chars": len(text)}
    shown = counts if unit == "all" else {unit: counts[unit]}
    return f"{path}: " + ", ".join(f"{value} {name}" for name, value in shown.items())
