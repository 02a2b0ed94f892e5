"""The fake server refuses what the real Messages API refuses (so accepted mappings mean something)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from fakes.anthropic_server import FakeAnthropicServer

HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}


def post(server, body, headers=HEADERS, path="/v1/messages"):
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def body(messages, **extra):
    return {"model": "claude-sonnet-5-5", "max_tokens": 100, "messages": messages, **extra}


def user(*content):
    return {"role": "user", "content": list(content)}


def assistant(*content):
    return {"role": "assistant", "content": list(content)}


def text(value):
    return {"type": "text", "text": value}


def use(id, name="read_file"):
    return {"type": "tool_use", "id": id, "name": name, "input": {}}


def result(id, content="ok"):
    return {"type": "tool_result", "tool_use_id": id, "content": content}


@pytest.fixture
def fake():
    with FakeAnthropicServer() as server:
        yield server


def test_accepts_a_valid_tool_conversation(fake):
    messages = [
        user(text("go")),
        assistant(text("ok"), use("toolu_1"), use("toolu_2")),
        user(result("toolu_1"), result("toolu_2"), text("thanks")),
    ]
    status, _, payload = post(fake, body(messages))
    assert status == 200
    assert json.loads(payload)["content"][0]["type"] == "text"


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"max_tokens": 10, "messages": [user(text("x"))]}, "model"),
        ({"model": "m", "messages": [user(text("x"))]}, "max_tokens"),
        (body([{"role": "system", "content": "s"}, user(text("x"))]), "system"),
        (body([user(text(""))]), "non-whitespace"),
        (body([user(text("  "))]), "non-whitespace"),
        (body([{"role": "user", "content": ""}]), "non-empty"),
        (body([user(text("a")), user(text("b"))]), "alternate"),
        (body([assistant(text("a")), user(text("b"))]), "first message"),
        (body([user(text("a")), assistant(use("t1")), user(text("b"))]), "without `tool_result`"),
        (body([user(text("a")), assistant(use("t1"))]), "without `tool_result`"),
        (
            body([user(text("a")), assistant(use("t1")), user(result("t2"))]),
            "unexpected `tool_use_id`",
        ),
        (
            body([user(text("a")), assistant(use("t1")), user(text("b"), result("t1"))]),
            "must come first",
        ),
        (body([user(text("a")), assistant(use("call 1")), user(result("call 1"))]), "pattern"),
        (body([user(text("a")), assistant(use("t1"), use("t1")), user(result("t1"))]), "unique"),
        (body([user(result("t1"))]), "unexpected `tool_use_id`"),
        (
            body([user(text("a"))], tools=[{"name": "x y", "input_schema": {"type": "object"}}]),
            "pattern",
        ),
        (body([user(text("a"))], tools=[{"name": "x", "input_schema": {}}]), "input_schema"),
    ],
)
def test_rejects_what_the_real_api_rejects(fake, payload, needle):
    fake.queue_text("should not be used")
    status, _, raw = post(fake, payload)
    assert status == 400, raw
    error = json.loads(raw)
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert needle in error["error"]["message"]
    assert len(fake.replies) == 1  # a rejected request consumes no scripted reply


def test_requires_key_and_version_headers(fake):
    status, _, raw = post(fake, body([user(text("x"))]), headers={"anthropic-version": "v"})
    assert status == 401 and json.loads(raw)["error"]["type"] == "authentication_error"
    status, _, raw = post(fake, body([user(text("x"))]), headers={"x-api-key": "k"})
    assert status == 400 and "anthropic-version" in raw
    status, _, _ = post(
        fake,
        body([user(text("x"))]),
        headers={"authorization": "Bearer k", "anthropic-version": "v"},
    )
    assert status == 200


def test_error_spec_with_retry_after(fake):
    fake.queue_error(529, retry_after=0)
    status, headers, raw = post(fake, body([user(text("x"))]))
    assert status == 529
    assert {k.lower(): v for k, v in headers.items()}["retry-after"] == "0"
    assert json.loads(raw) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_sse_sequence_and_split_tool_json(fake):
    fake.queue_tool_call("read_file", {"path": "a/b/c.txt"}, text="hi")
    status, headers, raw = post(fake, body([user(text("x"))], stream=True))
    assert status == 200 and "text/event-stream" in headers["Content-Type"]
    names = [line[7:] for line in raw.splitlines() if line.startswith("event: ")]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    datas = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    partial = [
        d["delta"]["partial_json"]
        for d in datas
        if d.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert len([p for p in partial if p]) > 1
    assert json.loads("".join(partial)) == {"path": "a/b/c.txt"}
    assert datas[-2]["delta"]["stop_reason"] == "tool_use"


def test_unknown_model_is_404_when_models_given():
    with FakeAnthropicServer(models=["claude-a"]) as server:
        status, _, raw = post(server, body([user(text("x"))]))
    assert status == 404 and "claude-sonnet-5-5" in raw
