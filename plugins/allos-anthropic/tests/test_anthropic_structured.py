"""Structured output on the wire: output_config.format, the forced final tool, retries."""

from __future__ import annotations

import pytest
from fakes.structured_rules import anthropic_problem
from pydantic import BaseModel, Field

from allos_core.agent import Agent
from allos_core.output import FINAL_TOOL
from allos_core.plugins import create_plugin_manager
from allos_core.providers import Capabilities


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)


def agent_for(provider, **options):
    return Agent(
        provider,
        tools=[],
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="test",
        **options,
    )


async def test_native_request_carries_output_config_the_api_accepts(server, make_provider):
    server.queue_text('{"name": "Ada", "age": 36}')
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.ok, result.error
    assert result.output == Person(name="Ada", age=36)
    fmt = server.message_bodies[0]["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"]["additionalProperties"] is False
    age = fmt["schema"]["properties"]["age"]
    assert "minimum" not in age and "minimum: 0" in age["description"]  # the SDK's helper
    assert "tool_choice" not in server.message_bodies[0]


async def test_invalid_answer_is_retried_then_validated(server, make_provider):
    server.queue_text('{"name": "Ada", "age": 200}')  # breaks le=150: only we can tell
    server.queue_text('{"name": "Ada", "age": 36}')
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=36)
    feedback = server.message_bodies[1]["messages"][-1]
    assert feedback["role"] == "user" and "age" in str(feedback["content"])


async def test_retries_run_out_with_the_raw_text_kept(server, make_provider):
    server.queue_text("nope")
    server.queue_text("still nope")
    result = await agent_for(make_provider(), output_type=Person, output_retries=1).arun("who?")
    assert result.stop_reason == "output_invalid" and result.text == "still nope"


async def test_fallback_forces_a_tool_call_with_tool_choice_any(server, make_provider):
    provider = make_provider()
    provider.capabilities = Capabilities(structured_output=False)  # a model without it
    server.queue_tool_call(FINAL_TOOL, {"name": "Ada"})
    server.queue_tool_call(FINAL_TOOL, {"name": "Ada", "age": 36})
    result = await agent_for(provider, output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=36)
    first = server.message_bodies[0]
    assert first["tool_choice"] == {"type": "any"}
    assert "output_config" not in first
    assert [t["name"] for t in first["tools"]] == [FINAL_TOOL]
    answer = server.message_bodies[1]["messages"][-1]["content"][0]
    assert answer["type"] == "tool_result" and answer["is_error"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {}}}}}, "additionalProperties"),
        ({"output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 1}}, "additionalProperties": False}}}}, "minimum"),
        ({"tool_choice": {"type": "any"}}, "only be specified while providing tools"),
        ({"output_config": {"format": {"type": "json"}}}, "json_schema"),
    ],
)  # fmt: skip
def test_fake_rejects_what_the_api_rejects(body, message):
    assert message in anthropic_problem(body)
