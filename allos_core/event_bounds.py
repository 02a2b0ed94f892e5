"""Bounds on what an event carries, so no single event (or ``--json`` line) is unbounded.

A tool may return 100 MB and a model may write a 100 MB argument; the conversation keeps only
``max_tool_output_chars`` of a tool result (:func:`allos_core.context.cap_text`), and so do the
events about it: :func:`bounded_result` caps a result's content and each string of its metadata
the same way before the :class:`~allos_core.events.ToolResultEvent` is emitted.
:func:`bounded_data` bounds any event's ``to_dict()`` to about :data:`MAX_EVENT_CHARS` characters
of text, cutting the longest strings first (head and tail kept, with a marker) and long lists,
and adds ``"truncated": true`` when it cut anything. Smaller events pass through unchanged, so
``--json`` stays exact for them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

#: an event (a ``--json`` line) carries about this many characters of text at most
MAX_EVENT_CHARS = 1_000_000
#: lists in an event keep at most this many items
MAX_EVENT_ITEMS = 10_000
#: no string is cut shorter than this
_MIN_KEEP = 200


def bounded_result(result: Any, limit: int) -> Any:
    """``result`` (a :class:`~allos_core.tools.ToolResult`) with its content and every metadata
    string capped to ``limit`` characters as the conversation caps them; the same object when
    nothing is over."""
    from allos_core.context import cap_text

    if limit <= 0:
        return result
    over = len(result.content) > limit or _longest(result.metadata) > limit
    if not over:
        return result
    return replace(
        result,
        content=cap_text(result.content, limit),
        metadata=_cut(result.metadata, limit),
    )


def bounded_data(data: dict[str, Any], limit: int = MAX_EVENT_CHARS) -> dict[str, Any]:
    """``data`` (an event's plain data) with about ``limit`` characters of text at most."""
    lengths: list[int] = []
    long_list = _measure(data, lengths)
    if sum(lengths) <= limit and not long_list:
        return data
    keep = _water_level(lengths, limit)
    cut = _cut(data, keep)
    cut["truncated"] = True
    return cut


def _measure(value: Any, lengths: list[int]) -> bool:
    """Append every string's length to ``lengths``; True when a list is over MAX_EVENT_ITEMS."""
    long_list = False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            lengths.append(len(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
            lengths.extend(len(str(key)) for key in item)
        elif isinstance(item, (list, tuple)):
            long_list = long_list or len(item) > MAX_EVENT_ITEMS
            stack.extend(item[:MAX_EVENT_ITEMS])
    return long_list


def _longest(value: Any) -> int:
    lengths: list[int] = []
    _measure(value, lengths)
    return max(lengths, default=0)


def _water_level(lengths: list[int], limit: int) -> int:
    """The largest per-string length ``keep`` with ``sum(min(n, keep)) <= limit``."""
    low, high = 0, max(lengths, default=0)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(n, middle) for n in lengths) <= limit:
            low = middle
        else:
            high = middle - 1
    return max(low, _MIN_KEEP)


def _cut(value: Any, keep: int) -> Any:
    from allos_core.context import cap_text

    if isinstance(value, str):
        return cap_text(value, keep) if len(value) > keep else value
    if isinstance(value, dict):
        return {key: _cut(item, keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_cut(item, keep) for item in value[:MAX_EVENT_ITEMS]]
        if len(value) > MAX_EVENT_ITEMS:
            items.append(f"[... {len(value) - MAX_EVENT_ITEMS} more items cut ...]")
        return items
    return value
