"""Structured output on the wire: response_format (strict when allowed), the fallback, retries."""

from __future__ import annotations

import json

import pytest
from fakes.openai_server import validate_chat_request
from fakes.structured_rules import openai_problem
from pydantic import BaseModel

from allos_core.agent import Agent
from allos_core.output import FINAL_TOOL
from allos_core.plugins import create_plugin_manager


class Person(BaseModel):
    name: str
    age: int


class Draft(BaseModel):
    title: str
    notes: str = ""


def agent_for(provider, **options):
    return Agent(
        provider,
        tools=[],
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="test",
        **options,
    )


async def test_native_request_carries_a_strict_json_schema_the_api_accepts(server, make_provider):
    server.queue_text('{"name": "Ada", "age": 36}')
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=36)
    body = server.chat_requests[0]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert "tool_choice" not in body


async def test_schema_with_optional_fields_is_sent_without_strict(server, make_provider):
    server.queue_text('{"title": "x"}')
    result = await agent_for(make_provider(), output_type=Draft).arun("draft")
    assert result.output == Draft(title="x")
    assert "strict" not in server.chat_requests[0]["response_format"]["json_schema"]


async def test_invalid_answer_is_retried_with_the_errors_on_the_wire(server, make_provider):
    server.queue_text('{"name": "Ada"}')
    server.queue_text('{"name": "Ada", "age": 36}')
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=36)
    feedback = server.chat_requests[1]["messages"][-1]
    assert feedback["role"] == "user" and "age" in feedback["content"]


async def test_retries_run_out_with_a_clear_stop(server, make_provider):
    for _ in range(2):
        server.queue_text("no JSON here")
    result = await agent_for(make_provider(), output_type=Person, output_retries=1).arun("who?")
    assert result.stop_reason == "output_invalid"
    assert result.text == "no JSON here"


async def test_server_without_response_format_uses_the_final_tool_forced(server, make_provider):
    server.queue_tool_call(FINAL_TOOL, {"name": "Ada", "age": "old"})
    server.queue_tool_call(FINAL_TOOL, {"name": "Ada", "age": 36})
    provider = make_provider(structured_output=False)
    result = await agent_for(provider, output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=36)
    first = server.chat_requests[0]
    assert "response_format" not in first
    assert first["tool_choice"] == "required"
    assert [t["function"]["name"] for t in first["tools"]] == [FINAL_TOOL]
    error = server.chat_requests[1]["messages"][-1]
    assert error["role"] == "tool" and "age" in error["content"]
    assert "structured_output" not in first  # a provider option, never sent


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, "additionalProperties"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": False}, "Missing 'a'"),
        ({"type": "array", "items": {"type": "string"}}, "type: \\\"object\\\""),
    ],
)  # fmt: skip
def test_fake_rejects_what_the_api_rejects(schema, message):
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": schema, "strict": True},
        },
    }
    problem = openai_problem(body)
    assert problem is not None and message.replace("\\", "") in problem[0]
    with pytest.raises(Exception, match="response_format"):
        validate_chat_request(json.loads(json.dumps(body)))


def test_fake_rejects_tool_choice_without_tools():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}
    assert "only allowed when 'tools'" in openai_problem(body)[0]


async def test_server_that_refuses_response_format_falls_back_to_the_tool(server, make_provider):
    server.queue_error(400, "Unrecognized request argument supplied: response_format")
    server.queue_tool_call(FINAL_TOOL, {"name": "Ada", "age": 36})
    server.queue_text('{"name": "Bo", "age": 2}')
    agent = agent_for(make_provider(), output_type=Person)
    result = await agent.arun("who?")
    assert result.output == Person(name="Ada", age=36)
    retry = server.chat_requests[1]
    assert "response_format" not in retry and retry["tool_choice"] == "required"
    await agent.arun("and now?")  # the provider is remembered: no native request again
    assert "response_format" not in server.chat_requests[2]


async def test_other_bad_requests_are_not_retried(server, make_provider):
    server.queue_error(400, "Invalid 'messages[0].content': too long")
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.stop_reason == "error" and len(server.chat_requests) == 1
