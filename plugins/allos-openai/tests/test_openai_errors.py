"""Errors say what to do: real HTTP statuses from the fake server, through the real SDK."""

from __future__ import annotations

import socket

import pytest
from allos_openai.provider import OpenAIProvider
from fakes.base import Reply
from fakes.openai_server import ChatReply, FakeOpenAIServer

from allos_core import errors
from allos_core.messages import Message
from allos_core.providers import ModelRequest


def ask() -> ModelRequest:
    return ModelRequest(messages=[Message.user("hi")])


async def test_rejected_key_is_an_authentication_error_without_the_key(server, make_provider):
    secret = "sk-proj-SuperSecretValue-9876"
    provider = make_provider(api_key=secret)

    with pytest.raises(errors.AuthenticationError) as caught:
        await provider.complete(ask())

    error = caught.value
    shown = f"{error} {error.hint} {error!r} {provider!r}"
    assert "rejected the API key" in str(error) and error.status_code == 401
    assert "OPENAI_API_KEY" in error.hint
    for fragment in (secret, "SuperSecret", "9876"):
        assert fragment not in shown
    assert error.__cause__ is None and error.__suppress_context__


async def test_forbidden_is_an_authentication_error(server, provider):
    server.queue_error(403, "You are not allowed to sample from this model")

    with pytest.raises(errors.AuthenticationError) as caught:
        await provider.complete(ask())

    assert caught.value.status_code == 403


async def test_unknown_model_names_the_model(server, make_provider):
    server.models = ["gpt-4.1"]
    provider = make_provider(model="gpt-does-not-exist")

    with pytest.raises(errors.ModelNotFoundError) as caught:
        await provider.complete(ask())

    assert "gpt-does-not-exist" in str(caught.value)
    assert "model" in caught.value.hint


async def test_connection_refused_names_the_url_tried():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    provider = OpenAIProvider(base_url=url, max_retries=0)

    with pytest.raises(errors.ProviderConnectionError) as caught:
        await provider.complete(ask())
    await provider.aclose()

    assert f"127.0.0.1:{port}/v1" in str(caught.value)
    assert "base URL" in caught.value.hint and "OPENAI_BASE_URL" in caught.value.hint


async def test_429_with_retry_after_zero_is_retried(server, make_provider):
    provider = make_provider(max_retries=2)
    server.queue_error(429, retry_after=0)
    server.queue_text("after the retry")

    response = await provider.complete(ask())

    assert response.message.text == "after the retry"
    assert len(server.chat_requests) == 2


async def test_429_retry_after_is_honoured_in_streams_too(server, make_provider):
    provider = make_provider(max_retries=2)
    server.queue_error(429, retry_after=0.01)
    server.queue_text("streamed after the retry")

    events = [e async for e in provider.stream(ask())]

    assert events[-1].response.message.text == "streamed after the retry"
    assert len(server.chat_requests) == 2


async def test_429_forever_is_a_rate_limit_error_after_max_retries(server, make_provider):
    provider = make_provider(max_retries=2)
    server.queue_error(429, retry_after=0.01, times=3)
    server.queue_text("never reached")

    with pytest.raises(errors.RateLimitError) as caught:
        await provider.complete(ask())

    assert len(server.chat_requests) == 3, "one request and two retries"
    assert caught.value.status_code == 429
    assert "after 2 retries" in str(caught.value)
    assert caught.value.hint


async def test_500_is_retried(server, make_provider):
    provider = make_provider(max_retries=1)
    server.queue_error(500, retry_after=0.01)
    server.queue_text("recovered")

    response = await provider.complete(ask())

    assert response.message.text == "recovered"
    assert len(server.chat_requests) == 2


async def test_persistent_5xx_is_a_server_error(server, make_provider):
    provider = make_provider(max_retries=1)
    server.queue_error(503, retry_after=0.01, times=2)

    with pytest.raises(errors.ProviderServerError) as caught:
        await provider.complete(ask())

    assert caught.value.status_code == 503
    assert len(server.chat_requests) == 2


