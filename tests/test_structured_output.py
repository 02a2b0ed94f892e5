"""Structured output with ScriptedProvider: native and final-answer-tool modes, retries, types."""

from __future__ import annotations

import dataclasses
import json

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from allos_core.agent import Agent
from allos_core.errors import ConfigError
from allos_core.messages import validate_conversation
from allos_core.output import FINAL_TOOL, StructuredOutput, strict_compatible
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


class Person(BaseModel):
    name: str
    age: int


class Pet(BaseModel):
    species: str
    legs: int = 4


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Movie(TypedDict):
    title: str
    year: int


@tool(read_only=True)
def lookup(name: str) -> str:
    """Look a person up."""
    return f"{name} is 41"


def make_agent(turns, *, native=False, tools=(), **options):
    provider = ScriptedProvider(turns, structured_output=native)
    options.setdefault("plugin_manager", create_plugin_manager([], discover=False))
    options.setdefault("system_prompt", "You are a test agent.")
    return Agent(provider, tools=list(tools), **options), provider


def final(arguments, id=None):
    spec = {"name": FINAL_TOOL, "arguments": arguments}
    if id:
        spec["id"] = id
    return {"tool_calls": [spec]}


# -- native mode ---------------------------------------------------------------------------------


def test_native_answer_is_validated_into_the_output_type():
    agent, provider = make_agent(['{"name": "Ada", "age": 36}'], native=True, output_type=Person)
    result = agent.run("who?")
    assert result.ok
    assert result.output == Person(name="Ada", age=36)
    request = provider.requests[0]
    assert request.output is not None and request.output.tool is False
    assert request.output.schema["required"] == ["name", "age"]
    assert request.output.strict is True
    assert [t.name for t in request.tools] == []  # no final-answer tool when native


def test_native_invalid_answer_goes_back_with_the_errors_then_validates():
    agent, provider = make_agent(
        ['{"name": "Ada", "age": "old"}', '{"name": "Ada", "age": 36}'],
        native=True,
        output_type=Person,
    )
    result = agent.run("who?")
    assert result.output == Person(name="Ada", age=36)
    feedback = provider.requests[1].messages[-1]
    assert feedback.role == "user"
    assert "age" in feedback.text and "JSON" in feedback.text


def test_retries_run_out_and_the_run_stops_with_the_raw_text_kept():
    agent, provider = make_agent(
        ["not json", "still not", "nope"], native=True, output_type=Person, output_retries=2
    )
    result = agent.run("who?")
    assert result.stop_reason == "output_invalid"
    assert result.output is None
    assert result.text == "nope"
    assert "3 attempts" in result.error and "not valid JSON" in result.error
    assert provider.remaining == 0
    assert validate_conversation(result.messages) == []


def test_answer_in_a_code_fence_is_accepted():
    agent, _ = make_agent(
        ['```json\n{"title": "Alien", "year": 1979}\n```'], native=True, output_type=Movie
    )
    assert agent.run("a film").output == {"title": "Alien", "year": 1979}


# -- the final-answer tool -----------------------------------------------------------------------


def test_fallback_offers_the_final_tool_and_ends_on_its_call():
    agent, provider = make_agent(
        [
            {"tool_calls": [{"name": "lookup", "arguments": {"name": "Ada"}}]},
            final({"name": "Ada", "age": 41}),
        ],
        tools=[lookup],
        output_type=Person,
    )
    result = agent.run("how old is Ada?")
    assert result.ok and result.output == Person(name="Ada", age=41)
    request = provider.requests[0]
    assert request.output.tool is True and request.output.name == FINAL_TOOL
    assert [t.name for t in request.tools] == ["lookup", FINAL_TOOL]
    assert validate_conversation(result.messages) == []  # the final call has its result
    assert result.messages[-1].parts[0].content == "Final result accepted."


def test_fallback_invalid_arguments_are_answered_with_errors_and_retried():
    agent, provider = make_agent(
        [final({"name": "Ada"}), final({"name": "Ada", "age": 41})], output_type=Person
    )
    result = agent.run("who?")
    assert result.output == Person(name="Ada", age=41)
    error = provider.requests[1].messages[-1].parts[0]
    assert error.is_error and "age" in error.content and FINAL_TOOL in error.content


