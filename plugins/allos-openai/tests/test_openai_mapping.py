"""Unit tests of the wire mapping for shapes other servers send."""

from __future__ import annotations

from allos_openai.mapping import StreamAssembler, calls_from_message, text_of, usage_from_wire


def test_deltas_without_an_index_are_told_apart_by_id():
    parts = StreamAssembler()
    for delta in [
        {"id": "a", "function": {"name": "read_file", "arguments": '{"path"'}},
        {"function": {"arguments": ': "x"}'}},
        {"id": "b", "function": {"name": "glob", "arguments": '{"pattern": "*"}'}},
    ]:
        parts.add_tool_delta(delta)

    first, second = parts.tool_calls()

    assert (first.id, first.name, first.arguments) == ("a", "read_file", {"path": "x"})
    assert (second.id, second.name, second.arguments) == ("b", "glob", {"pattern": "*"})


def test_a_name_repeated_in_every_delta_is_not_doubled():
    parts = StreamAssembler()
    parts.add_tool_delta(
        {"index": 0, "id": "c", "function": {"name": "shell_exec", "arguments": ""}}
    )
    parts.add_tool_delta({"index": 0, "function": {"name": "shell_exec", "arguments": "{}"}})

    (call,) = parts.tool_calls()

    assert call.name == "shell_exec" and call.arguments == {}


def test_a_call_without_id_gets_one():
    (call,) = calls_from_message(
        {"tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    )

    assert call.id.startswith("call_") and call.name == "f"


def test_content_as_a_list_of_parts_and_missing_usage():
    assert text_of([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]) == "ab"
    assert text_of(None) == ""
    assert usage_from_wire(None) is None
    assert usage_from_wire({"prompt_tokens": 3, "completion_tokens": None}).input_tokens == 3