async def test_out_of_quota_says_to_check_billing(server, provider):
    server.queue_error(429, "You exceeded your current quota.", code="insufficient_quota")

    with pytest.raises(errors.RateLimitError) as caught:
        await provider.complete(ask())

    assert "quota" in str(caught.value) and "billing" in caught.value.hint


async def test_context_length_error(server, provider):
    server.queue_error(
        400,
        "This model's maximum context length is 128000 tokens. However, your messages resulted "
        "in 130512 tokens. Please reduce the length of the messages.",
        code="context_length_exceeded",
        param="messages",
    )

    with pytest.raises(errors.ContextLengthError) as caught:
        await provider.complete(ask())

    assert "too long" in str(caught.value)
    assert "compact" in caught.value.hint


async def test_timeout_is_a_provider_timeout_error(server, make_provider):
    provider = make_provider(timeout=0.2, max_retries=0)
    server.queue_hang()

    with pytest.raises(errors.ProviderTimeoutError) as caught:
        await provider.complete(ask())
    server.release()

    assert "0.2" in str(caught.value) and caught.value.hint


async def test_an_error_in_the_middle_of_a_stream(server, provider):
    server.queue(ChatReply(text="partial answer", stream_error="The server had an error."))

    seen = []
    with pytest.raises(errors.ProviderError) as caught:
        async for event in provider.stream(ask()):
            seen.append(event)

    assert "The server had an error." in str(caught.value)
    assert seen, "the text before the error was delivered"


async def test_missing_key_says_which_variable_to_set():
    with pytest.raises(errors.AuthenticationError) as caught:
        OpenAIProvider()

    assert "OPENAI_API_KEY" in str(caught.value)
    assert "OPENAI_API_KEY" in caught.value.hint


def test_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")

    provider = OpenAIProvider()

    assert provider.api_key == "sk-from-env"
    assert provider.base_url == "https://api.openai.com/v1"
    assert "sk-from-env" not in repr(provider)


async def test_a_local_server_needs_no_key(monkeypatch):
    with FakeOpenAIServer() as local:
        monkeypatch.setenv("OPENAI_BASE_URL", local.openai_base_url)
        provider = OpenAIProvider(model="llama3.2")
        local.queue_text("local answer")

        response = await provider.complete(ask())
        await provider.aclose()

    assert response.message.text == "local answer"
    assert local.requests[-1].headers["authorization"].startswith("Bearer ")


async def test_a_compatible_server_that_wants_a_key_says_so(monkeypatch):
    with FakeOpenAIServer(api_key="sk-needed") as keyed:
        provider = OpenAIProvider(base_url=keyed.openai_base_url, max_retries=0)
        with pytest.raises(errors.AuthenticationError) as caught:
            await provider.complete(ask())
        await provider.aclose()

    assert "OPENAI_API_KEY" in caught.value.hint and "wants an API key" in caught.value.hint


async def test_a_base_url_without_v1_is_a_clear_not_found(server, make_provider):
    provider = make_provider(base_url=server.base_url)  # forgot the /v1

    with pytest.raises(errors.ModelNotFoundError) as caught:
        await provider.complete(ask())

    assert "base URL" in caught.value.hint


@pytest.mark.parametrize(
    "reply",
    [
        Reply(raw_body=b"<html>LM Studio</html>", headers={"Content-Type": "text/html"}),
        Reply(raw_body=b"not json", headers={"Content-Type": "application/json"}),
        Reply(json_body={"status": "ok"}),
    ],
    ids=["html", "broken-json", "other-json"],
)
async def test_a_server_that_is_not_openai_compatible(server, provider, reply):
    server.queue(reply)
    server.queue(reply)

    with pytest.raises(errors.ProviderError) as complete:
        await provider.complete(ask())
    with pytest.raises(errors.ProviderError) as stream:
        [event async for event in provider.stream(ask())]

    for caught in (complete, stream):
        assert server.base_url in str(caught.value)
        assert "/v1" in caught.value.hint
