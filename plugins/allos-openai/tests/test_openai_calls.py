"""complete() and stream() through the real openai SDK against the fake server."""

from __future__ import annotations

import json

from fakes.openai_server import ToolCallSpec

from allos_core.messages import Message
from allos_core.providers import ModelRequest, StreamDone, TextDelta, ToolCallDelta, ToolSchema

READ_FILE = ToolSchema(
    "read_file",
    "Read a file in the workspace.",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


def ask(text: str = "hi", **kwargs) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def collect(provider, request):
    return [event async for event in provider.stream(request)]


async def test_complete_returns_text_usage_and_model(server, provider, api_key):
    server.queue_text("Hello there.", usage=(12, 3))

    response = await provider.complete(ask())

    assert response.message.role == "assistant"
    assert response.message.text == "Hello there."
    assert response.message.tool_calls == []
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 3)
    assert response.usage.requests == 1
    assert response.message.usage == response.usage
    assert response.message.provider == "openai"
    assert response.message.model == response.model == "gpt-5.4-mini"
    request = server.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {api_key}"
    assert "stream" not in server.chat_requests[-1]


async def test_stream_yields_text_deltas_then_done(server, provider):
    server.queue_text("Streaming works fine.", usage=(7, 5))

    events = await collect(provider, ask())

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1, "the fake server splits text into several chunks"
    assert "".join(deltas) == "Streaming works fine."
    assert isinstance(events[-1], StreamDone)
    done = events[-1].response
    assert done.message.text == "Streaming works fine."
    assert done.finish_reason == "stop"
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.requests) == (7, 5, 1)
    body = server.chat_requests[-1]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_streamed_tool_calls_split_across_chunks_are_assembled(server, provider):
    arguments = {"path": "src/app.py", "note": 'a "quoted" {brace}'}
    server.queue_tool_calls(
        [("read_file", arguments), ToolCallSpec("list_directory", {"path": "."}, id="call_two")],
        text="Let me look.",
    )

    events = await collect(provider, ask(tools=[READ_FILE]))

    tool_deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len([d for d in tool_deltas if d.index == 0]) > 2, "arguments arrive in pieces"
    assert "".join(d.arguments_delta for d in tool_deltas if d.index == 0) == json.dumps(arguments)
    assert tool_deltas[0].name == "read_file" and tool_deltas[0].id
    done = events[-1].response
    assert done.finish_reason == "tool_calls"
    assert done.message.text == "Let me look."
    first, second = done.message.tool_calls
    assert (first.name, first.arguments, first.parse_error) == ("read_file", arguments, None)
    assert first.id == tool_deltas[0].id
    assert (second.id, second.name, second.arguments) == (
        "call_two",
        "list_directory",
        {"path": "."},
    )


async def test_complete_parses_tool_calls(server, provider):
    server.queue_tool_call("read_file", {"path": "README.md"}, id="call_abc")

    response = await provider.complete(ask(tools=[READ_FILE]))

    (call,) = response.message.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_abc", "read_file", {"path": "README.md"})
    assert response.finish_reason == "tool_calls"
    tool = server.chat_requests[-1]["tools"][0]
    assert tool == {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file in the workspace.",
            "parameters": READ_FILE.parameters,
        },
    }


async def test_invalid_tool_json_becomes_a_parse_error_not_an_exception(server, provider):
    broken = '{"path": "a.txt", '
    server.queue_tool_call("read_file", broken)
    server.queue_tool_call("read_file", "[1, 2]")
    server.queue_tool_call("read_file", broken)

    complete = await provider.complete(ask(tools=[READ_FILE]))
    not_object = await provider.complete(ask(tools=[READ_FILE]))
    streamed = (await collect(provider, ask(tools=[READ_FILE])))[-1].response

    for response in (complete, streamed):
        (call,) = response.message.tool_calls
        assert call.name == "read_file"
        assert call.arguments == {}
        assert call.raw_arguments == broken
        assert call.parse_error and "invalid JSON" in call.parse_error
    assert "JSON object" in not_object.message.tool_calls[0].parse_error


async def test_invalid_arguments_are_sent_back_as_they_came(server, provider):
    """A call with broken JSON goes back to the model verbatim, with its error result."""
    server.queue_tool_call("read_file", '{"path": ', id="call_bad")
    first = await provider.complete(ask(tools=[READ_FILE]))
    call = first.message.tool_calls[0]
    from allos_core.messages import ToolResultPart

    result = ToolResultPart(call_id=call.id, name=call.name, content="invalid JSON", is_error=True)
    conversation = [Message.user("hi"), first.message, Message.tool_results([result])]

    await provider.complete(ModelRequest(conversation, tools=[READ_FILE]))

    sent = server.chat_requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"path": '
    assert sent[2] == {"role": "tool", "tool_call_id": "call_bad", "content": "Error: invalid JSON"}


async def test_usage_in_stream_comes_from_the_final_chunk(server, provider):
    server.queue_tool_call("read_file", {"path": "x"}, usage=(100, 20))

    done = (await collect(provider, ask(tools=[READ_FILE])))[-1].response

    assert (done.usage.input_tokens, done.usage.output_tokens) == (100, 20)


async def test_usage_is_estimated_when_the_server_sends_none(server, make_provider):
    provider = make_provider(stream_usage=False)
    server.queue_text("an answer of some length")

    done = (await collect(provider, ask("count me")))[-1].response

    assert "stream_options" not in server.chat_requests[-1]
    assert done.usage.requests == 1
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0


async def test_system_prompt_is_a_system_message(server, provider):
    server.queue_text("ok")
    request = ModelRequest([Message.system("You are terse."), Message.user("hi")])

    await provider.complete(request)

    assert server.chat_requests[-1]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hi"},
    ]


async def test_options_temperature_and_max_tokens_are_passed_through(server, make_provider):
    provider = make_provider(model="gpt-4.1", temperature=0.2, max_tokens=50, top_p=0.5, seed=7)
    server.queue_text("ok")
    server.queue_text("ok")

    await provider.complete(ask())
    await provider.complete(
        ask(temperature=0.9, max_tokens=10, options={"seed": 8, "reasoning_effort": "low"})
    )

    first, second = server.chat_requests
    assert first["model"] == "gpt-4.1"
    assert (first["temperature"], first["top_p"], first["seed"]) == (0.2, 0.5, 7)
    # a local server gets max_tokens; OpenAI itself gets max_completion_tokens (see below)
    assert first["max_tokens"] == 50
    assert (second["temperature"], second["max_tokens"], second["seed"]) == (0.9, 10, 8)
    assert second["reasoning_effort"] == "low"


async def test_openai_itself_gets_max_completion_tokens():
    from allos_openai.provider import OpenAIProvider

    provider = OpenAIProvider(api_key="sk-x", max_tokens=64)

    body = provider.request_body(ask(), stream=False)

    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert "temperature" not in body, "no temperature unless one is set"


async def test_default_reply_when_nothing_is_queued(server, provider):
    response = await provider.complete(ask())

    assert response.message.text == server.default_text


async def test_one_client_is_reused_across_requests(server, provider):
    server.queue_text("one")
    server.queue_text("two")

    await provider.complete(ask())
    client = provider._client.current
    await provider.complete(ask())

    assert provider._client.current is client
