"""Neutral conversation -> Anthropic Messages API request parts.

Anthropic's rules, and what this module does about each:

- There is no ``system`` role inside ``messages``: system messages become the top-level
  ``system`` string (joined by blank lines, in order).
- Roles alternate, starting with ``user``: consecutive messages of one role are merged; a
  conversation that starts with the assistant gets a short user turn in front.
- A ``tool_use`` block must be answered by ``tool_result`` blocks in the very next user message,
  and those blocks come first in it: neutral ``tool`` messages become user messages with
  ``tool_result`` blocks, merged with a user message that follows (results first, then text).
- Ids must match ``^[a-zA-Z0-9_-]+$`` and be unique: ids from other providers (OpenAI, Ollama,
  hand-written sessions) are made portable with :func:`allos_core.providers.portable_call_id`,
  on the call and on its result alike, so they still match; repeated ids are told apart.
- No empty text blocks: empty or whitespace-only text is dropped.
- Reasoning made by Claude goes back byte for byte: a signed ``thinking`` block (or a
  ``redacted_thinking`` one) before the text and tool calls of its message, as the API requires
  in a tool loop with extended thinking. Reasoning from other providers, or thinking that lost
  its signature, is dropped: Claude cannot verify it.

Defensive repairs keep a request valid even for a conversation that is not (an interrupted run):
a call left without a result is answered with an error result, and a result that answers no call
of the previous assistant turn is kept as plain text.

No SDK import: this module builds plain dicts the ``anthropic`` SDK sends as they are.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

from allos_core.providers import portable_call_id

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message
    from allos_core.providers import ToolSchema

PROVIDER = "anthropic"
#: text of the user turn put in front of a conversation that starts with the assistant
LEADING_USER_TEXT = "(continuing an earlier conversation)"
#: content of the error result given to a tool call that has no result
MISSING_RESULT_TEXT = "error: this tool call was not run, so it has no result"

Block = dict[str, Any]
Turn = dict[str, Any]  # {"role": "user" | "assistant", "content": [Block, ...]}


def to_anthropic(messages: list[Message]) -> tuple[str | None, list[Turn]]:
    """Map a neutral conversation to Anthropic's ``(system, messages)``.

    ``system`` is None when the conversation has no system text.
    """
    system_texts = [m.text for m in messages if m.role == "system" and m.text.strip()]
    turns = _merge([_turn(m) for m in messages if m.role != "system"])
    if turns and turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [_text(LEADING_USER_TEXT)]})
    turns = _pair_tool_blocks(turns)
    return ("\n\n".join(system_texts) or None), turns


def tools_to_anthropic(tools: list[ToolSchema]) -> list[Block]:
    """Tool schemas as Anthropic ``tools`` entries: name, description, input_schema."""
    result = []
    for tool in tools:
        schema = dict(tool.parameters or {})
        schema.setdefault("type", "object")
        if schema["type"] == "object":
            schema.setdefault("properties", {})
        entry: Block = {"name": tool.name, "input_schema": schema}
        if tool.description:
            entry["description"] = tool.description
        result.append(entry)
    return result


# -- steps -----------------------------------------------------------------------------------------


def _text(text: str) -> Block:
    return {"type": "text", "text": text}


def _turn(message: Message) -> Turn:
    """One neutral message as an Anthropic turn; ids are still the neutral ones here."""
    role = "assistant" if message.role == "assistant" else "user"
    blocks: list[Block] = []
    for part in message.parts:
        if part.type == "text":
            if part.text.strip():
                blocks.append(_text(part.text))
        elif part.type == "reasoning":
            if role == "assistant" and part.provider == PROVIDER:
                thinking = reasoning_block(part)
                if thinking is not None:
                    blocks.append(thinking)
        elif part.type == "tool_call":
            if role == "assistant":
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": part.id,
                        "name": part.name,
                        # a call whose arguments did not parse still needs an input object:
                        # the agent answers it with an error result
                        "input": dict(part.arguments),
                    }
                )
            else:  # a tool call outside an assistant message cannot be sent as one
                blocks.append(_text(f"[tool call {part.name}: {part.arguments}]"))
        elif part.type == "image":
            blocks.append(image_block(part))
        elif part.type == "tool_result":
            block: Block = {"type": "tool_result", "tool_use_id": part.call_id}
            if part.images:
                content: list[Block] = [_text(part.content)] if part.content.strip() else []
                block["content"] = content + [image_block(image) for image in part.images]
            elif part.content:
                block["content"] = part.content
            if part.is_error:
                block["is_error"] = True
            block["_name"] = part.name  # kept for the text fallback, removed before sending
            blocks.append(block)
    return {"role": role, "content": blocks}


def image_block(part: Any) -> Block:
    """An image part as an Anthropic base64 image block."""
    source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    return {"type": "image", "source": source}


def reasoning_block(part: Any) -> Block | None:
    """A Claude reasoning part as the block it came in, or None if it cannot be sent back."""
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.redacted}
    if part.signature:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None


def starts_with_thinking(turn: Turn) -> bool:
    """Whether an assistant turn starts with a (redacted) thinking block."""
    content = turn.get("content") or []
    return bool(content) and content[0].get("type") in ("thinking", "redacted_thinking")


def _merge(turns: list[Turn]) -> list[Turn]:
    """Drop empty turns and merge consecutive turns of the same role."""
    merged: list[Turn] = []
    for turn in turns:
        if not turn["content"]:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append({"role": turn["role"], "content": list(turn["content"])})
    return merged


class _IdMaker:
    """Portable ids, unique within one request."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, original: str) -> str:
        base = portable_call_id(original)
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            candidate = f"{base[:34]}_{n}"
        self.used.add(candidate)
        return candidate


