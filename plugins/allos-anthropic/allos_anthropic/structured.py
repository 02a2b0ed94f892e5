"""Structured output on the Messages API: ``output_config.format``, or a forced tool call.

The anthropic SDK here supports structured outputs: native requests carry ``output_config =
{"format": {"type": "json_schema", "schema": ...}}`` with the schema passed through the SDK's own
``anthropic.transform_schema`` (``additionalProperties: false`` everywhere, unsupported
constraints moved into descriptions), which is what the API accepts. The fallback (a
final-answer tool) sets ``tool_choice = {"type": "any"}`` so the model must call a tool.
"""

from __future__ import annotations

from typing import Any

from allos_core.providers import OutputSchema


def output_params(output: OutputSchema) -> dict[str, Any]:
    """The request parameters that ask for ``output``."""
    if output.tool:
        return {"tool_choice": {"type": "any"}}
    from anthropic import transform_schema

    schema = transform_schema(output.schema)
    return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}
