"""The echo API's wire format, and the mapping between it and the Allos conversation model.

A request body::

    {"model": "echo-1", "system": "...", "tools": ["lookup"],
     "messages": [{"role": "user", "text": "hi"},
                  {"role": "assistant", "text": "", "calls": [{"id": "c1", "name": "lookup",
                                                              "arguments": "{\"word\": \"x\"}"}]},
                  {"role": "tool", "call_id": "c1", "text": "x: ...", "error": false}]}

An answer: ``{"status": 200, "text": "...", "calls": [...], "usage": {"in": 12, "out": 3}}``, or
``{"status": 429, "error": "slow down"}``. Nothing outside this plugin knows this format.
"""

from __future__ import annotations

from typing import Any

from allos_core.messages import Message, Usage
from allos_core.providers import (
    ModelRequest,
    ModelResponse,
    error_for_status,
    portable_call_id,
    tool_call_arguments_json,
    tool_call_from_json,
)

PROVIDER = "echo"


def request_body(request: ModelRequest, model: str) -> dict[str, Any]:
    """The conversation in the echo wire format (system text apart, ids made portable)."""
    system = [m.text for m in request.messages if m.role == "system"]
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            for result in message.tool_results_parts:
                messages.append(
                    {
                        "role": "tool",
                        "call_id": portable_call_id(result.call_id),
                        "text": result.content,
                        "error": result.is_error,
                    }
                )
            continue
        entry: dict[str, Any] = {"role": message.role, "text": message.text}
        if message.tool_calls:
            entry["calls"] = [
                {
                    "id": portable_call_id(call.id),
                    "name": call.name,
                    "arguments": tool_call_arguments_json(call),
                }
                for call in message.tool_calls
            ]
        messages.append(entry)
    return {
        "model": model,
        "system": "\n\n".join(system),
        "tools": [tool.name for tool in request.tools],
        "messages": messages,
    }


def response_from(answer: dict[str, Any], model: str) -> ModelResponse:
    """An answer of the echo API as a :class:`ModelResponse` (or the Allos error it means)."""
    status = int(answer.get("status", 200))
    if status >= 400:
        raise error_for_status(PROVIDER, status, str(answer.get("error", "")), model=model)
    calls = [
        tool_call_from_json(spec.get("id"), spec["name"], spec.get("arguments"))
        for spec in answer.get("calls") or []
    ]
    counts = answer.get("usage") or {}
    usage = Usage(
        input_tokens=int(counts.get("in", 0)), output_tokens=int(counts.get("out", 0)), requests=1
    )
    message = Message.assistant(
        answer.get("text", ""), calls, provider=PROVIDER, model=model, usage=usage
    )
    finish = "tool_calls" if calls else "stop"
    return ModelResponse(message=message, usage=usage, finish_reason=finish, model=model)