def test_fallback_text_answer_that_validates_is_accepted():
    agent, _ = make_agent(['{"x": 1, "y": 2.5}'], output_type=Point)
    assert agent.run("a point").output == Point(1, 2.5)


def test_fallback_text_answer_that_does_not_validate_asks_for_the_tool():
    agent, provider = make_agent(["I think it's Ada", final({"x": 0, "y": 0})], output_type=Point)
    result = agent.run("a point")
    assert result.output == Point(0, 0)
    assert FINAL_TOOL in provider.requests[1].messages[-1].text


def test_fallback_failure_keeps_the_raw_arguments_as_text():
    agent, _ = make_agent([final({"x": "a"})], output_type=Point, output_retries=0)
    result = agent.run("a point")
    assert result.stop_reason == "output_invalid"
    assert json.loads(result.text) == {"x": "a"}
    assert validate_conversation(result.messages) == []


def test_other_calls_beside_a_valid_final_call_are_not_run():
    ran = []

    @tool
    def side_effect() -> str:
        """Do something."""
        ran.append(1)
        return "done"

    turn = {
        "tool_calls": [
            {"name": "side_effect", "arguments": {}},
            {"name": FINAL_TOOL, "arguments": {"x": 1, "y": 1}},
        ]
    }
    agent, _ = make_agent([turn], tools=[side_effect], output_type=Point)
    result = agent.run("go")
    assert result.output == Point(1, 1) and ran == []
    assert validate_conversation(result.messages) == []


# -- types and schemas ---------------------------------------------------------------------------


def test_list_and_union_types_are_wrapped_in_an_object_and_unwrapped():
    agent, provider = make_agent(
        ['{"result": [{"species": "cat"}, {"name": "Bo", "age": 2}]}'],
        native=True,
        output_type=list[Pet | Person],
    )
    result = agent.run("list")
    assert result.output == [Pet(species="cat"), Person(name="Bo", age=2)]
    schema = provider.requests[0].output.schema
    assert schema["type"] == "object" and schema["required"] == ["result"]
    assert provider.requests[0].output.strict is False  # Pet.legs has a default


def test_json_schema_dict_output_validates_with_jsonschema():
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["tags"],
    }
    agent, provider = make_agent(
        ['{"tags": [1]}', '{"tags": ["a"]}'], native=True, output_type=schema
    )
    result = agent.run("tags")
    assert result.output == {"tags": ["a"]}
    assert "tags.0" in provider.requests[1].messages[-1].text
    assert provider.requests[0].output.schema["additionalProperties"] is False


def test_invalid_json_schema_is_a_config_error():
    with pytest.raises(ConfigError, match="not a valid JSON schema"):
        StructuredOutput({"type": "objekt"})


def test_type_without_a_schema_is_a_config_error():
    with pytest.raises(ConfigError, match="no JSON schema"):
        StructuredOutput(object())


def test_strict_needs_every_property_required_and_no_extra_properties():
    assert strict_compatible(StructuredOutput(Person).schema)
    assert not strict_compatible(StructuredOutput(Pet).schema)
    assert not strict_compatible(
        {"type": "object", "properties": {"a": {}}, "required": ["a"], "additionalProperties": True}
    )
    nested = {
        "type": "object",
        "properties": {"inner": {"type": "object", "properties": {"b": {"type": "string"}}}},
        "required": ["inner"],
        "additionalProperties": False,
    }
    assert not strict_compatible(nested)  # inner leaves b optional


def test_output_reaches_the_stop_event_as_json():
    events = []
    agent, _ = make_agent(
        ['{"name": "Ada", "age": 36}'], native=True, output_type=Person, on_event=events.append
    )
    agent.run("who?")
    stop = events[-1].to_dict()
    assert stop["type"] == "stop" and stop["extra"]["output"] == {"name": "Ada", "age": 36}


def test_run_without_output_type_is_unchanged():
    agent, provider = make_agent(["plain text"])
    result = agent.run("hi")
    assert result.text == "plain text" and result.output is None
    assert provider.requests[0].output is None
