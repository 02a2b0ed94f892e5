"""Neutral conversation -> Anthropic wire format, checked directly and by the validating server."""

from __future__ import annotations

import re

from allos_anthropic.mapping import (
    LEADING_USER_TEXT,
    MISSING_RESULT_TEXT,
    to_anthropic,
    tools_to_anthropic,
)

from allos_core.messages import (
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    validate_conversation,
)
from allos_core.providers import ModelRequest, ToolSchema, portable_call_id, tool_call_from_json

ID_OK = re.compile(r"^[a-zA-Z0-9_-]+$")


def call(id: str, name: str = "read_file", **arguments) -> ToolCallPart:
    return ToolCallPart(id=id, name=name, arguments=arguments)


def result(call_id: str, content: str = "ok", name: str = "read_file", **kw) -> ToolResultPart:
    return ToolResultPart(call_id=call_id, name=name, content=content, **kw)


def tool_ids(turns) -> tuple[list[str], list[str]]:
    uses = [b["id"] for t in turns for b in t["content"] if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for t in turns for b in t["content"] if b["type"] == "tool_result"]
    return uses, results


def test_system_messages_become_top_level_system():
    system, turns = to_anthropic(
        [Message.system("You are terse."), Message.system("Use tools."), Message.user("hi")]
    )
    assert system == "You are terse.\n\nUse tools."
    assert turns == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_no_system_gives_none():
    system, _ = to_anthropic([Message.user("hi")])
    assert system is None


def test_tool_round_trip_and_merge_of_results_with_following_user_text():
    messages = [
        Message.user("read two files"),
        Message.assistant("Reading.", [call("toolu_1", path="a"), call("toolu_2", path="b")]),
        Message.tool_results([result("toolu_1", "A"), result("toolu_2", "boom", is_error=True)]),
        Message.user("and be quick"),
    ]
    _, turns = to_anthropic(messages)
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {"type": "text", "text": "Reading."},
        {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a"}},
        {"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": {"path": "b"}},
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "A"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "boom", "is_error": True},
        {"type": "text", "text": "and be quick"},
    ]


def test_user_text_before_results_in_merged_turn_is_moved_after_them():
    messages = [
        Message.user("go"),
        Message.assistant("", [call("c1")]),
        Message(role="user", parts=[TextPart(text="note first")]),
        Message.tool_results([result("c1")]),
    ]
    _, turns = to_anthropic(messages)
    assert [b["type"] for b in turns[-1]["content"]] == ["tool_result", "text"]


def test_consecutive_same_role_messages_are_merged_and_empty_text_dropped():
    messages = [
        Message.user("one"),
        Message(role="user", parts=[TextPart(text="   ")]),
        Message.user("two"),
        Message.assistant("a"),
        Message.assistant(""),
        Message(role="assistant", parts=[TextPart(text="")]),
        Message.assistant("b"),
        Message.user("three"),
    ]
    _, turns = to_anthropic(messages)
    assert turns == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "three"}]},
    ]


def test_conversation_starting_with_assistant_gets_a_user_turn_first():
    _, turns = to_anthropic(
        [Message.system("s"), Message.assistant("Earlier answer"), Message.user("go on")]
    )
    assert turns[0] == {"role": "user", "content": [{"type": "text", "text": LEADING_USER_TEXT}]}
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]


def test_call_with_parse_error_is_sent_with_empty_input():
    broken = tool_call_from_json("toolu_x", "read_file", '{"path": ')
    assert broken.parse_error
    _, turns = to_anthropic(
        [
            Message.user("go"),
            Message.assistant("", [broken]),
            Message.tool_results([result("toolu_x", "invalid arguments", is_error=True)]),
        ]
    )
    assert turns[1]["content"] == [
        {"type": "tool_use", "id": "toolu_x", "name": "read_file", "input": {}}
    ]


def test_openai_and_odd_ids_are_made_portable_and_still_match():
    odd = ["call_abc123XYZ", "functions.read_file:0", "call 7/äö", "x" * 64]
    messages = [Message.user("go")]
    for i, call_id in enumerate(odd):
        messages.append(Message.assistant("", [call(call_id, path=str(i))]))
        messages.append(Message.tool_results([result(call_id, f"r{i}")]))
    assert validate_conversation(messages) == []
    _, turns = to_anthropic(messages)
    uses, results = tool_ids(turns)
    assert uses == results
    assert all(ID_OK.match(i) for i in uses)
    assert uses[0] == "call_abc123XYZ"  # already portable: unchanged
    assert uses[1] == portable_call_id("functions.read_file:0")


