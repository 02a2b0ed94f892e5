"""Neutral conversation -> Gemini ``contents``, ``system_instruction`` and function declarations.

Gemini's rules, and what this module does about each:

- Roles are ``user`` and ``model`` only; system messages become ``system_instruction`` (joined by
  blank lines). Neutral ``tool`` messages are user turns of ``function_response`` parts.
- A turn of ``function_call`` parts must be answered by the very next user turn, with one
  ``function_response`` (same name) per call, in order, before any text: consecutive turns of
  one role are merged, a conversation that starts with the model gets a short user turn in
  front, a call left without a result gets an error response, and a result that answers no call
  of the previous model turn is kept as plain text.
- Gemini's calls often carry no id, and then an id must not be invented on the wire: a call is
  sent with an ``id`` only when Gemini gave it one (remembered in :class:`CallMemory`); calls
  from other providers are paired by position and name.
- Gemini 3 models sign their function calls (``thought_signature``) and refuse a request whose
  current turn (since the last user text) has an unsigned call: the signatures Gemini sent are
  remembered and sent back; a call that has none (made by another provider, or before a resume)
  gets Google's documented placeholder, which tells the API to skip the check.
- No empty text parts: empty or whitespace-only text is dropped.

No SDK import: this module builds plain dicts the SDK validates and sends.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allos_google.schema import parameters_for

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message
    from allos_core.providers import ToolSchema

#: text of the user turn put in front of a conversation that starts with the model
LEADING_USER_TEXT = "(continuing an earlier conversation)"
#: content of the error response given to a function call that has no result
MISSING_RESULT_TEXT = "error: this tool call was not run, so it has no result"
#: Google's placeholder signature for calls that Gemini did not sign (bytes whose base64 is it)
SKIP_SIGNATURE = base64.urlsafe_b64decode("skip_thought_signature_validator")
#: model families that do not sign function calls (no placeholder is sent to them)
UNSIGNED_FAMILIES = ("gemini-1", "gemini-2.0", "gemini-2.5", "gemma", "learnlm")

Part = dict[str, Any]
Content = dict[str, Any]  # {"role": "user" | "model", "parts": [Part, ...]}


@dataclass
class _Known:
    wire_id: str | None
    signature: bytes | None


@dataclass
class CallMemory:
    """What Gemini said about its calls that the neutral model does not keep: wire ids, signatures.

    One per provider instance, so it lives as long as the agent's conversation; after a resume
    the calls of earlier turns are no longer in the current turn and need neither.
    """

    known: dict[str, _Known] = field(default_factory=dict)

    def remember(self, call_id: str, wire_id: str | None, signature: bytes | None) -> None:
        self.known[call_id] = _Known(wire_id, signature)

    def wire_id(self, call_id: str) -> str | None:
        known = self.known.get(call_id)
        return known.wire_id if known else None

    def signature(self, call_id: str) -> bytes | None:
        known = self.known.get(call_id)
        return known.signature if known else None


def needs_signatures(model: str) -> bool:
    """Whether ``model`` checks thought signatures on the current turn's calls (Gemini 3 on)."""
    name = model.strip().lower().removeprefix("models/")
    return not name.startswith(UNSIGNED_FAMILIES)


def to_gemini(
    messages: list[Message], memory: CallMemory | None = None, *, model: str = ""
) -> tuple[Content | None, list[Content]]:
    """Map a neutral conversation to Gemini's ``(system_instruction, contents)``."""
    memory = memory or CallMemory()
    system_texts = [m.text for m in messages if m.role == "system" and m.text.strip()]
    turns = _merge([_turn(m, memory) for m in messages if m.role != "system"])
    if turns and turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "parts": [{"text": LEADING_USER_TEXT}]})
    turns = _pair(turns)
    if needs_signatures(model):
        _sign_current_turn(turns, memory)
    for turn in turns:
        for part in turn["parts"]:
            part.pop("_call_id", None)
    system = {"parts": [{"text": "\n\n".join(system_texts)}]} if system_texts else None
    return system, turns


