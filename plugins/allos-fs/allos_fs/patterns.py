"""Glob patterns as models write them: ``**/*.py``, ``src/**/test_*.ts``, ``*.{md,txt}``.

``*`` matches within one path segment, ``**`` as a whole segment matches any number of folders
(including none), ``?`` one character, ``[abc]`` / ``[!abc]`` a set, ``{a,b}`` alternatives
(nestable). Matching is case-sensitive and against ``/``-separated relative paths.
"""

from __future__ import annotations

import re
from typing import Any

_SPECIAL = set("*?[{")


def expand_braces(pattern: str) -> list[str]:
    """``a{b,c}d`` -> ``[abd, acd]``; nested braces expand too, unbalanced ones stay literal."""
    depth = 0
    start = -1
    for index, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                options = _split_top_level(pattern[start + 1 : index])
                if len(options) < 2:
                    # "{x}" is not an alternative: keep it literal, expand what follows
                    head = pattern[: index + 1]
                    return [head + rest for rest in expand_braces(pattern[index + 1 :])]
                results: list[str] = []
                for option in options:
                    results.extend(expand_braces(pattern[:start] + option + pattern[index + 1 :]))
                return list(dict.fromkeys(results))
    return [pattern]


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        if char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        current.append(char)
    parts.append("".join(current))
    return parts


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            while index + 1 < len(segment) and segment[index + 1] == "*":
                index += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find(
                "]", index + 2 if segment[index + 1 : index + 2] in ("!", "^") else index + 1
            )
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[index + 1 : end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^' if negate else ''}{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def glob_regex(pattern: str) -> str:
    """The regular expression (without anchors) for one brace-free glob pattern."""
    segments = pattern.split("/")
    out: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == last:
                out.append(".*" if index == 0 else "(?:/.*)?")
                continue
            out.append("(?:[^/]+/)*" if index == 0 else "/(?:[^/]+/)*")
            continue
        if index > 0 and segments[index - 1] != "**":
            out.append("/")
        out.append(_segment_regex(segment))
    return "".join(out)


def compile_glob(pattern: str) -> Any:
    """A compiled regex whose ``match`` full-matches the paths ``pattern`` selects.

    Compiled with RE2 (linear time): with Python's backtracking ``re``, ``*a*a*a*a*a*a*a*a*a*a*b``
    against a file named ``aaa…a`` runs for minutes. Patterns with more than
    :data:`MAX_ALTERNATIVES` brace alternatives are refused (``{a,b}`` twenty times is a million).
    """
    import re2  # imported on use: loading the plugin stays cheap

    from allos_fs.files import FileToolError

    normalized = normalize_glob(pattern)
    if count_alternatives(normalized) > MAX_ALTERNATIVES:
        raise FileToolError(
            f"the pattern has more than {MAX_ALTERNATIVES:,} {{…}} alternatives; use fewer "
            "braces, or several calls"
        )
    alternatives = [glob_regex(p) for p in expand_braces(normalized)]
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile("(?s)(?:" + "|".join(alternatives) + r")\z", options)
    except re2.error as exc:
        raise FileToolError(f"invalid pattern {pattern!r}: {exc}") from None


#: the most ``{a,b}`` alternatives one glob pattern may expand to
MAX_ALTERNATIVES = 1000


def count_alternatives(pattern: str) -> int:
    """How many patterns :func:`expand_braces` makes of ``pattern`` (at most a bit over the cap)."""
    total, depth, start = 1, 0, -1
    for index, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                options = _split_top_level(pattern[start + 1 : index])
                if len(options) >= 2:
                    total *= sum(min(count_alternatives(o), MAX_ALTERNATIVES + 1) for o in options)
                if total > MAX_ALTERNATIVES:
                    return MAX_ALTERNATIVES + 1
    return total


def normalize_glob(pattern: str) -> str:
    """Drop a leading ``./`` and repeated or trailing ``/``."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = re.sub("/+", "/", pattern).rstrip("/")
    return pattern


def literal_prefix(pattern: str) -> tuple[str, str]:
    """Split ``src/app/**/*.py`` into the plain leading folders ``src/app`` and the rest."""
    segments = normalize_glob(pattern).split("/")
    plain: list[str] = []
    while len(segments) > 1 and not (_SPECIAL & set(segments[0])) and segments[0] not in ("", "."):
        plain.append(segments.pop(0))
    return "/".join(plain), "/".join(segments)


def max_depth(pattern: str) -> int | None:
    """How many folders deep the pattern can reach (None when ``**`` makes it unlimited)."""
    expanded = expand_braces(normalize_glob(pattern))
    if any("**" in p for p in expanded):
        return None
    return max(p.count("/") + 1 for p in expanded)
