"""Complete and streamed calls through the real SDK against the validating fake Gemini API."""

from __future__ import annotations

import json

import pytest
from fakes.google_server import SKIP_SIGNATURE, FakeGoogleServer

from allos_core.messages import Message, ToolResultPart
from allos_core.providers import ModelRequest, StreamDone, TextDelta, ToolCallDelta, ToolSchema

READ_FILE = ToolSchema(
    "read_file",
    "Read a file.",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "limit": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
)


async def collect(provider, request):
    events = [event async for event in provider.stream(request)]
    assert isinstance(events[-1], StreamDone)
    return events[:-1], events[-1].response


async def test_text_answer_with_system_prompt_and_usage(server: FakeGoogleServer, provider):
    server.queue_text(
        "Hi there.",
        usage={
            "promptTokenCount": 40,
            "candidatesTokenCount": 5,
            "thoughtsTokenCount": 12,
            "cachedContentTokenCount": 30,
        },
    )
    response = await provider.complete(
        ModelRequest([Message.system("Be brief."), Message.user("hello")], max_tokens=100)
    )

    assert response.message.text == "Hi there."
    assert response.message.provider == "google"
    assert response.finish_reason == "stop"
    # cached tokens are part of the prompt; thinking is billed as output
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 17)
    body = server.last_body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert [c["role"] for c in body["contents"]] == ["user"]
    assert body["generationConfig"]["maxOutputTokens"] == 100
    assert server.requests[-1].headers["x-goog-api-key"] == "AIza-test-0123456789"


async def test_streamed_text_arrives_in_pieces_then_done(server, provider):
    server.queue_text("streaming works", chunk_size=4, thought="thinking about it")
    events, response = await collect(provider, ModelRequest([Message.user("go")]))

    pieces = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(pieces) > 1 and "".join(pieces) == "streaming works"
    assert response.message.text == "streaming works"  # thought summaries are not the answer
    assert response.usage.input_tokens > 0 and response.usage.requests == 1
    assert ":streamGenerateContent?alt=sse" in server.requests[-1].path


@pytest.mark.parametrize("streaming", [False, True])
async def test_parallel_calls_get_ids_and_their_results_pair_up(server, provider, streaming):
    server.queue_tool_calls(
        [("read_file", {"path": "a.txt"}), ("read_file", {"path": "b.txt"})], text="Both."
    )
    server.queue_text("a says hi")
    messages = [Message.user("read both")]
    request = ModelRequest(list(messages), tools=[READ_FILE])
    if streaming:
        events, first = await collect(provider, request)
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert [(d.index, d.name) for d in deltas] == [(0, "read_file"), (1, "read_file")]
        assert json.loads(deltas[1].arguments_delta) == {"path": "b.txt"}
    else:
        first = await provider.complete(request)

    calls = first.message.tool_calls
    assert first.finish_reason == "tool_calls"
    assert [c.arguments for c in calls] == [{"path": "a.txt"}, {"path": "b.txt"}]
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)
    messages += [
        first.message,
        Message.tool_results(
            [
                ToolResultPart(call_id=calls[1].id, name="read_file", content="bee"),
                ToolResultPart(call_id=calls[0].id, name="read_file", content="hi", is_error=True),
            ]
        ),
    ]
    second = await provider.complete(ModelRequest(list(messages), tools=[READ_FILE]))

    assert second.message.text == "a says hi"
    assert server.rejections == []
    answer = server.last_body["contents"][-1]
    # in the order of the calls, not of the results; Gemini gave no ids, so none is invented
    assert [p["functionResponse"] for p in answer["parts"]] == [
        {"name": "read_file", "response": {"error": "hi"}},
        {"name": "read_file", "response": {"output": "bee"}},
    ]
    assert "id" not in server.last_body["contents"][1]["parts"][1]["functionCall"]


async def test_ids_gemini_gives_are_kept_and_sent_back(server, provider):
    server.queue_tool_calls([{"name": "read_file", "arguments": {"path": "x"}, "id": "fc-77"}])
    first = await provider.complete(ModelRequest([Message.user("x")], tools=[READ_FILE]))
    call = first.message.tool_calls[0]
    assert call.id == "fc-77"

    await provider.complete(
        ModelRequest(
            [
                Message.user("x"),
                first.message,
                Message.tool_results(
                    [ToolResultPart(call_id="fc-77", name="read_file", content="1")]
                ),
            ]
        )
    )
    contents = server.last_body["contents"]
    assert contents[1]["parts"][0]["functionCall"]["id"] == "fc-77"
    assert contents[2]["parts"][0]["functionResponse"]["id"] == "fc-77"


