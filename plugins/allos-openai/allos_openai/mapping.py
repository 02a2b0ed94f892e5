"""Map the provider-neutral conversation to Chat Completions and back.

Pure functions over the wire JSON as plain dicts (the provider asks the SDK for undecoded JSON:
building its typed objects for every streamed chunk costs several times the whole parse), so
this module never imports ``openai``.

Outgoing: ``system`` messages keep the system role; an assistant message becomes one message with
``content`` and ``tool_calls`` (arguments as a JSON string); every tool result becomes its own
``tool`` message with ``tool_call_id``. Tool-call ids pass through
:func:`~allos_core.providers.portable_call_id` on both sides, so ids made by another provider (or
generated for one that gives none) still pair a call with its result.

Incoming: text, tool calls (invalid JSON arguments become calls marked with ``parse_error``, never
an exception), a normalised finish reason and usage, and the reasoning that OpenAI-compatible
servers send as ``reasoning_content`` (vLLM, DeepSeek, llama.cpp) or ``reasoning`` (OpenRouter,
newer vLLM), kept as a reasoning part. Reasoning is never sent back: Chat Completions has no
field for it (DeepSeek refuses ``reasoning_content`` in input messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allos_core.providers import (
    ModelResponse,
    ToolSchema,
    portable_call_id,
    tool_call_arguments_json,
    tool_call_from_json,
)

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message, Usage

PROVIDER = "openai"

_FINISH_REASONS = {
    "stop": "stop",
    "end_turn": "stop",
    "eos": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
}


def messages_to_wire(
    messages: list[Message], cache: WireCache | None = None
) -> list[dict[str, Any]]:
    """The Chat Completions ``messages`` for a neutral conversation.

    With a ``cache``, each message's wire form is built once and reused on later turns, so a
    long tool loop costs linear, not quadratic, time.
    """
    wire: list[dict[str, Any]] = []
    if cache is None:
        for message in messages:
            wire.extend(message_to_wire(message))
        return wire
    fresh: dict[int, tuple[Message, list[dict[str, Any]]]] = {}
    for message in messages:
        entry = cache.entries.get(id(message))
        if entry is None or entry[0] is not message:
            entry = (message, message_to_wire(message))
        fresh[id(message)] = entry
        wire.extend(entry[1])
    cache.entries = fresh  # keep only this conversation's messages
    return wire


class WireCache:
    """Wire forms of the messages sent last time, by identity.

    Messages are treated as immutable once they are in a conversation (the agent replaces a
    message rather than editing it), so a message object maps to one wire form.
    """

    def __init__(self) -> None:
        self.entries: dict[int, tuple[Message, list[dict[str, Any]]]] = {}


def message_to_wire(message: Message) -> list[dict[str, Any]]:
    """The Chat Completions message(s) for one neutral message (a tool message may give several)."""
    role = message.role
    text = message.text
    if role == "assistant":
        item: dict[str, Any] = {"role": "assistant", "content": text or None}
        calls = message.tool_calls
        if calls:
            item["tool_calls"] = [
                {
                    "id": portable_call_id(call.id),
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": tool_call_arguments_json(call),
                    },
                }
                for call in calls
            ]
        elif not text:
            item["content"] = ""
        return [item]
    wire: list[dict[str, Any]] = []
    # results first: a tool message must follow the assistant message that asked for it
    results = message.tool_results_parts
    for result in results:
        content = result.content
        if result.is_error and not content.lower().startswith("error"):
            content = f"Error: {content}"
        wire.append(
            {
                "role": "tool",
                "tool_call_id": portable_call_id(result.call_id),
                "content": content,
            }
        )
    shown = [image for result in results for image in result.images]
    if shown:  # tool messages carry only text: the images follow in a user message
        names = ", ".join(dict.fromkeys(r.name for r in results if r.images))
        wire.append(_user_with_images(f"[images returned by {names}]", shown))
    if role == "system":
        wire.append({"role": "system", "content": text})
    elif message.images and role == "user":
        wire.append(_user_with_images(text, message.images))
    elif text or (role == "user" and not results):
        wire.append({"role": "user", "content": text})
    return wire


def _user_with_images(text: str, images: list[Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for image in images:
        url = f"data:{image.media_type};base64,{image.data}"
        content.append({"type": "image_url", "image_url": {"url": url}})
    return {"role": "user", "content": content}


def tools_to_wire(tools: list[ToolSchema]) -> list[dict[str, Any]]:
    """Function tools for the ``tools`` parameter."""
    out = []
    for schema in tools:
        function: dict[str, Any] = {
            "name": schema.name,
            "parameters": schema.parameters or {"type": "object", "properties": {}},
        }
        if schema.description:
            function["description"] = schema.description
        out.append({"type": "function", "function": function})
    return out


def normalise_finish_reason(reason: str | None, has_tool_calls: bool) -> str:
    """One of ``stop``, ``tool_calls``, ``length``, ``content_filter``, ``other``.

    Some OpenAI-compatible servers say ``stop`` (or nothing) when the answer has tool calls; the
    calls decide then.
    """
    normal = _FINISH_REASONS.get(reason or "", "other")
    if has_tool_calls and normal in ("stop", "other"):
        return "tool_calls"
    if reason is None and not has_tool_calls:
        return "stop"
    return normal


def usage_from_wire(usage: Any) -> Usage | None:
    """Usage from a response's ``usage`` object, or None when the server sent none."""
    from allos_core.messages import Usage

    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        requests=1,
        cache_read_tokens=int(cached or 0),
    )


