"""The fake Gemini API refuses what the real one refuses, so a wrong mapping fails a test."""

from __future__ import annotations

import httpx
import pytest
from fakes.google_server import FakeGoogleServer

KEY = {"x-goog-api-key": "k"}
CALL = {"functionCall": {"name": "read_file", "args": {"path": "x"}}}
ANSWER = {"functionResponse": {"name": "read_file", "response": {"output": "1"}}}


def post(server: FakeGoogleServer, body, headers=KEY, model="gemini-2.5-flash"):
    url = f"{server.base_url}/v1beta/models/{model}:generateContent"
    return httpx.post(url, json=body, headers=headers, timeout=10)


def user(*parts):
    return {"role": "user", "parts": list(parts)}


def model(*parts):
    return {"role": "model", "parts": list(parts)}


@pytest.mark.parametrize(
    ("contents", "complaint"),
    [
        ([{"role": "system", "parts": [{"text": "x"}]}], "must be 'user' or 'model'"),
        ([model({"text": "hi"})], "start with a user turn"),
        ([user({"text": "a"}), user({"text": "b"})], "alternate"),
        ([user({"text": " "})], "empty text"),
        ([user()], "must not be empty"),
        ([user({"text": "a"}), model(CALL), user({"text": "b"})], "number of function response"),
        ([user({"text": "a"}), model(CALL, CALL), user(ANSWER)], "number of function response"),
        ([user(ANSWER)], "comes immediately after a function call"),
        ([user({"text": "a"}), model(CALL), user({"text": "b"}, ANSWER)], "before other parts"),
        ([user(CALL)], "only allowed in model turns"),
    ],
)
def test_invalid_conversations_are_refused(contents, complaint):
    with FakeGoogleServer() as server:
        response = post(server, {"contents": contents})
    assert response.status_code == 400
    assert complaint in response.json()["error"]["message"]
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert server.rejections and not server.replies


@pytest.mark.parametrize(
    ("parameters", "complaint"),
    [
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": False,
            },
            "additionalProperties",
        ),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}, "$ref"),
        ({"type": "object", "properties": {"a": {"type": "integer", "enum": [1]}}}, "enum"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "items"),
        ({"type": "object", "properties": {}}, "non-empty for OBJECT"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "uri"}}}, "format"),
    ],
)
def test_schemas_outside_geminis_subset_are_refused(parameters, complaint):
    body = {
        "contents": [user({"text": "x"})],
        "tools": [{"functionDeclarations": [{"name": "t", "parameters": parameters}]}],
    }
    with FakeGoogleServer() as server:
        response = post(server, body)
    assert response.status_code == 400
    assert complaint in response.json()["error"]["message"]


def test_valid_request_with_proto_json_spellings_is_answered():
    parameters = {
        "type": "OBJECT",
        "properties": {
            "a": {"type": "STRING"},
            "b": {"type": "ARRAY", "items": {"type": "NUMBER"}},
        },
        "property_ordering": ["a", "b"],
    }
    body = {
        "contents": [
            user({"text": "a"}),
            model(CALL),
            user(ANSWER),
            model({"text": "ok"}),
            user({"text": "thanks"}),
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "tools": [{"functionDeclarations": [{"name": "read_file", "parameters": parameters}]}],
    }
    with FakeGoogleServer() as server:
        server.queue_text("fine")
        response = post(server, body)
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": "fine"}]


def test_signing_models_refuse_unsigned_calls_in_the_current_turn():
    contents = [user({"text": "a"}), model(CALL), user(ANSWER)]
    with FakeGoogleServer() as server:
        unsigned = post(server, {"contents": contents}, model="gemini-3.8-flash")
        older = post(server, {"contents": contents}, model="gemini-2.5-flash")
        forged = post(
            server,
            {
                "contents": [
                    user({"text": "a"}),
                    model({**CALL, "thoughtSignature": "Zm9yZ2Vk"}),
                    user(ANSWER),
                ]
            },
            model="gemini-3.8-flash",
        )
    assert unsigned.status_code == 400 and "thought_signature" in unsigned.text
    assert older.status_code == 200
    assert forged.status_code == 400 and "not valid" in forged.text


def test_keys_and_models_are_checked():
    with FakeGoogleServer(api_key="right", models=["gemini-2.5-flash"]) as server:
        missing = post(server, {"contents": [user({"text": "a"})]}, headers={})
        wrong = post(server, {"contents": [user({"text": "a"})]}, headers={"x-goog-api-key": "no"})
        unknown = post(
            server,
            {"contents": [user({"text": "a"})]},
            headers={"x-goog-api-key": "right"},
            model="gemini-0",
        )
    assert missing.status_code == 403
    assert wrong.status_code == 400 and "API key not valid" in wrong.text
    assert unknown.status_code == 404 and "models/gemini-0 is not found" in unknown.text