def tools_to_gemini(tools: Iterable[ToolSchema]) -> list[dict[str, Any]]:
    """Tool schemas as one Gemini ``Tool`` of function declarations (empty list for no tools)."""
    declarations = []
    for tool in tools:
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.description:
            declaration["description"] = tool.description
        parameters = parameters_for(tool.parameters)
        if parameters is not None:
            declaration["parameters"] = parameters
        declarations.append(declaration)
    return [{"function_declarations": declarations}] if declarations else []


# -- steps -----------------------------------------------------------------------------------------


def _turn(message: Message, memory: CallMemory) -> Content:
    role = "model" if message.role == "assistant" else "user"
    parts: list[Part] = []
    for part in message.parts:
        if part.type == "text":
            if part.text.strip():
                parts.append({"text": part.text})
        elif part.type == "tool_call":
            if role != "model":  # a call outside an assistant message cannot be sent as one
                parts.append({"text": f"[tool call {part.name}: {part.arguments}]"})
                continue
            call: dict[str, Any] = {"name": part.name, "args": dict(part.arguments)}
            wire_id = memory.wire_id(part.id)
            if wire_id:
                call["id"] = wire_id
            sent: Part = {"function_call": call, "_call_id": part.id}
            signature = memory.signature(part.id)
            if signature:
                sent["thought_signature"] = signature
            parts.append(sent)
        elif part.type == "tool_result":
            key = "error" if part.is_error else "output"
            response: dict[str, Any] = {"name": part.name, "response": {key: part.content}}
            wire_id = memory.wire_id(part.call_id)
            if wire_id:
                response["id"] = wire_id
            parts.append({"function_response": response, "_call_id": part.call_id})
    return {"role": role, "parts": parts}


def _merge(turns: list[Content]) -> list[Content]:
    """Drop empty turns and merge consecutive turns of one role."""
    merged: list[Content] = []
    for turn in turns:
        if not turn["parts"]:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["parts"].extend(turn["parts"])
        else:
            merged.append({"role": turn["role"], "parts": list(turn["parts"])})
    return merged


def _pair(turns: list[Content]) -> list[Content]:
    """Make every model turn's calls answered, in order, by the next user turn."""
    out: list[Content] = []
    open_calls: list[Part] = []  # the function_call parts of the previous model turn
    for turn in turns:
        if turn["role"] == "model":
            if open_calls:  # the previous model turn got no user turn at all
                out.append({"role": "user", "parts": [_missing(c) for c in open_calls]})
            open_calls = [p for p in turn["parts"] if "function_call" in p]
            out.append(turn)
            continue
        answers: dict[str, Part] = {}
        others: list[Part] = []
        for part in turn["parts"]:
            if "function_response" not in part:
                others.append(part)
                continue
            call_id = part["_call_id"]
            if any(c["_call_id"] == call_id for c in open_calls) and call_id not in answers:
                answers[call_id] = part
            else:
                others.append(_orphan_text(part["function_response"]))
        responses = [answers.get(c["_call_id"]) or _missing(c) for c in open_calls]
        open_calls = []
        turn["parts"] = responses + others
        out.append(turn)
    if open_calls:
        out.append({"role": "user", "parts": [_missing(c) for c in open_calls]})
    return out


def _sign_current_turn(turns: list[Content], memory: CallMemory) -> None:
    """Give the first call of each model step since the last user text a signature."""
    start = 0
    for index, turn in enumerate(turns):
        if turn["role"] == "user" and any("text" in p for p in turn["parts"]):
            start = index + 1
    for turn in turns[start:]:
        calls = [p for p in turn["parts"] if "function_call" in p]
        if turn["role"] == "model" and calls and not any("thought_signature" in p for p in calls):
            calls[0]["thought_signature"] = SKIP_SIGNATURE


def _missing(call: Part) -> Part:
    function_call = call["function_call"]
    response: dict[str, Any] = {
        "name": function_call["name"],
        "response": {"error": MISSING_RESULT_TEXT},
    }
    if "id" in function_call:
        response["id"] = function_call["id"]
    return {"function_response": response, "_call_id": call["_call_id"]}


def _orphan_text(response: dict[str, Any]) -> Part:
    body = response.get("response") or {}
    is_error = "error" in body
    label = f"result of tool {response.get('name')}" if response.get("name") else "tool result"
    if is_error:
        label += " (error)"
    return {"text": f"[{label}]\n{body.get('error', body.get('output', ''))}"}