async def test_gemini_3_signatures_go_back_with_their_calls(make_provider):
    with FakeGoogleServer(signing=True) as signing:
        provider = make_provider(base_url=signing.base_url)
        signing.queue_tool_call("read_file", {"path": "x"})
        signing.queue_text("ok")
        first = await provider.complete(ModelRequest([Message.user("x")], tools=[READ_FILE]))
        call = first.message.tool_calls[0]
        await provider.complete(
            ModelRequest(
                [
                    Message.user("x"),
                    first.message,
                    Message.tool_results(
                        [ToolResultPart(call_id=call.id, name="read_file", content="1")]
                    ),
                ],
                tools=[READ_FILE],
            )
        )
        assert signing.rejections == []
        sent = signing.last_body["contents"][1]["parts"][0]["thoughtSignature"]
        assert sent in signing.issued_signatures


async def test_calls_gemini_did_not_sign_get_the_skip_placeholder(make_provider):
    # a conversation from another provider, continued on a Gemini 3 model mid-turn
    with FakeGoogleServer(signing=True) as signing:
        provider = make_provider(base_url=signing.base_url)
        from allos_core.messages import ToolCallPart

        foreign = Message.assistant(
            "",
            [ToolCallPart(id="toolu_01", name="read_file", arguments={"path": "x"})],
            provider="anthropic",
        )
        await provider.complete(
            ModelRequest(
                [
                    Message.user("x"),
                    foreign,
                    Message.tool_results(
                        [ToolResultPart(call_id="toolu_01", name="read_file", content="1")]
                    ),
                ],
                tools=[READ_FILE],
            )
        )
        assert signing.rejections == []
        part = signing.last_body["contents"][1]["parts"][0]
        assert part["thoughtSignature"] == SKIP_SIGNATURE


async def test_older_models_get_no_placeholder_signature(server, make_provider):
    from allos_core.messages import ToolCallPart

    provider = make_provider(model="gemini-2.5-flash")
    foreign = Message.assistant("", [ToolCallPart(id="c1", name="read_file", arguments={})])
    await provider.complete(
        ModelRequest(
            [
                Message.user("x"),
                foreign,
                Message.tool_results([ToolResultPart(call_id="c1", name="read_file", content="1")]),
            ],
            tools=[READ_FILE],
        )
    )
    assert "thoughtSignature" not in server.last_body["contents"][1]["parts"][0]


async def test_options_reach_the_generation_config(server, make_provider):
    provider = make_provider(temperature=0.3, top_p=0.9, stop_sequences=["END"])
    await provider.complete(ModelRequest([Message.user("x")]))
    config = server.last_body["generationConfig"]
    assert config["temperature"] == 0.3 and config["topP"] == 0.9
    assert config["stopSequences"] == ["END"]


async def test_an_unknown_option_is_a_clear_config_error(make_provider):
    from allos_core.errors import ConfigError

    provider = make_provider(top_q=3)
    with pytest.raises(ConfigError) as caught:
        await provider.complete(ModelRequest([Message.user("x")]))
    assert "top_q" in str(caught.value) and "GenerateContentConfig" in caught.value.hint


async def test_stream_that_stops_without_a_finish_reason_is_an_error(server, provider):
    from allos_core.errors import ProviderConnectionError

    server.queue_text("half an answ", no_finish=True)
    with pytest.raises(ProviderConnectionError, match="ended before a finish reason"):
        await collect(provider, ModelRequest([Message.user("x")]))


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("MALFORMED_FUNCTION_CALL", "other")],
)
async def test_finish_reasons_are_normalised(server, provider, reason, expected):
    server.queue_text("cut", finish_reason=reason)
    response = await provider.complete(ModelRequest([Message.user("x")]))
    assert response.finish_reason == expected


async def test_models_and_context_window(server, provider, make_provider):
    assert "gemini-2.5-pro" in await provider.list_models()
    assert await provider.context_window() == 1_048_576  # from the table
    unknown = make_provider(model="tunedModels-abc")
    assert await unknown.context_window() == 1_048_576  # asked the API's model information
    assert server.requests[-1].path.endswith("/models/tunedModels-abc")


async def test_think_asks_for_a_budget_and_thought_summaries_become_reasoning(
    server, make_provider
):
    # given --think high
    provider = make_provider(think="high")
    server.queue_text("The answer.", thought="Let me weigh both options.")
    events = [e async for e in provider.stream(ModelRequest([Message.user("x")]))]
    # then the request asks for thoughts with the budget of "high"
    config = server.last_body["generationConfig"]
    # (this SDK sends nested keys in snake_case; Google's parser takes both spellings)
    thinking = {k.replace("_", "").lower(): v for k, v in config["thinkingConfig"].items()}
    assert thinking == {"thinkingbudget": 24576, "includethoughts": True}
    # and the thought summary is reasoning, never the answer
    response = events[-1].response
    [reasoning] = response.message.reasoning
    assert reasoning.text == "Let me weigh both options." and reasoning.provider == "google"
    assert response.message.text == "The answer."
    # and it is not sent back to Gemini (only call signatures are)
    await provider.complete(ModelRequest([Message.user("x"), response.message, Message.user("y")]))
    assert "weigh" not in json.dumps(server.last_body)
