"""The neutral conversation and tool schemas as Gemini accepts them (no network)."""

from __future__ import annotations

from allos_google.mapping import LEADING_USER_TEXT, MISSING_RESULT_TEXT, to_gemini, tools_to_gemini
from allos_google.schema import to_gemini_schema
from fakes.google_server import validate_generate_body
from pydantic import BaseModel

from allos_core.messages import Message, ToolCallPart, ToolResultPart
from allos_core.providers import ToolSchema


def body(messages, tools=()):
    """The request body as the SDK would send it (camelCase keys)."""
    system, contents = to_gemini(messages, model="gemini-2.5-flash")
    result = {"contents": _camel(contents)}
    if system:
        result["systemInstruction"] = system
    if tools:
        result["tools"] = _camel(tools_to_gemini(tools))
    return result


_CAMEL = {
    "function_call": "functionCall",
    "function_response": "functionResponse",
    "function_declarations": "functionDeclarations",
}


def _camel(value):
    """The SDK's field names as the wire spells them (argument values are left alone)."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, dict):
        return {
            _CAMEL.get(k, k): v if k in ("args", "response", "parameters") else _camel(v)
            for k, v in value.items()
        }
    return value


def test_interrupted_run_is_repaired_into_a_valid_request():
    # a conversation that starts with the model, has a call without result, an orphan result,
    # and two user turns in a row
    messages = [
        Message.assistant("", [ToolCallPart(id="a", name="read_file", arguments={"path": "x"})]),
        Message.user("go on"),
        Message.tool_results([ToolResultPart(call_id="zzz", name="read_file", content="stale")]),
        Message.user("   "),
        Message.user("and?"),
    ]
    request = body(messages)
    validate_generate_body(request)  # raises for anything the real API refuses
    contents = request["contents"]
    assert contents[0] == {"role": "user", "parts": [{"text": LEADING_USER_TEXT}]}
    answer = contents[2]["parts"]
    assert answer[0]["functionResponse"]["response"] == {"error": MISSING_RESULT_TEXT}
    assert answer[1] == {"text": "go on"}
    assert answer[2]["text"].startswith("[result of tool read_file]")
    assert [c["role"] for c in contents] == ["user", "model", "user"]


def test_pydantic_schemas_become_the_subset_gemini_accepts():
    class Range(BaseModel):
        start: int
        end: int | None = None

    class Args(BaseModel):
        path: str
        mode: str = "r"
        ranges: list[Range] = []
        extra: dict[str, str] = {}

    schema = Args.model_json_schema()
    schema["additionalProperties"] = False
    tool = ToolSchema("read_file", "Read.", schema)
    request = body([Message.user("x")], [tool])
    validate_generate_body(request)
    parameters = request["tools"][0]["functionDeclarations"][0]["parameters"]
    item = parameters["properties"]["ranges"]["items"]
    assert item["properties"]["end"] == {"title": "End", "type": "INTEGER", "nullable": True}
    assert "$defs" not in str(parameters) and "additionalProperties" not in str(parameters)


def test_recursive_refs_enums_and_type_lists():
    schema = {
        "type": "object",
        "properties": {
            "node": {"$ref": "#/$defs/Node"},
            "level": {"type": "integer", "enum": [1, 2]},
            "when": {"type": ["string", "null"], "format": "uri"},
            "choice": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        },
        "$defs": {
            "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}},
        },
    }
    adapted = to_gemini_schema(schema)
    assert adapted["properties"]["node"]["properties"]["child"] == {"type": "OBJECT"}
    assert adapted["properties"]["level"] == {
        "type": "STRING",
        "enum": ["1", "2"],
        "format": "enum",
    }
    assert adapted["properties"]["when"] == {"type": "STRING", "nullable": True}
    assert len(adapted["properties"]["choice"]["anyOf"]) == 2


def test_tool_without_arguments_has_no_parameters():
    [tool] = tools_to_gemini([ToolSchema("now", "", {"type": "object", "properties": {}})])
    assert tool["function_declarations"] == [{"name": "now"}]
