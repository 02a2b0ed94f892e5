"""Conversation mapping: what the validating fake server (like the real API) accepts."""

from __future__ import annotations

import openai
import pytest
from allos_openai.mapping import messages_to_wire, normalise_finish_reason

from allos_core import errors
from allos_core.messages import (
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    validate_conversation,
)
from allos_core.providers import ModelRequest, new_tool_call_id, portable_call_id


def tool_turn(call_ids: list[str], *, text: str = "", provider: str | None = None) -> list[Message]:
    """An assistant message asking for ``call_ids`` and the tool message answering them."""
    calls = [
        ToolCallPart(id=cid, name="read_file", arguments={"path": f"{i}.txt"})
        for i, cid in enumerate(call_ids)
    ]
    results = [
        ToolResultPart(call_id=cid, name="read_file", content=f"contents {i}")
        for i, cid in enumerate(call_ids)
    ]
    assistant = Message.assistant(text, calls, provider=provider)
    return [assistant, Message.tool_results(results)]


async def test_a_tool_round_trip_is_accepted_and_mapped(server, provider):
    server.queue_tool_calls([("read_file", {"path": "a"}), ("read_file", {"path": "b"})])
    server.queue_text("Both files are short.")
    conversation = [Message.system("Be brief."), Message.user("Read a and b.")]

    first = await provider.complete(ModelRequest(list(conversation)))
    conversation.append(first.message)
    conversation.append(
        Message.tool_results(
            [
                ToolResultPart(call_id=c.id, name=c.name, content="x")
                for c in first.message.tool_calls
            ]
        )
    )
    second = await provider.complete(ModelRequest(conversation))

    assert second.message.text == "Both files are short."
    sent = server.chat_requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "tool"]
    assistant = sent[2]
    assert assistant["content"] is None
    assert [c["id"] for c in assistant["tool_calls"]] == [c.id for c in first.message.tool_calls]
    assert assistant["tool_calls"][0]["function"] == {
        "name": "read_file",
        "arguments": '{"path": "a"}',
    }
    assert [m["tool_call_id"] for m in sent[3:]] == [c.id for c in first.message.tool_calls]


@pytest.mark.parametrize(
    "call_ids",
    [
        pytest.param(
            ["toolu_01A09q90qw90lq917835lq9", "toolu_01B7xKzq2aVbE3nWpPp3mJc8"], id="anthropic"
        ),
        pytest.param([new_tool_call_id(), new_tool_call_id()], id="generated-for-ollama"),
        pytest.param(
            ["functions.read_file:0/" + "x" * 50, "call with spaces & symbols!"], id="not-portable"
        ),
    ],
)
async def test_conversations_from_other_providers_are_valid_input(server, provider, call_ids):
    history = [
        Message.user("Read two files."),
        *tool_turn(call_ids, text="Reading.", provider="other"),
    ]
    history.append(Message.assistant("Done.", provider="other"))
    history.append(Message.user("And now?"))
    assert validate_conversation(history) == []
    server.queue_text("Fine.")

    response = await provider.complete(ModelRequest(history))

    assert response.message.text == "Fine."
    sent = server.chat_requests[-1]["messages"]
    sent_calls = [c["id"] for c in sent[1]["tool_calls"]]
    assert sent_calls == [portable_call_id(cid) for cid in call_ids]
    assert all(len(cid) <= 40 for cid in sent_calls)
    assert [m["tool_call_id"] for m in sent[2:4]] == sent_calls
    assert sent[1]["content"] == "Reading."


async def test_streaming_accepts_the_same_conversations(server, provider):
    history = [Message.user("go"), *tool_turn(["toolu_01XyZ", "call:" + "y" * 60])]
    server.queue_text("streamed")

    events = [e async for e in provider.stream(ModelRequest(history))]

    assert events[-1].response.message.text == "streamed"


async def test_several_consecutive_tool_turns(server, provider):
    history = [Message.user("go")]
    for round_ in range(3):
        history += tool_turn([f"call_{round_}_a", f"call_{round_}_b"])
    server.queue_text("done")

    await provider.complete(ModelRequest(history))

    roles = [m["role"] for m in server.chat_requests[-1]["messages"]]
    assert roles == ["user"] + ["assistant", "tool", "tool"] * 3


async def test_error_results_are_marked_for_the_model(server, provider):
    history = [
        Message.user("go"),
        Message.assistant("", [ToolCallPart(id="c1", name="shell_exec")]),
    ]
    history.append(
        Message.tool_results(
            [ToolResultPart(call_id="c1", name="shell_exec", content="denied", is_error=True)]
        )
    )

    await provider.complete(ModelRequest(history))

    assert server.chat_requests[-1]["messages"][-1]["content"] == "Error: denied"