def build_response(
    text: str,
    calls: list[Any],
    finish_reason: str | None,
    usage: Usage,
    model: str,
    reasoning: str = "",
) -> ModelResponse:
    """The neutral :class:`ModelResponse` for an assembled answer."""
    from allos_core.messages import Message, ReasoningPart

    message = Message.assistant(text, calls, provider=PROVIDER, model=model, usage=usage)
    if reasoning:
        message.parts.insert(0, ReasoningPart(text=reasoning, provider=PROVIDER))
    return ModelResponse(
        message=message,
        usage=usage,
        finish_reason=normalise_finish_reason(finish_reason, bool(calls)),
        model=model,
    )


def text_of(content: Any) -> str:
    """The text of a message ``content``: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text") or "" for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def reasoning_of(message: dict[str, Any]) -> str:
    """The reasoning text of a response message or stream delta (empty when there is none)."""
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) else ""


def calls_from_message(message: dict[str, Any]) -> list[Any]:
    """Neutral tool calls from a completion's ``message.tool_calls``."""
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):  # a custom (non-function) tool call: not Allos's
            continue
        calls.append(
            tool_call_from_json(
                call.get("id"), function.get("name") or "", function.get("arguments")
            )
        )
    return calls


class StreamAssembler:
    """Collects streamed chunks into text, tool calls (by index), finish reason and usage."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.model: str | None = None
        self._last_index = -1

    def call_index(self, delta: dict[str, Any]) -> int:
        """The index of a tool-call delta (servers that omit it: a new id opens a new call)."""
        index = delta.get("index")
        if index is not None:
            return int(index)
        call_id = delta.get("id")
        if call_id and all(entry["id"] != call_id for entry in self.calls.values()):
            return max(self.calls, default=-1) + 1
        return self._last_index if self._last_index >= 0 else 0

    def add_tool_delta(self, delta: dict[str, Any]) -> tuple[int, str | None, str | None, str]:
        """Record one tool-call delta; return ``(index, id, name, arguments piece)``."""
        index = self.call_index(delta)
        self._last_index = index
        entry = self.calls.setdefault(index, {"id": None, "name": "", "arguments": []})
        call_id = delta.get("id")
        if call_id:
            entry["id"] = call_id
        function = delta.get("function") or {}
        name = function.get("name")
        piece = function.get("arguments") or ""
        if name and name != entry["name"]:
            # the name usually comes whole in the first delta; join pieces if a server splits it
            entry["name"] = entry["name"] + name if entry["name"] else name
        if piece:
            entry["arguments"].append(piece)
        return index, call_id, name, piece

    def tool_calls(self) -> list[Any]:
        """The assembled calls, in index order."""
        return [
            tool_call_from_json(entry["id"], entry["name"], "".join(entry["arguments"]))
            for _, entry in sorted(self.calls.items())
        ]
