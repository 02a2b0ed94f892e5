"""Finding the line where a key is written in a TOML file, for error messages."""

from __future__ import annotations

import re
from typing import Any

_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+)""", text)
    return [a or b or c for a, b, c in parts]


def find_key_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line where the key at ``loc`` is written, or None when it cannot be found.

    Follows ``[table]`` headers and dotted keys; list indexes in ``loc`` are ignored (the line
    of the list's key is returned).
    """
    wanted = [str(part) for part in loc if not isinstance(part, int)]
    if not wanted:
        return None
    table: list[str] = []
    fallback: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            if table == wanted:
                return number
            continue
        match = _KEY.match(line)
        if not match:
            continue
        path = table + _split_key(match.group(1))
        if path == wanted:
            return number
        if fallback is None and (
            path[: len(wanted)] == wanted or (path and path[-1] == wanted[-1])
        ):
            fallback = number
    return fallback
