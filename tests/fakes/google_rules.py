"""What the Gemini API refuses, for the fake server: request validation and error bodies.

Each rule raises :class:`RequestRejected` with the status and (close to) the message the real API
gives; :mod:`fakes.google_server` turns it into Google's error JSON.
"""

from __future__ import annotations

import re
from typing import Any

from fakes.base import Reply

SKIP_SIGNATURE = "skip_thought_signature_validator"

NAME_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
SCHEMA_TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"})
PART_DATA = ("text", "functionCall", "functionResponse", "inlineData", "fileData")


def error_body(status: int, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Google's error JSON."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


class RequestRejected(Exception):
    """A request the real API would refuse."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def reply(self) -> Reply:
        return Reply.error(self.status, error_body(self.status, self.message))


def bad(message: str) -> RequestRejected:
    return RequestRejected(400, message)


def validate_generate_body(
    body: Any, *, signing: bool = False, issued: set[str] | None = None
) -> None:
    """Raise :class:`RequestRejected` for a body the real API would refuse."""
    if not isinstance(body, dict):
        raise bad("Invalid JSON payload received.")
    known = {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "generationConfig",
        "safetySettings",
        "cachedContent",
        "labels",
    }
    for key in body:
        if key not in known:
            raise bad(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    _validate_system(body.get("systemInstruction"))
    _validate_tools(body.get("tools"))
    _validate_generation_config(body.get("generationConfig"))
    _validate_contents(body.get("contents"), signing=signing, issued=issued or set())


def _validate_system(system: Any) -> None:
    if system is None:
        return
    if not isinstance(system, dict) or not isinstance(system.get("parts"), list):
        raise bad("systemInstruction: must be a Content with parts")
    for i, part in enumerate(system["parts"]):
        if set(part) - {"text"} or not str(part.get("text", "")).strip():
            raise bad(f"systemInstruction.parts[{i}]: only non-empty text parts are allowed")


def _validate_generation_config(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise bad("generationConfig: must be an object")
    temperature = config.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise bad("generationConfig.temperature: must be between 0 and 2")
    limit = config.get("maxOutputTokens")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise bad("generationConfig.maxOutputTokens: must be a positive integer")


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise bad("tools: must be a list")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        if not isinstance(declarations, list):
            raise bad(f"tools[{i}]: only functionDeclarations are served by this fake")
        for j, declaration in enumerate(declarations):
            where = f"tools[{i}].function_declarations[{j}]"
            name = declaration.get("name")
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                raise bad(
                    f"* GenerateContentRequest.{where}.name: Invalid function name. Must start "
                    "with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), "
                    "underscores (_), dots (.), colons (:), or dashes (-), with a maximum "
                    "length of 64."
                )
            if name in names:
                raise bad(f"* GenerateContentRequest.{where}.name: duplicate function name {name}")
            names.add(name)
            for key in declaration:
                if key not in ("name", "description", "parameters", "response", "behavior"):
                    raise bad(f'Invalid JSON payload received. Unknown name "{key}" at {where}')
            parameters = declaration.get("parameters")
            if parameters is not None:
                parameters = _proto_json(parameters)
                _validate_schema(parameters, f"{where}.parameters")
                if _type(parameters) == "OBJECT" and not parameters.get("properties"):
                    raise bad(
                        f"* GenerateContentRequest.{where}.parameters.properties: should be "
                        "non-empty for OBJECT type"
                    )


def _type(schema: dict[str, Any]) -> str:
    return str(schema.get("type", "")).upper()


def _proto_json(value: dict[str, Any]) -> dict[str, Any]:
    """Keys in lowerCamelCase: proto JSON accepts a field's original snake_case name too."""
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): v for k, v in value.items()}


def _validate_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise bad(f"{where}: must be a Schema object")
    schema = _proto_json(schema)
    for key in schema:
        if key not in SCHEMA_KEYS:
            raise bad(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                "Cannot find field."
            )
    kind = _type(schema)
    if "type" in schema and kind not in SCHEMA_TYPES:
        raise bad(f"{where}.type: invalid value {schema['type']!r}")
    if "enum" in schema and (
        kind != "STRING" or not all(isinstance(v, str) for v in schema["enum"])
    ):
        raise bad(f"* GenerateContentRequest.{where}.enum: only allowed for STRING type")
    formats = {
        "STRING": {"enum", "date-time"},
        "INTEGER": {"int32", "int64"},
        "NUMBER": {"float", "double"},
    }
    if "format" in schema and schema["format"] not in formats.get(kind, set()):
        raise bad(f"* GenerateContentRequest.{where}.format: unsupported format for {kind}")
    if kind == "ARRAY" and "items" not in schema:
        raise bad(f"* GenerateContentRequest.{where}.items: missing field.")
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise bad(f"{where}.properties: must be a map")
        for name, sub in properties.items():
            _validate_schema(sub, f"{where}.properties[{name}]")
    for name in schema.get("required") or []:
        if not isinstance(properties, dict) or name not in properties:
            raise bad(f"* GenerateContentRequest.{where}.required[{name}]: property is not defined")
    if "items" in schema:
        _validate_schema(schema["items"], f"{where}.items")
    for k, sub in enumerate(schema.get("anyOf") or []):
        _validate_schema(sub, f"{where}.any_of[{k}]")