def test_repeated_and_empty_ids_are_told_apart():
    # Ollama gives no ids; a careless session may hold two calls with the same (empty) id
    messages = [
        Message.user("go"),
        Message.assistant("", [call("", path="a"), call("", path="b")]),
        Message.tool_results([result("", "A"), result("", "B")]),
        Message.assistant("", [call("0", path="c")]),
        Message.tool_results([result("0", "C")]),
        Message.assistant("", [call("0", path="d")]),
        Message.tool_results([result("0", "D")]),
    ]
    _, turns = to_anthropic(messages)
    uses, results = tool_ids(turns)
    assert uses == results
    assert len(set(uses)) == 4
    assert all(ID_OK.match(i) for i in uses)
    # results still answer the right call, in order
    first_results = [b["content"] for b in turns[2]["content"]]
    assert first_results == ["A", "B"]


def test_unanswered_call_gets_an_error_result_and_orphan_result_becomes_text():
    messages = [
        Message.user("go"),
        Message.assistant("", [call("c1"), call("c2")]),
        Message.tool_results([result("c1"), result("nope", "stray", name="grep")]),
        Message.assistant("", [call("c3")]),  # interrupted: no result at all
    ]
    _, turns = to_anthropic(messages)
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "ok"},
        {
            "type": "tool_result",
            "tool_use_id": "c2",
            "content": MISSING_RESULT_TEXT,
            "is_error": True,
        },
        {"type": "text", "text": "[result of tool grep]\nstray"},
    ]
    assert turns[-1] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "c3",
                "content": MISSING_RESULT_TEXT,
                "is_error": True,
            }
        ],
    }


def test_empty_result_content_is_omitted():
    _, turns = to_anthropic(
        [
            Message.user("go"),
            Message.assistant("", [call("c1")]),
            Message.tool_results([result("c1", "")]),
        ]
    )
    assert turns[-1]["content"] == [{"type": "tool_result", "tool_use_id": "c1"}]


def test_tool_schemas():
    schemas = [
        ToolSchema("grep", "Search", {"type": "object", "properties": {"q": {"type": "string"}}}),
        ToolSchema("now", "", {}),
    ]
    assert tools_to_anthropic(schemas) == [
        {
            "name": "grep",
            "description": "Search",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]


# -- the same mappings, accepted by the validating fake server ----------------------------------


def hard_conversation() -> list[Message]:
    """Everything at once: system text, merges, OpenAI and Ollama style ids, a broken call."""
    return [
        Message.system("You are a coding agent."),
        Message.user("fix the bug"),
        Message.user(""),
        Message.assistant(
            "Looking.", [call("call_Xy12", path="a.py"), call("", name="grep", q="x")]
        ),
        Message.tool_results([result("call_Xy12", "print(1)"), result("", "", name="grep")]),
        Message.user("also check b.py"),
        Message.assistant("", [tool_call_from_json("functions.read_file:3", "read_file", "{oops")]),
        Message.tool_results([result("functions.read_file:3", "invalid JSON", is_error=True)]),
        Message.system("Be brief."),
        Message.assistant("Done with reading."),
        Message.assistant("Anything else?"),
        Message.user("no"),
    ]


async def test_hard_conversation_accepted_by_validating_server(server, provider):
    messages = hard_conversation()
    assert validate_conversation(messages) == []
    request = ModelRequest(
        messages=messages, tools=[ToolSchema("read_file", "Read", {"type": "object"})]
    )
    response = await provider.complete(request)
    assert response.message.text  # the server accepted it (a rejection raises)
    async for _ in provider.stream(request):
        pass
    body = server.last_body
    assert [block["text"] for block in body["system"]] == ["You are a coding agent.\n\nBe brief."]
    assert body["max_tokens"] == 8192
    assert [m["role"] for m in body["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]


async def test_conversation_from_another_provider_continues(server, provider):
    """A session started elsewhere (OpenAI ids) continues on Anthropic with its ids matching."""
    history = [
        Message.user("list files"),
        Message.assistant(
            "", [call("call_9bQ2xZ", name="list_directory", path=".")], provider="openai"
        ),
        Message.tool_results([result("call_9bQ2xZ", "a.py\nb.py", name="list_directory")]),
        Message.assistant("Two files.", provider="openai"),
        Message.user("read a.py"),
    ]
    server.queue_tool_call("read_file", {"path": "a.py"})
    response = await provider.complete(ModelRequest(messages=history))
    [new_call] = response.message.tool_calls
    history += [response.message, Message.tool_results([result(new_call.id, "print(1)")])]
    server.queue_text("It prints 1.")
    final = await provider.complete(ModelRequest(messages=history))
    assert final.message.text == "It prints 1."
    assert len(server.message_bodies) == 2
