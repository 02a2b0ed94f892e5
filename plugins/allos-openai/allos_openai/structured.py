"""Structured output on Chat Completions: ``response_format`` with a JSON schema.

Native (``OutputSchema.tool`` False): ``response_format = {"type": "json_schema", "json_schema":
{"name", "schema", "strict", "description"}}``; ``strict`` only when the schema meets the strict
rules (the core checks: every property required, ``additionalProperties: false``), since the API
rejects a strict schema that does not. The fallback (a final-answer tool): ``tool_choice =
"required"``, so the model must call a tool, that one in the end.

A server without ``response_format`` (some OpenAI-compatible ones) is configured with
``structured_output = false`` under ``[providers.openai]``: the agent then uses the fallback.
"""

from __future__ import annotations

from typing import Any

from allos_core.providers import Capabilities, OutputSchema

#: the capabilities of a server configured without native structured output
WITHOUT_NATIVE = Capabilities(streaming=True, tools=True, parallel_tool_calls=True)


def output_body(output: OutputSchema) -> dict[str, Any]:
    """The request keys that ask for ``output``."""
    if output.tool:
        return {"tool_choice": "required"}
    json_schema: dict[str, Any] = {"name": output.name, "schema": output.schema}
    if output.description:
        json_schema["description"] = output.description
    if output.strict:
        json_schema["strict"] = True
    return {"response_format": {"type": "json_schema", "json_schema": json_schema}}
