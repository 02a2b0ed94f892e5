"""complete() and stream() through the real ollama SDK against the fake server."""

from __future__ import annotations

from fakes.ollama_server import FakeOllamaServer

from allos_core.messages import Message
from allos_core.providers import ModelRequest, StreamDone, TextDelta, ToolCallDelta, ToolSchema

READ_FILE = ToolSchema(
    name="read_file",
    description="Read a file.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


def request(*messages: Message, tools: list[ToolSchema] | None = None) -> ModelRequest:
    return ModelRequest(messages=list(messages) or [Message.user("hi")], tools=tools or [])


async def collect(provider, req: ModelRequest) -> list:
    return [event async for event in provider.stream(req)]


async def test_complete_returns_text_usage_and_provenance(server: FakeOllamaServer, make_provider):
    server.queue_text("Hello there!", usage=(7, 3))
    provider = make_provider()

    response = await provider.complete(request(Message.system("Be brief."), Message.user("hi")))

    assert response.message.text == "Hello there!"
    assert response.message.role == "assistant"
    assert response.message.provider == "ollama"
    assert response.message.model == "llama3.2"
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (7, 3)
    assert response.usage.requests == 1
    assert response.message.usage == response.usage
    body = server.chat_requests[0]
    assert body["stream"] is False
    assert body["model"] == "llama3.2"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == "Be brief."
    assert body["options"] == {"num_ctx": 32768}  # the window Allos plans with, always sent


async def test_default_reply_when_nothing_is_queued(server: FakeOllamaServer, make_provider):
    response = await make_provider().complete(request())
    assert response.message.text == server.default_reply
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0


async def test_stream_yields_text_deltas_then_done(server: FakeOllamaServer, make_provider):
    server.queue_text("Hello, streaming world!", usage=(11, 6), chunk_size=5)
    provider = make_provider()

    events = await collect(provider, request())

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 5
    assert "".join(deltas) == "Hello, streaming world!"
    assert isinstance(events[-1], StreamDone)
    assert sum(isinstance(e, StreamDone) for e in events) == 1
    done = events[-1].response
    assert done.message.text == "Hello, streaming world!"
    assert done.finish_reason == "stop"
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.requests) == (11, 6, 1)
    assert server.chat_requests[0]["stream"] is True


async def test_stream_gathers_tool_calls_sent_in_separate_chunks(
    server: FakeOllamaServer, make_provider
):
    server.queue_tool_calls(
        [("read_file", {"path": "README.md"}), ("read_file", {"path": "setup.py"})],
        text="Let me look.",
        usage=(20, 9),
    )
    provider = make_provider()

    events = await collect(provider, request(tools=[READ_FILE]))

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."
    call_deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [d.index for d in call_deltas] == [0, 1]
    assert [d.name for d in call_deltas] == ["read_file", "read_file"]
    assert call_deltas[0].arguments_delta == '{"path": "README.md"}'
    done = events[-1].response
    calls = done.message.tool_calls
    assert [c.arguments for c in calls] == [{"path": "README.md"}, {"path": "setup.py"}]
    assert [c.id for c in calls] == [d.id for d in call_deltas]
    assert len({c.id for c in calls}) == 2
    assert all(c.id.startswith("call_") for c in calls)
    assert done.message.text == "Let me look."
    assert done.finish_reason == "tool_calls"
    assert done.usage.output_tokens == 9


async def test_complete_with_a_tool_call(server: FakeOllamaServer, make_provider):
    server.queue_tool_call("read_file", {"path": "a.txt", "limit": 5})
    response = await make_provider().complete(request(tools=[READ_FILE]))

    [call] = response.message.tool_calls
    assert call.name == "read_file"
    assert call.arguments == {"path": "a.txt", "limit": 5}
    assert call.parse_error is None
    assert response.finish_reason == "tool_calls"
    sent = server.chat_requests[0]["tools"]
    assert sent[0]["type"] == "function"
    assert sent[0]["function"]["name"] == "read_file"
    assert sent[0]["function"]["parameters"]["required"] == ["path"]


async def test_length_and_thinking(server: FakeOllamaServer, make_provider):
    server.queue_text("Truncat", done_reason="length", thinking="let me think")
    server.queue_text("Answer.", thinking="hmm")
    provider = make_provider()

    cut = await provider.complete(request())
    events = await collect(provider, request())

    assert cut.finish_reason == "length"
    assert cut.message.text == "Truncat"
    assert events[-1].response.message.text == "Answer."
    assert "hmm" not in "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_options_are_placed_where_ollama_wants_them(server: FakeOllamaServer, make_provider):
    provider = make_provider(
        temperature=0.2, max_tokens=64, num_ctx=8192, keep_alive="5m", think=False, top_p=0.9
    )
    req = request()
    req.options = {"seed": 7, "options": {"top_k": 20}}
    await provider.complete(req)
    req = request()
    req.temperature = 0.7  # the request wins over the provider
    await provider.complete(req)

    first, second = server.chat_requests
    assert first["options"] == {
        "num_ctx": 8192,
        "top_p": 0.9,
        "seed": 7,
        "top_k": 20,
        "temperature": 0.2,
        "num_predict": 64,
    }
    assert first["keep_alive"] == "5m"
    assert first["think"] is False
    assert "retry_base_delay" not in first["options"]
    assert second["options"]["temperature"] == 0.7


async def test_stream_stopped_early_releases_the_connection(
    server: FakeOllamaServer, make_provider
):
    server.queue_text("one two three four five", chunk_size=3)
    server.queue_text("next")
    provider = make_provider()

    stream = provider.stream(request())
    first = await stream.__anext__()
    await stream.aclose()
    after = await provider.complete(request())

    assert isinstance(first, TextDelta)
    assert after.message.text == "next"
