"""The neutral conversation mapped to Ollama's wire format, checked by the validating fake."""

from __future__ import annotations

import httpx
import pytest
from allos_ollama.mapping import fit_parameters
from fakes.ollama_server import FakeOllamaServer

from allos_core.messages import Message, ToolCallPart, ToolResultPart, validate_conversation
from allos_core.providers import ModelRequest, ToolSchema

READ_FILE = ToolSchema(
    name="read_file",
    description="Read a file.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


def conversation_with_ids(first_id: str, second_id: str) -> list[Message]:
    """A tool round trip as another provider would have recorded it (with its call ids)."""
    return [
        Message.system("You are a coding agent."),
        Message.user("What is in README.md and setup.py?"),
        Message.assistant(
            "Reading both.",
            [
                ToolCallPart(id=first_id, name="read_file", arguments={"path": "README.md"}),
                ToolCallPart(id=second_id, name="glob", arguments={"pattern": "*.py"}),
            ],
            provider="other",
        ),
        Message.tool_results(
            [
                ToolResultPart(call_id=first_id, name="read_file", content="# Demo"),
                ToolResultPart(call_id=second_id, name="glob", content="setup.py"),
            ]
        ),
    ]


async def test_tool_round_trip_is_sent_as_ollama_expects(server: FakeOllamaServer, make_provider):
    messages = conversation_with_ids("call_1", "call_2")
    messages[2] = Message.assistant(
        "",
        [
            ToolCallPart(id="call_1", name="read_file", arguments={"path": "README.md"}),
            ToolCallPart(
                id="call_2", name="glob", raw_arguments="{broken", parse_error="invalid JSON"
            ),
        ],
    )
    messages[3] = Message.tool_results(
        [
            ToolResultPart(call_id="call_1", name="read_file", content="# Demo"),
            ToolResultPart(call_id="call_2", name="glob", content="bad arguments", is_error=True),
        ]
    )
    server.queue_text("Done.")

    response = await make_provider().complete(ModelRequest(messages=messages, tools=[READ_FILE]))

    assert response.message.text == "Done."
    assert server.validation_errors == []
    wire = server.chat_requests[0]["messages"]
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "tool", "tool"]
    calls = wire[2]["tool_calls"]
    assert calls[0] == {"function": {"name": "read_file", "arguments": {"path": "README.md"}}}
    assert calls[1]["function"]["arguments"] == {}  # unparseable arguments are sent as {}
    assert [m["tool_name"] for m in wire[3:]] == ["read_file", "glob"]
    assert wire[3]["content"] == "# Demo"
    assert wire[4]["content"] == "Error: bad arguments"
    assert "call_1" not in str(server.chat_requests[0])  # Ollama has no call ids


@pytest.mark.parametrize(
    ("first_id", "second_id"),
    [
        ("call_abc123XYZ", "call_def456UVW"),  # OpenAI
        ("toolu_01A09q90qw90lq917835lq9", "toolu_01B5x8yZ2"),  # Anthropic
    ],
)
async def test_conversations_from_other_providers_are_valid_input(
    server: FakeOllamaServer, make_provider, first_id: str, second_id: str
):
    server.queue_text("README says Demo.")
    messages = conversation_with_ids(first_id, second_id)
    assert validate_conversation(messages) == []

    events = [event async for event in make_provider().stream(ModelRequest(messages=messages))]

    assert events[-1].response.message.text == "README says Demo."
    assert server.validation_errors == []


async def test_generated_ids_round_trip(server: FakeOllamaServer, make_provider):
    server.queue_tool_calls([("read_file", {"path": "a"}), ("read_file", {"path": "b"})])
    server.queue_text("Both read.")
    provider = make_provider()
    messages = [Message.user("read a and b")]

    first = await provider.complete(ModelRequest(messages=messages, tools=[READ_FILE]))
    messages.append(first.message)
    messages.append(
        Message.tool_results(
            [
                ToolResultPart(call_id=call.id, name=call.name, content=f"contents of {call.id}")
                for call in first.message.tool_calls
            ]
        )
    )
    assert validate_conversation(messages) == []
    second = await provider.complete(ModelRequest(messages=messages, tools=[READ_FILE]))

    assert second.message.text == "Both read."
    assert server.validation_errors == []
    assert server.chat_requests[1]["messages"][1]["tool_calls"][1]["function"]["arguments"] == {
        "path": "b"
    }