def _pair_tool_blocks(turns: list[Turn]) -> list[Turn]:
    """Give tool_use / tool_result blocks portable ids and make every call answered exactly once."""
    ids = _IdMaker()
    out: list[Turn] = []
    # original call id -> new ids of the open calls of the previous assistant turn, in order
    open_calls: dict[str, deque[str]] = {}
    unanswered: list[str] = []
    for turn in turns:
        if turn["role"] == "assistant":
            if unanswered:  # previous assistant turn's calls got no user turn at all
                out.append({"role": "user", "content": [_missing(i) for i in unanswered]})
            open_calls = defaultdict(deque)
            unanswered = []
            for block in turn["content"]:
                if block["type"] == "tool_use":
                    new_id = ids.make(block["id"])
                    open_calls[block["id"]].append(new_id)
                    unanswered.append(new_id)
                    block["id"] = new_id
            out.append(turn)
            continue
        results: list[Block] = []
        others: list[Block] = []
        for block in turn["content"]:
            if block["type"] != "tool_result":
                others.append(block)
                continue
            name = block.pop("_name", "")
            queue = open_calls.get(block["tool_use_id"])
            if queue:
                block["tool_use_id"] = queue.popleft()
                unanswered.remove(block["tool_use_id"])
                results.append(block)
            else:  # answers no call of the previous assistant turn: keep it as text
                others.append(_orphan_text(block, name))
        results.extend(_missing(i) for i in unanswered)
        open_calls, unanswered = {}, []
        turn["content"] = results + others
        out.append(turn)
    if unanswered:
        out.append({"role": "user", "content": [_missing(i) for i in unanswered]})
    return out


def _missing(call_id: str) -> Block:
    return {
        "type": "tool_result",
        "tool_use_id": call_id,
        "content": MISSING_RESULT_TEXT,
        "is_error": True,
    }


def _orphan_text(block: Block, name: str) -> Block:
    label = f"result of tool {name}" if name else "tool result"
    if block.get("is_error"):
        label += " (error)"
    content = block.get("content", "")
    if isinstance(content, list):  # text and images: the text only
        content = "".join(b.get("text", "") for b in content)
    return _text(f"[{label}]\n{content}")
