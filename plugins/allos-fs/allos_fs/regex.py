"""grep's regular expressions, on a linear-time engine (RE2, the ``google-re2`` package).

Python's ``re`` backtracks: ``(a+)+$`` against one long line of ``a`` takes longer than the age
of the universe, and a model (or a file it read) chooses the pattern. RE2 matches in time linear
in the text whatever the pattern, at the price of two features: lookarounds (``(?=…)``,
``(?<=…)``) and backreferences (``\\1``). A pattern that needs them is refused with an error
that says so; it never falls back to a backtracking engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from allos_fs.files import FileToolError

_ANCHORS = re.compile(r"\\[AZ]")


@dataclass(frozen=True)
class SearchPattern:
    """A compiled grep pattern: ``line`` searches one line; ``whole`` (None when unsafe) finds
    every file with a matching line in one pass over the whole text."""

    line: Any
    whole: Any | None


def compile_pattern(pattern: str, ignore_case: bool = False) -> SearchPattern:
    """Compile ``pattern`` with RE2; :class:`FileToolError` with a helpful message otherwise."""
    import re2  # imported on use: loading the plugin stays cheap

    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.case_sensitive = not ignore_case
    try:
        line = re2.compile(pattern, options)
    except re2.error as exc:
        raise FileToolError(_refusal(pattern, exc)) from None
    whole = None
    if not _ANCHORS.search(pattern):  # \A / \Z mean something else across lines
        try:
            whole = re2.compile("(?m)" + pattern, options)
        except re2.error:  # pragma: no cover - compiled fine without (?m)
            whole = None
    return SearchPattern(line, whole)


def _refusal(pattern: str, exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", errors="replace")
    try:
        re.compile(pattern)
    except re.error as python_error:
        return (
            f"grep: invalid regular expression {pattern!r}: {python_error}. Put a backslash "
            "before ( ) [ ] { } . * + ? | ^ $ to match them literally."
        )
    return (
        f"grep: {pattern!r} needs a feature the linear-time regex engine (RE2) does not have "
        f"({detail}): lookarounds such as (?=…) (?!…) (?<=…) and backreferences such as \\1 are "
        "not supported. Search for a simpler pattern (for example the fixed part) and read "
        "the matching lines."
    )
