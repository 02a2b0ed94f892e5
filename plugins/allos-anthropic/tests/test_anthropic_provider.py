"""complete() and stream() with the real anthropic SDK against the fake server."""

from __future__ import annotations

import json

import pytest
from fakes.anthropic_server import DEFAULT_TEXT

from allos_core.messages import Message
from allos_core.providers import ModelRequest, StreamDone, TextDelta, ToolCallDelta, ToolSchema

READ_FILE = ToolSchema(
    name="read_file",
    description="Read a file",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


def ask(text: str = "hi", **kwargs) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def collect(provider, request):
    return [event async for event in provider.stream(request)]


async def test_complete_text(server, provider):
    server.queue_text("Hello, world!", usage={"input_tokens": 12, "output_tokens": 4})
    response = await provider.complete(ask())
    assert response.message.role == "assistant"
    assert response.message.text == "Hello, world!"
    assert response.message.provider == "anthropic"
    assert response.message.model == provider.model
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 4)
    assert response.usage.requests == 1
    assert response.message.usage == response.usage
    body = server.last_body
    assert body["model"] == provider.model
    # the end of the conversation carries a cache breakpoint (caching is on by default)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
        }
    ]
    assert "stream" not in body or body["stream"] is False


async def test_empty_queue_gets_default_text(provider):
    response = await provider.complete(ask())
    assert response.message.text == DEFAULT_TEXT


async def test_complete_tool_call(server, provider):
    server.queue_tool_call("read_file", {"path": "README.md"}, text="Let me look.")
    response = await provider.complete(ask(tools=[READ_FILE]))
    assert response.finish_reason == "tool_calls"
    assert response.message.text == "Let me look."
    [call] = response.message.tool_calls
    assert (call.name, call.arguments, call.parse_error) == (
        "read_file",
        {"path": "README.md"},
        None,
    )
    assert call.id.startswith("toolu_")
    assert server.last_body["tools"] == [
        {
            "name": "read_file",
            "description": "Read a file",
            "input_schema": READ_FILE.parameters,
            "cache_control": {"type": "ephemeral"},
        }
    ]


async def test_stream_text_deltas(server, provider):
    server.queue_text("The quick brown fox jumps.", usage={"input_tokens": 30, "output_tokens": 7})
    events = await collect(provider, ask())
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3  # really streamed, in pieces
    assert "".join(deltas) == "The quick brown fox jumps."
    assert isinstance(events[-1], StreamDone)
    assert not any(isinstance(e, StreamDone) for e in events[:-1])
    response = events[-1].response
    assert response.message.text == "The quick brown fox jumps."
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (30, 7)
    assert response.usage.requests == 1
    assert server.last_body["stream"] is True


async def test_stream_tool_use_split_across_json_deltas(server, provider):
    arguments = {"path": "src/app.py", "lines": [1, 2, 3], "note": 'quote " and ünïcode'}
    server.queue_tool_calls(
        [
            {"name": "read_file", "arguments": arguments, "id": "toolu_A"},
            {"name": "list_directory", "arguments": {"path": "."}, "id": "toolu_B"},
        ],
        text="Looking.",
        chunk_size=5,
    )
    events = await collect(provider, ask(tools=[READ_FILE]))
    call_deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    starts = [e for e in call_deltas if e.name]
    assert [(e.index, e.id, e.name) for e in starts] == [
        (0, "toolu_A", "read_file"),
        (1, "toolu_B", "list_directory"),
    ]
    pieces = [e.arguments_delta for e in call_deltas if e.index == 0 and e.arguments_delta]
    assert len(pieces) > 3  # the JSON arrived cut mid-token
    assert json.loads("".join(pieces)) == arguments
    response = events[-1].response
    assert response.finish_reason == "tool_calls"
    assert response.message.text == "Looking."
    first, second = response.message.tool_calls
    assert (first.id, first.name, first.arguments) == ("toolu_A", "read_file", arguments)
    assert (second.id, second.name, second.arguments) == (
        "toolu_B",
        "list_directory",
        {"path": "."},
    )
    assert first.parse_error is None and second.parse_error is None


async def test_stream_invalid_tool_json_gives_parse_error(server, provider):
    server.queue_tool_call("read_file", raw_arguments='{"path": "a.txt", ')
    events = await collect(provider, ask(tools=[READ_FILE]))
    [call] = events[-1].response.message.tool_calls
    assert call.name == "read_file"
    assert call.arguments == {}
    assert call.parse_error and "invalid JSON" in call.parse_error
    assert call.raw_arguments == '{"path": "a.txt", '


async def test_stream_tool_json_that_is_not_an_object_gives_parse_error(server, provider):
    server.queue_tool_call("read_file", raw_arguments="[1, 2]")
    events = await collect(provider, ask(tools=[READ_FILE]))
    [call] = events[-1].response.message.tool_calls
    assert call.parse_error and "object" in call.parse_error


async def test_stream_tool_call_without_arguments(server, provider):
    server.queue_tool_call("list_directory", {})
    events = await collect(provider, ask())
    [call] = events[-1].response.message.tool_calls
    assert (call.arguments, call.parse_error) == ({}, None)


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("pause_turn", "other"),
        ("refusal", "content_filter"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_stop_reasons_and_usage(server, provider, stop_reason, expected, streaming):
    server.queue_text(
        "partial answer", stop_reason=stop_reason, usage={"input_tokens": 21, "output_tokens": 9}
    )
    if streaming:
        response = (await collect(provider, ask()))[-1].response
    else:
        response = await provider.complete(ask())
    assert response.finish_reason == expected
    assert (response.usage.input_tokens, response.usage.output_tokens) == (21, 9)


async def test_cached_input_tokens_count_as_input(server, provider):
    server.queue_text(
        "ok",
        usage={
            "input_tokens": 5,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1000,
            "output_tokens": 2,
        },
    )
    response = await provider.complete(ask())
    assert response.usage.input_tokens == 1105


async def test_max_tokens_always_sent_with_per_model_default(server, make_provider):
    await make_provider().complete(ask())
    assert server.last_body["max_tokens"] == 8192
    await make_provider(model="claude-3-haiku-20240307").complete(ask())
    assert server.last_body["max_tokens"] == 4096
    await make_provider(max_tokens=1000).complete(ask())
    assert server.last_body["max_tokens"] == 1000
    await make_provider(max_tokens=1000).complete(ask(max_tokens=50))
    assert server.last_body["max_tokens"] == 50


async def test_temperature_and_options_pass_through(server, make_provider):
    provider = make_provider(
        temperature=0.2, top_k=40, metadata={"user_id": "u1"}, stop_sequences=["END"]
    )
    await provider.complete(ask(temperature=0.7, options={"top_p": 0.9}))
    body = server.last_body
    assert body["temperature"] == 0.7
    assert body["top_k"] == 40
    assert body["top_p"] == 0.9
    assert body["metadata"] == {"user_id": "u1"}
    assert body["stop_sequences"] == ["END"]
    await provider.complete(ask())
    assert server.last_body["temperature"] == 0.2


async def test_no_temperature_unless_set(server, provider):
    await provider.complete(ask())
    assert "temperature" not in server.last_body


async def test_one_client_per_provider(server, provider):
    await provider.complete(ask())
    client = provider.client
    await provider.complete(ask())
    async for _ in provider.stream(ask()):
        pass
    assert provider.client is client
    assert len(server.message_bodies) == 3


async def test_list_models(provider):
    assert "claude-sonnet-5-5" in await provider.list_models()
