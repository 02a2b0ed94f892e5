"""Prompt caching as the Anthropic Messages API does it, for the fake server.

**Placement rules** (a violation is a 400, as from the real API): at most four blocks carry
``cache_control``; it is ``{"type": "ephemeral"}`` (optionally with ``ttl`` ``5m`` or ``1h``); it
goes only on tool definitions, system text blocks and message blocks of type text, image,
document, tool_use or tool_result (not on thinking blocks, not on empty text).

**Accounting.** The prompt is the sequence tools, system blocks, message blocks (in that order).
A breakpoint caches the prefix that ends with its block, if that prefix is at least
:data:`MIN_TOKENS` long. A request reads the longest cached prefix that ends at one of its
breakpoints or at one of the 20 blocks before a breakpoint (the API's look-back), writes the
prefixes of its breakpoints, and is billed: ``cache_read_input_tokens`` for what it read,
``cache_creation_input_tokens`` for what its last breakpoint adds on top, ``input_tokens`` for
the rest. A block's tokens are its JSON length / 4 (without ``cache_control``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

MAX_BREAKPOINTS = 4
#: the shortest prefix that is cached (Claude Sonnet and Opus; Haiku needs 2048)
MIN_TOKENS = 1024
LOOKBACK = 20
CACHEABLE = frozenset({"text", "image", "document", "tool_use", "tool_result"})


class CacheRuleBroken(Exception):
    """A ``cache_control`` the real API would refuse (the message says which rule)."""


@dataclass
class PromptCache:
    """The cached prefixes of one fake server (by hash), and how often each was read."""

    prefixes: set[str] = field(default_factory=set)

    def account(self, body: dict[str, Any]) -> dict[str, int]:
        """The three input counts of ``body`` (nothing cached without a breakpoint).

        Raises :class:`CacheRuleBroken` when a mark is misplaced.
        """
        segments, marked = _segments(body)
        hashes: list[str] = []
        ends: list[int] = []  # tokens up to and including each segment
        running = hashlib.sha256()
        total = 0
        for segment in segments:
            running.update(segment.encode())
            hashes.append(running.copy().hexdigest())
            total += len(segment) // 4
            ends.append(total)
        read = 0
        for index in marked:
            for position in range(index, max(index - LOOKBACK, 0) - 1, -1):
                if hashes[position] in self.prefixes:
                    read = max(read, ends[position])
                    break
        written = 0
        for index in marked:
            if ends[index] >= MIN_TOKENS:
                self.prefixes.add(hashes[index])
                written = max(written, ends[index])
        write = max(written - read, 0)
        return {
            "input_tokens": total - read - write,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        }


def _segments(body: dict[str, Any]) -> tuple[list[str], list[int]]:
    """The prompt as canonical JSON pieces, and the indexes of the marked ones."""
    segments: list[str] = []
    marked: list[int] = []

    def add(block: Any, where: str, allowed: bool) -> None:
        if isinstance(block, dict) and "cache_control" in block:
            _check_mark(block["cache_control"], where)
            if not allowed:
                kind = block.get("type")
                raise CacheRuleBroken(f"{where}.cache_control: not allowed on {kind} blocks")
            marked.append(len(segments))
            block = {k: v for k, v in block.items() if k != "cache_control"}
        segments.append(json.dumps(block, sort_keys=True))

    for i, tool in enumerate(body.get("tools") or ()):
        add(tool, f"tools.{i}", True)
    system = body.get("system")
    if isinstance(system, str):
        segments.append(json.dumps(system))
    elif isinstance(system, list):
        for i, block in enumerate(system):
            add(block, f"system.{i}", True)
    for i, message in enumerate(body.get("messages") or ()):
        content = message.get("content")
        segments.append(message.get("role", ""))
        if isinstance(content, str):
            segments.append(json.dumps(content))
            continue
        for j, block in enumerate(content or ()):
            allowed = isinstance(block, dict) and block.get("type") in CACHEABLE
            if allowed and block.get("type") == "text" and not str(block.get("text", "")).strip():
                allowed = False
            add(block, f"messages.{i}.content.{j}", allowed)
    if len(marked) > MAX_BREAKPOINTS:
        raise CacheRuleBroken(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(marked)}."
        )
    return segments, marked


def _check_mark(mark: Any, where: str) -> None:
    if not isinstance(mark, dict) or mark.get("type") != "ephemeral":
        raise CacheRuleBroken(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if set(mark) - {"type", "ttl"} or mark.get("ttl", "5m") not in ("5m", "1h"):
        raise CacheRuleBroken(f"{where}.cache_control: only `type` and `ttl` (5m, 1h) are allowed")
