"""What each real API accepts for structured output, for the validating fake servers.

Each function returns the error message the real API would answer a request with (400), or
None when the request is acceptable:

- OpenAI ``response_format``: ``type`` text / json_object / json_schema; a ``json_schema`` has a
  ``name`` matching ``^[a-zA-Z0-9_-]{1,64}$`` and an object ``schema`` whose root is
  ``type: object``; with ``strict: true`` every object sets ``additionalProperties: false`` and
  lists every property in ``required``. ``tool_choice`` is none / auto / required or a named
  function, and only with ``tools``.
- Anthropic ``output_config.format``: ``{"type": "json_schema", "schema": {...}}`` with
  ``additionalProperties: false`` on every object and none of the unsupported constraints
  (``minimum``, ``maxLength``...); ``tool_choice`` is auto / any / tool / none, only with tools.
- Ollama ``format``: ``"json"`` or a JSON schema object.
"""

from __future__ import annotations

import re
from typing import Any

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ANTHROPIC_UNSUPPORTED = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
    }
)


def _objects(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every object schema inside ``node``, with where it is (``()`` for the root)."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append((path or "()", node))
        for key, value in node.items():
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                for name, child in value.items():
                    found.extend(_objects(child, f"{path}.{key}.{name}"))
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
                for i, child in enumerate(value):
                    found.extend(_objects(child, f"{path}.{key}[{i}]"))
            elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
                found.extend(_objects(value, f"{path}.{key}"))
    return found


def _keywords(node: Any) -> set[str]:
    if isinstance(node, dict):
        keys = set(node)
        for key, value in node.items():
            if key not in ("properties", "$defs", "definitions"):
                keys |= _keywords(value)
            else:
                for child in (value or {}).values():
                    keys |= _keywords(child)
        return keys
    if isinstance(node, list):
        return set().union(*(_keywords(item) for item in node)) if node else set()
    return set()


def openai_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    """(message, param) for a ``response_format`` / ``tool_choice`` the API rejects."""
    choice = body.get("tool_choice")
    if choice is not None:
        if isinstance(choice, str) and choice not in ("none", "auto", "required"):
            return f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.", "tool_choice"  # fmt: skip
        if not body.get("tools"):
            return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice"  # fmt: skip
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        return "Invalid value for 'response_format.type'.", "response_format.type"
    if fmt["type"] != "json_schema":
        return None
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict):
        return "Missing required parameter: 'response_format.json_schema'.", "response_format"
    name = spec.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        return "Invalid 'response_format.json_schema.name': string does not match pattern.", "response_format.json_schema.name"  # fmt: skip
    schema = spec.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return f"Invalid schema for response_format '{name}': schema must be a JSON Schema of 'type: \"object\"'.", "response_format"  # fmt: skip
    if spec.get("strict") is True:
        for where, node in _objects(schema):
            if node.get("additionalProperties") is not False:
                return f"Invalid schema for response_format '{name}': In context={where}, 'additionalProperties' is required to be supplied and to be false.", "response_format"  # fmt: skip
            missing = [k for k in node.get("properties") or {} if k not in (node.get("required") or [])]  # fmt: skip
            if missing:
                return f"Invalid schema for response_format '{name}': In context={where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{missing[0]}'.", "response_format"  # fmt: skip
    return None


def anthropic_problem(body: dict[str, Any]) -> str | None:
    """The message for an ``output_config`` / ``tool_choice`` the Messages API rejects."""
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in (
            "auto",
            "any",
            "tool",
            "none",
        ):
            return "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"  # fmt: skip
        if choice["type"] != "none" and not body.get("tools"):
            return "tool_choice: tool_choice may only be specified while providing tools"
    config = body.get("output_config")
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) - {"format", "effort"}:
        return "output_config: Extra inputs are not permitted"
    fmt = config.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):  # fmt: skip
        return "output_config.format: expected {'type': 'json_schema', 'schema': {...}}"
    schema = fmt["schema"]
    for where, node in _objects(schema):
        if node.get("additionalProperties") is not False:
            return f"output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false (at {where})"  # fmt: skip
    unsupported = sorted(_keywords(schema) & ANTHROPIC_UNSUPPORTED)
    if unsupported:
        return f"output_config.format.schema: unsupported keyword '{unsupported[0]}'"
    return None


def ollama_problem(body: dict[str, Any]) -> str | None:
    """The message for a ``format`` Ollama rejects."""
    fmt = body.get("format")
    if fmt is None or fmt in ("", "json"):
        return None
    if not isinstance(fmt, dict):
        return f'invalid format: "{fmt}"; expected "json" or a JSON schema'
    if "type" not in fmt and "$ref" not in fmt and "anyOf" not in fmt:
        return "invalid JSON schema in format"
    return None