async def test_schema_details_the_sdk_would_drop_reach_the_server(
    server: FakeOllamaServer, make_provider
):
    tool = ToolSchema(
        name="edit_file",
        description="Edit a file.",
        parameters={
            "type": "object",
            "properties": {
                "path": {"type": "string", "title": "Path"},
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
                "edit": {
                    "type": "object",
                    "properties": {"old": {"type": "string"}, "new": {"type": "string"}},
                },
                "mode": {"type": "string", "enum": ["a", "b"], "description": "How."},
            },
            "required": ["path", "edit"],
        },
    )
    await make_provider().complete(ModelRequest(messages=[Message.user("x")], tools=[tool]))

    sent = server.chat_requests[0]["tools"][0]["function"]["parameters"]
    assert sent["required"] == ["path", "edit"]
    props = sent["properties"]
    assert props["path"] == {"type": "string"}
    assert props["limit"]["type"] == ["integer", "null"]
    assert '"default": null' in props["limit"]["description"]
    assert props["edit"]["type"] == "object"
    assert '"old": {"type": "string"}' in props["edit"]["description"]
    assert props["mode"] == {"type": "string", "enum": ["a", "b"], "description": "How."}


def test_fit_parameters_keeps_plain_schemas_unchanged():
    schema = READ_FILE.parameters
    assert fit_parameters(schema) == schema


class TestFakeServerValidates:
    """The fake refuses what the real server refuses, so a wrong mapping fails a test."""

    def post(self, server: FakeOllamaServer, messages: list, **extra) -> httpx.Response:
        body = {"model": "llama3.2", "messages": messages, "stream": False, **extra}
        return self.http.post(f"{server.base_url}/api/chat", json=body)

    @pytest.fixture(autouse=True)
    def _http(self):
        with httpx.Client() as self.http:
            yield

    def test_string_arguments_are_refused(self, server: FakeOllamaServer):
        call = {"function": {"name": "read_file", "arguments": '{"path": "a"}'}}
        reply = self.post(server, [{"role": "assistant", "content": "", "tool_calls": [call]}])
        assert reply.status_code == 400
        assert "cannot unmarshal string" in reply.json()["error"]

    def test_tool_message_needs_the_tool_name(self, server: FakeOllamaServer):
        call = {"function": {"name": "read_file", "arguments": {}}}
        assistant = {"role": "assistant", "content": "", "tool_calls": [call]}
        missing = self.post(server, [assistant, {"role": "tool", "content": "x"}])
        wrong = self.post(server, [assistant, {"role": "tool", "content": "x", "tool_name": "ls"}])
        right = self.post(
            server, [assistant, {"role": "tool", "content": "x", "tool_name": "read_file"}]
        )
        assert missing.status_code == wrong.status_code == 400
        assert "tool_name" in missing.json()["error"]
        assert right.status_code == 200

    def test_bad_roles_content_and_tools_are_refused(self, server: FakeOllamaServer):
        assert self.post(server, [{"role": "developer", "content": "x"}]).status_code == 400
        assert self.post(server, [{"role": "user", "content": [{"x": 1}]}]).status_code == 400
        bad_tool = [{"type": "function", "function": {"description": "no name"}}]
        assert self.post(server, [], tools=bad_tool).status_code == 400

    def test_unknown_model_and_streaming_default(self, server: FakeOllamaServer):
        missing = self.http.post(f"{server.base_url}/api/chat", json={"model": "nope"})
        assert missing.status_code == 404
        assert missing.json() == {"error": 'model "nope" not found, try pulling it first'}
        streamed = self.http.post(f"{server.base_url}/api/chat", json={"model": "qwen3:latest"})
        lines = streamed.text.strip().splitlines()
        assert streamed.headers["content-type"] == "application/x-ndjson"
        assert len(lines) > 1 and '"done": true' in lines[-1]
