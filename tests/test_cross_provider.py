"""A conversation made on any provider is valid input for every other provider.

Each provider talks, through its official SDK, to a local fake server that validates requests the
way the real API does (orphaned tool results, unanswered tool calls, bad ids, misplaced system
prompts are rejected). A conversation with reasoning, parallel tool calls, an error result and a follow-up
question is produced on each provider (with reasoning on: Claude's signed thinking, OpenAI-compatible
``reasoning_content``, Ollama's ``thinking``), saved and loaded as JSON, then sent to every
provider, with reasoning on there too. Reasoning goes back only to the provider that made it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from fakes.anthropic_server import FakeAnthropicServer
from fakes.google_server import FakeGoogleServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer
from pydantic import TypeAdapter

from allos_core.messages import Message, ToolResultPart, validate_conversation
from allos_core.providers import ModelRequest, Provider, StreamDone, ToolSchema

PROVIDERS = ["openai", "anthropic", "ollama", "google"]
READ_FILE = ToolSchema(
    "read_file",
    "Read a file.",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


@contextlib.contextmanager
def serve(name: str, think: str | None = "high") -> Iterator[tuple[Any, Provider]]:
    """A fake server for provider ``name`` and a provider pointed at it (reasoning on)."""
    if name == "openai":
        from allos_openai.provider import OpenAIProvider

        with FakeOpenAIServer() as server:
            yield (
                server,
                OpenAIProvider(
                    api_key="sk-test", base_url=server.openai_base_url, max_retries=0, think=think
                ),
            )
    elif name == "anthropic":
        from allos_anthropic.provider import AnthropicProvider

        with FakeAnthropicServer() as server:
            yield (
                server,
                AnthropicProvider(
                    api_key="sk-ant-test", base_url=server.base_url, max_retries=0, think=think
                ),
            )
    elif name == "google":
        from allos_google.provider import GoogleProvider

        with FakeGoogleServer() as server:
            yield (
                server,
                GoogleProvider(api_key="AIza-test", base_url=server.base_url, max_retries=0),
            )
    else:
        from allos_ollama.provider import OllamaProvider

        with FakeOllamaServer() as server:
            yield (
                server,
                OllamaProvider(model="qwen3", base_url=server.base_url, max_retries=0, think=think),
            )


THOUGHT = "The user wants both files; read them in parallel."


def queue_parallel_calls(name: str, server: Any) -> None:
    calls = [("read_file", {"path": "a.txt"}), ("read_file", {"path": "missing.txt"})]
    text = "Let me look at both files."
    if name == "anthropic":
        server.queue_tool_calls(
            [{"name": n, "arguments": a} for n, a in calls], text=text, thinking=THOUGHT
        )
    elif name == "openai":
        server.queue_tool_calls(calls, text=text, reasoning=THOUGHT)
    elif name == "google":
        server.queue_tool_calls(calls, text=text, thought=THOUGHT)
    else:
        server.queue_tool_calls(calls, text=text, thinking=THOUGHT)


async def produce_conversation(name: str) -> list[Message]:
    """Run two turns with tool calls on provider ``name``; return the conversation."""
    with serve(name) as (server, provider):
        queue_parallel_calls(name, server)
        server.queue_text("a.txt says hello; missing.txt does not exist.")
        messages = [Message.system("You are careful."), Message.user("What do the files say?")]
        first = None
        async for event in provider.stream(ModelRequest(list(messages), tools=[READ_FILE])):
            if isinstance(event, StreamDone):
                first = event.response
        assert first is not None and len(first.message.tool_calls) == 2
        messages.append(first.message)
        calls = first.message.tool_calls
        messages.append(
            Message.tool_results(
                [
                    ToolResultPart(call_id=calls[0].id, name="read_file", content="hello"),
                    ToolResultPart(
                        call_id=calls[1].id,
                        name="read_file",
                        content="missing.txt: no such file",
                        is_error=True,
                    ),
                ]
            )
        )
        second = await provider.complete(ModelRequest(list(messages), tools=[READ_FILE]))
        messages.append(second.message)
        messages.append(Message.user("Thanks. Anything else?"))
        await provider.aclose()
    return messages


@pytest.fixture(scope="module")
def conversations() -> dict[str, list[Message]]:
    import asyncio

    adapter = TypeAdapter(list[Message])
    made = {}
    for name in PROVIDERS:
        conversation = asyncio.run(produce_conversation(name))
        # as a session file stores it
        made[name] = adapter.validate_json(adapter.dump_json(conversation))
    return made


@pytest.mark.parametrize("source", PROVIDERS)
def test_each_provider_produces_a_valid_neutral_conversation(conversations, source):
    conversation = conversations[source]
    assert validate_conversation(conversation) == []
    assistant = conversation[2]
    assert assistant.provider == source and assistant.text == "Let me look at both files."
    assert [c.arguments for c in assistant.tool_calls] == [
        {"path": "a.txt"},
        {"path": "missing.txt"},
    ]
    assert len({c.id for c in assistant.tool_calls}) == 2
    [reasoning] = assistant.reasoning
    assert reasoning.text == THOUGHT and reasoning.provider == source
    assert (reasoning.signature is not None) == (source == "anthropic")


@pytest.mark.parametrize("target", PROVIDERS)
@pytest.mark.parametrize("source", PROVIDERS)
async def test_a_conversation_moves_to_every_provider(conversations, source, target):
    with serve(target) as (server, provider):
        server.queue_text("Nothing else.")
        response = await provider.complete(
            ModelRequest(list(conversations[source]), tools=[READ_FILE])
        )
        await provider.aclose()
    # the validating server accepted it (it answers a 400 for anything the real API rejects)
    assert response.message.text == "Nothing else."
    body = server.requests[-1].body
    text = repr(body)
    assert "missing.txt: no such file" in text and "hello" in text
    assert "You are careful." in text
    # reasoning went back only to the provider that made it (OpenAI-compatible APIs take none;
    # Gemini needs only the signatures on its calls, never its thought summaries)
    assert (THOUGHT in text) == (source == target not in ("openai", "google"))


@pytest.mark.parametrize("target", PROVIDERS)
@pytest.mark.parametrize("source", PROVIDERS)
async def test_a_tool_loop_continues_on_every_provider_with_reasoning_on(
    conversations, source, target
):
    # given a conversation cut right after the tool results (mid tool loop)
    cut = list(conversations[source][:4])
    assert cut[-1].role == "tool"
    with serve(target) as (server, provider):
        server.queue_text("a.txt says hello.")
        # when the next request goes to the target with reasoning on
        response = await provider.complete(ModelRequest(cut, tools=[READ_FILE]))
        await provider.aclose()
    # then the validating server accepted it: Claude got its own signed thinking back before
    # the tool calls, or (for another provider's turn, which has none) no thinking this request
    assert response.message.text == "a.txt says hello."
    if target == "anthropic":
        body = server.last_body
        assistant = body["messages"][-2]["content"]
        if source == "anthropic":
            assert "thinking" in body and assistant[0]["type"] == "thinking"
        else:
            assert "thinking" not in body and assistant[0]["type"] != "thinking"
