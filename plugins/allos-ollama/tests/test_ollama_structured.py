"""Structured output on the wire: Ollama's ``format`` with the schema, retries, the fallback."""

from __future__ import annotations

from fakes.structured_rules import ollama_problem
from pydantic import BaseModel

from allos_core.agent import Agent
from allos_core.output import FINAL_TOOL
from allos_core.plugins import create_plugin_manager
from allos_core.providers import Capabilities


class Person(BaseModel):
    name: str
    age: int


def agent_for(provider, **options):
    return Agent(
        provider,
        tools=[],
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="test",
        **options,
    )


async def test_request_carries_the_schema_as_format(server, make_provider):
    server.queue_text('{"name": "Ada", "age": 36}')
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.ok, result.error
    assert result.output == Person(name="Ada", age=36)
    body = server.chat_requests[0]
    assert body["format"]["type"] == "object"
    assert body["format"]["required"] == ["name", "age"]
    assert server.validation_errors == []


async def test_invalid_answer_is_retried_with_the_errors(server, make_provider):
    server.queue_text('{"name": "Ada", "age": "thirty"}')
    server.queue_text('{"name": "Ada", "age": 30}')
    result = await agent_for(make_provider(), output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=30)
    feedback = server.chat_requests[1]["messages"][-1]
    assert feedback["role"] == "user" and "age" in feedback["content"]
    assert server.chat_requests[1]["format"] == server.chat_requests[0]["format"]


async def test_retries_run_out_with_a_clear_stop(server, make_provider):
    server.queue_text("{")
    result = await agent_for(make_provider(), output_type=Person, output_retries=0).arun("who?")
    assert result.stop_reason == "output_invalid"
    assert "not valid JSON" in result.error and result.text == "{"


async def test_fallback_sends_the_final_tool_and_no_format(server, make_provider):
    provider = make_provider()
    provider.capabilities = Capabilities(structured_output=False)
    server.queue_tool_call(FINAL_TOOL, {"name": "Ada", "age": 36})
    result = await agent_for(provider, output_type=Person).arun("who?")
    assert result.output == Person(name="Ada", age=36)
    body = server.chat_requests[0]
    assert "format" not in body
    assert [t["function"]["name"] for t in body["tools"]] == [FINAL_TOOL]


def test_fake_rejects_a_format_ollama_rejects():
    assert ollama_problem({"format": "yaml"})
    assert ollama_problem({"format": {"properties": {}}})
    assert ollama_problem({"format": "json"}) is None
