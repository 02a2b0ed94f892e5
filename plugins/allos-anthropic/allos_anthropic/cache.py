"""Prompt caching on the Messages API: where the ``cache_control`` breakpoints go.

Anthropic caches a prompt prefix only where the request marks it, at most four marks a request.
Allos marks, by default (``cache=False`` or ``--no-cache`` turns it off):

1. the last tool definition (the tools are the start of every prompt);
2. the system prompt (made a list of text blocks, the mark on the last one);
3. the end of the conversation (the last block of the last message), which writes this
   request's prefix for the next turn;
4. the end of the previous request (the last block of the message three from the end: in a
   tool loop, the user turn before the latest assistant turn and its results), which reads the
   prefix the previous turn wrote even when the new turn added many blocks.

A mark goes only on blocks that may carry one (text, image, document, tool_use, tool_result; not
thinking blocks, which are cached with their turn) and never twice on a block. A request that
already has a mark of the caller's own is left alone.
"""

from __future__ import annotations

from typing import Any

#: the mark Allos uses (the default five-minute cache)
EPHEMERAL = {"type": "ephemeral"}
#: block types the API accepts ``cache_control`` on
CACHEABLE = frozenset({"text", "image", "document", "tool_use", "tool_result"})
MAX_BREAKPOINTS = 4


def add_cache_breakpoints(params: dict[str, Any]) -> None:
    """Mark ``params`` (a Messages API body) for caching, as the module docstring says."""
    if _has_marks(params):
        return
    marks = 0
    tools = params.get("tools")
    if tools:
        tools[-1] = {**tools[-1], "cache_control": EPHEMERAL}
        marks += 1
    system = params.get("system")
    if isinstance(system, str) and system:
        params["system"] = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]
        marks += 1
    messages = params.get("messages") or []
    for position in (len(messages) - 1, len(messages) - 3):
        if marks >= MAX_BREAKPOINTS or position < 0:
            break
        if _mark_last_block(messages, position):
            marks += 1


def _mark_last_block(messages: list[dict[str, Any]], position: int) -> bool:
    message = messages[position]
    content = message.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return False
    for index in range(len(content) - 1, -1, -1):
        block = content[index]
        if block.get("type") in CACHEABLE:
            if "cache_control" in block:
                return False
            content = list(content)
            content[index] = {**block, "cache_control": EPHEMERAL}
            messages[position] = {**message, "content": content}
            return True
    return False


def _has_marks(params: dict[str, Any]) -> bool:
    system = params.get("system")
    blocks = [*(params.get("tools") or ()), *(system if isinstance(system, list) else ())]
    for message in params.get("messages") or ():
        content = message.get("content")
        if isinstance(content, list):
            blocks.extend(content)
    return any(isinstance(block, dict) and "cache_control" in block for block in blocks)