def _validate_contents(contents: Any, *, signing: bool, issued: set[str]) -> None:
    if not isinstance(contents, list) or not contents:
        raise bad("* GenerateContentRequest.contents: contents is not specified")
    previous: str | None = None
    open_calls: list[dict[str, Any]] = []
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        role = content.get("role") if isinstance(content, dict) else None
        if role not in ("user", "model"):
            raise bad(
                f"* GenerateContentRequest.{where}.role: must be 'user' or 'model', got {role!r}"
            )
        if i == 0 and role != "user":
            raise bad("Please ensure that multiturn requests start with a user turn.")
        if role == previous:
            raise bad("Please ensure that multiturn requests alternate between user and model.")
        previous = role
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise bad(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.")
        for j, part in enumerate(parts):
            _validate_part(part, f"{where}.parts[{j}]", role)
        if role == "model":
            open_calls = [p["functionCall"] for p in parts if "functionCall" in p]
            continue
        responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
        if responses and not open_calls:
            raise bad(
                "Please ensure that function response turn comes immediately after a function "
                "call turn."
            )
        if open_calls:
            if len(responses) != len(open_calls):
                raise bad(
                    "Please ensure that the number of function response parts is equal to the "
                    "number of function call parts of the function call turn."
                )
            first_other = next(
                (k for k, p in enumerate(parts) if "functionResponse" not in p), None
            )
            if first_other is not None and first_other < len(responses):
                raise bad(f"{where}: function response parts must come before other parts")
            for call, response in zip(open_calls, responses, strict=True):
                if call.get("name") != response.get("name"):
                    raise bad(
                        f"{where}: function response {response.get('name')!r} does not answer "
                        f"the function call {call.get('name')!r} in its place"
                    )
                if (call.get("id") or response.get("id")) and call.get("id") != response.get("id"):
                    raise bad(
                        f"{where}: function response id {response.get('id')!r} matches no call"
                    )
        open_calls = []
    if signing:
        _check_signatures(contents, issued)


def _validate_part(part: Any, where: str, role: str) -> None:
    if not isinstance(part, dict):
        raise bad(f"{where}: must be a Part object")
    data = [k for k in PART_DATA if k in part]
    if len(data) != 1:
        raise bad(
            f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field"
        )
    for key in part:
        if key not in (*PART_DATA, "thought", "thoughtSignature"):
            raise bad(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}'")
    if "text" in part and not str(part["text"]).strip():
        raise bad(
            "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again."
        )
    if "functionCall" in part:
        if role != "model":
            raise bad(f"{where}: functionCall parts are only allowed in model turns")
        call = part["functionCall"]
        if not isinstance(call.get("name"), str) or not call["name"]:
            raise bad(f"* GenerateContentRequest.{where}.function_call.name: Name cannot be empty.")
        if "args" in call and not isinstance(call["args"], dict):
            raise bad(f"{where}.function_call.args: must be an object")
    if "functionResponse" in part:
        if role != "user":
            raise bad(f"{where}: functionResponse parts are only allowed in user turns")
        response = part["functionResponse"]
        if not isinstance(response.get("name"), str) or not response["name"]:
            raise bad(
                f"* GenerateContentRequest.{where}.function_response.name: Name cannot be empty."
            )
        if not isinstance(response.get("response"), dict):
            raise bad(
                f"* GenerateContentRequest.{where}.function_response.response: must be an object"
            )


def _check_signatures(contents: list[dict[str, Any]], issued: set[str]) -> None:
    start = 0
    for i, content in enumerate(contents):
        if content["role"] == "user" and any("text" in p for p in content["parts"]):
            start = i + 1
    for i in range(start, len(contents)):
        content = contents[i]
        calls = [p for p in content["parts"] if "functionCall" in p]
        if content["role"] != "model" or not calls:
            continue
        signature = calls[0].get("thoughtSignature")
        if not signature:
            raise bad(
                f"Function call is missing a thought_signature in functionCall parts. This is "
                f"required for tools to work correctly, and missing thought_signature may lead "
                f"to degraded model performance. Additional data, function call `default_api:"
                f"{calls[0]['functionCall']['name']}` , position {i + 1}. Please refer to "
                "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            )
        if signature != SKIP_SIGNATURE and signature not in issued:
            raise bad(f"contents[{i}]: Thought signature is not valid.")
