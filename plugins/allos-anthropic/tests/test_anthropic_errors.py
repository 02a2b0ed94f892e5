"""SDK errors become Allos errors that say what to do; retries are the SDK's own."""

from __future__ import annotations

import socket

import pytest
from allos_anthropic.provider import AnthropicProvider

from allos_core import errors
from allos_core.messages import Message
from allos_core.providers import ModelRequest

REQUEST = ModelRequest(messages=[Message.user("hi")])


async def consume(provider, request=REQUEST):
    return [event async for event in provider.stream(request)]


@pytest.mark.parametrize("streaming", [False, True])
async def test_rejected_key_is_authentication_error_without_the_key(
    server, make_provider, streaming
):
    wrong = "sk-ant-wrong-SECRET-9876"
    provider = make_provider(api_key=wrong)
    with pytest.raises(errors.AuthenticationError) as info:
        await (consume(provider) if streaming else provider.complete(REQUEST))
    error = info.value
    assert error.status_code == 401
    assert "401" in str(error)
    assert "ANTHROPIC_API_KEY" in error.hint
    assert wrong not in str(error) and wrong not in (error.hint or "")
    assert "SECRET" not in repr(error.args)


async def test_key_echoed_by_server_is_redacted(server, provider, api_key):
    server.queue_error(403, f"key {api_key} may not use this model")
    with pytest.raises(errors.AuthenticationError) as info:
        await provider.complete(REQUEST)
    assert api_key not in str(info.value)
    assert "[redacted]" in str(info.value)


async def test_missing_key_is_a_configuration_error_before_any_request(monkeypatch, server):
    with pytest.raises(errors.MissingKeyError) as info:
        AnthropicProvider(base_url=server.base_url)
    assert isinstance(info.value, errors.AuthenticationError)  # still caught as before
    assert isinstance(info.value, errors.ConfigError)  # the CLI's exit code 2
    assert "ANTHROPIC_API_KEY" in str(info.value)
    assert "ANTHROPIC_API_KEY" in info.value.hint
    assert server.requests == []  # nothing was sent


async def test_key_from_environment(monkeypatch, server, api_key):
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    provider = AnthropicProvider(max_retries=0)
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert response.message.text
    assert provider.base_url == server.base_url


async def test_unknown_model_names_it(make_provider):
    from fakes.anthropic_server import FakeAnthropicServer

    with FakeAnthropicServer(models=["claude-sonnet-5-5"]) as strict:
        provider = make_provider(model="claude-nonexistent-9", base_url=strict.base_url)
        with pytest.raises(errors.ModelNotFoundError) as info:
            await provider.complete(REQUEST)
        with pytest.raises(errors.ModelNotFoundError):
            await consume(provider)
    assert "claude-nonexistent-9" in str(info.value)
    assert info.value.status_code == 404


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("streaming", [False, True])
async def test_connection_refused_names_the_url(make_provider, streaming):
    url = f"http://127.0.0.1:{free_port()}"
    provider = make_provider(base_url=url)
    with pytest.raises(errors.ProviderConnectionError) as info:
        await (consume(provider) if streaming else provider.complete(REQUEST))
    assert url in str(info.value)
    assert info.value.retryable


@pytest.mark.parametrize("streaming", [False, True])
async def test_overloaded_529_is_retried_then_succeeds(server, make_provider, streaming):
    server.queue_error(529, retry_after=0)
    server.queue_text("after the storm")
    provider = make_provider(max_retries=2)
    if streaming:
        response = (await consume(provider))[-1].response
    else:
        response = await provider.complete(REQUEST)
    assert response.message.text == "after the storm"
    assert len(server.message_bodies) == 2


async def test_rate_limit_forever_gives_rate_limit_error_after_max_retries(server, make_provider):
    server.fail_always(429, retry_after=0.01)
    provider = make_provider(max_retries=2)
    with pytest.raises(errors.RateLimitError) as info:
        await provider.complete(REQUEST)
    assert len(server.message_bodies) == 3  # the first try and two retries
    assert info.value.status_code == 429
    assert "retries" in str(info.value)


async def test_overloaded_forever_gives_rate_limit_error(server, make_provider):
    server.fail_always(529, retry_after=0.01)
    provider = make_provider(max_retries=1)
    with pytest.raises(errors.RateLimitError) as info:
        await provider.complete(REQUEST)
    assert "overloaded" in str(info.value)
    assert len(server.message_bodies) == 2


async def test_server_error_after_retries(server, make_provider):
    server.queue_error(500, retry_after=0.01, times=2)
    provider = make_provider(max_retries=1)
    with pytest.raises(errors.ProviderServerError):
        await provider.complete(REQUEST)
    assert len(server.message_bodies) == 2


async def test_context_too_long(server, provider):
    server.queue_error(400, "prompt is too long: 1048577 tokens > 1000000 maximum")
    with pytest.raises(errors.ContextLengthError) as info:
        await provider.complete(REQUEST)
    assert provider.model in str(info.value)
    assert "/compact" in info.value.hint


async def test_other_bad_request(server, provider):
    server.queue_error(400, "temperature: range is 0-1")
    with pytest.raises(errors.BadRequestError) as info:
        await provider.complete(REQUEST)
    assert "temperature" in str(info.value)


async def test_error_event_mid_stream(server, provider):
    server.queue({"text": "partial answer here", "stream_error": "overloaded_error"})
    with pytest.raises(errors.RateLimitError) as info:
        await consume(provider)
    assert "overloaded" in str(info.value)


async def test_validation_rejection_reaches_user_as_bad_request(server, provider):
    with pytest.raises(errors.BadRequestError) as info:
        await provider.complete(
            ModelRequest(messages=[Message.user("hi")], options={"temperature": 3})
        )
    assert "temperature" in str(info.value)


def test_timeout_maps_to_timeout_error():
    import anthropic
    import httpx2
    from allos_anthropic.errors import translate_error

    exc = anthropic.APITimeoutError(request=httpx2.Request("POST", "http://h/v1/messages"))
    error = translate_error(exc, model="m", base_url="http://h", timeout=7.5)
    assert isinstance(error, errors.ProviderTimeoutError)
    assert "7.5" in str(error)