async def test_an_empty_assistant_message_is_sent_as_empty_text(server, provider):
    history = [Message.user("a"), Message.assistant(""), Message.user("b")]

    await provider.complete(ModelRequest(history))

    assert server.chat_requests[-1]["messages"][1] == {"role": "assistant", "content": ""}


def test_tool_results_inside_a_user_message_come_first():
    """Anthropic-style user messages carrying results still map to valid OpenAI order."""
    call = ToolCallPart(id="c1", name="read_file")
    mixed = Message(
        role="user",
        parts=[
            ToolResultPart(call_id="c1", name="read_file", content="x"),
            TextPart(text="thanks"),
        ],
    )

    wire = messages_to_wire([Message.user("hi"), Message.assistant("", [call]), mixed])

    assert [m["role"] for m in wire] == ["user", "assistant", "tool", "user"]


# -- the fake server rejects what the real API rejects ------------------------------------------


async def raw_post(provider, body):
    """Post ``body`` as is, through the SDK client, and return the Allos error."""
    client = provider._get_client()
    with pytest.raises(openai.BadRequestError) as caught:
        await client.post("/chat/completions", cast_to=object, body=body)
    return caught.value


USER = {"role": "user", "content": "hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"messages": [USER]}, "you must provide a model parameter"),
        ({"model": "m", "messages": "hi"}, "expected an array"),
        ({"model": "m", "messages": []}, "empty array"),
        (
            {
                "model": "m",
                "messages": [USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}],
            },
            "must be a response to a preceeding message with 'tool_calls'",
        ),
        (
            {
                "model": "m",
                "messages": [USER, {"role": "assistant", "content": None, "tool_calls": [CALL]}],
            },
            "did not have response messages: call_1",
        ),
        (
            {
                "model": "m",
                "messages": [
                    USER,
                    {"role": "assistant", "content": None, "tool_calls": [CALL]},
                    USER,
                ],
            },
            "did not have response messages",
        ),
        (
            {
                "model": "m",
                "messages": [
                    USER,
                    {"role": "assistant", "content": None, "tool_calls": [CALL]},
                    {"role": "tool", "tool_call_id": "call_2", "content": "x"},
                ],
            },
            "not found in 'tool_calls' of previous message",
        ),
        (
            {
                "model": "m",
                "messages": [
                    USER,
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{**CALL, "id": "c" * 41}],
                    },
                    {"role": "tool", "tool_call_id": "c" * 41, "content": "x"},
                ],
            },
            "maximum length 40",
        ),
        (
            {
                "model": "m",
                "messages": [
                    USER,
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{**CALL, "function": {"name": "f", "arguments": {}}}],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "x"},
                ],
            },
            "expected a string",
        ),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "Supported values"),
        (
            {
                "model": "m",
                "messages": [USER, {"role": "assistant", "content": None, "tool_calls": []}],
            },
            "empty array",
        ),
        (
            {"model": "m", "messages": [USER], "stream_options": {"include_usage": True}},
            "only allowed when 'stream' is enabled",
        ),
        (
            {
                "model": "m",
                "messages": [USER],
                "tools": [{"type": "function", "function": {"name": "bad name"}}],
            },
            "does not match pattern",
        ),
        (
            {"model": "m", "messages": [USER], "made_up_option": 1},
            "Unrecognized request argument supplied: made_up_option",
        ),
    ],
)
async def test_the_fake_server_rejects_invalid_requests_like_the_api(
    server, provider, body, expected
):
    error = await raw_post(provider, body)

    assert expected in error.message
    assert error.body["type"] == "invalid_request_error"
    assert server.rejections and expected in server.rejections[-1]
    server.rejections.clear()


async def test_a_rejected_request_becomes_a_bad_request_error(server, provider):
    history = [
        Message.user("hi"),
        Message.tool_results([ToolResultPart(call_id="c9", name="f", content="x")]),
    ]

    with pytest.raises(errors.BadRequestError) as caught:
        await provider.complete(ModelRequest(history))

    assert "preceeding message with 'tool_calls'" in str(caught.value)
    assert caught.value.status_code == 400
    server.rejections.clear()


@pytest.mark.parametrize(
    ("reason", "has_calls", "expected"),
    [
        ("stop", False, "stop"),
        ("tool_calls", True, "tool_calls"),
        ("stop", True, "tool_calls"),
        ("function_call", True, "tool_calls"),
        ("length", False, "length"),
        ("content_filter", False, "content_filter"),
        ("something_new", False, "other"),
        (None, False, "stop"),
    ],
)
def test_finish_reasons_are_normalised(reason, has_calls, expected):
    assert normalise_finish_reason(reason, has_calls) == expected
