"""Errors that say what to do, and retries that honour the server's advice."""

from __future__ import annotations

import pytest
from allos_google.provider import GoogleProvider
from fakes.google_server import FakeGoogleServer

from allos_core import errors
from allos_core.messages import Message
from allos_core.providers import ModelRequest


def request() -> ModelRequest:
    return ModelRequest([Message.user("hi")])


async def call(provider: GoogleProvider, streaming: bool):
    if streaming:
        return [event async for event in provider.stream(request())]
    return await provider.complete(request())


@pytest.mark.parametrize("streaming", [False, True])
async def test_missing_key_names_the_variable_to_set(streaming):
    provider = GoogleProvider(base_url="http://127.0.0.1:9")
    with pytest.raises(errors.AuthenticationError) as caught:
        await call(provider, streaming)
    assert "GEMINI_API_KEY" in str(caught.value)
    assert "aistudio.google.com/apikey" in caught.value.hint


async def test_either_key_variable_is_used(monkeypatch, server: FakeGoogleServer):
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-test-0123456789")
    assert GoogleProvider.status().configured
    provider = GoogleProvider(base_url=server.base_url, max_retries=0)
    try:
        await provider.complete(request())
    finally:
        await provider.aclose()
    assert server.requests[-1].headers["x-goog-api-key"] == "AIza-test-0123456789"


async def test_base_url_comes_from_the_environment(monkeypatch, server: FakeGoogleServer):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
    provider = GoogleProvider(api_key="AIza-test-0123456789", max_retries=0)
    try:
        response = await provider.complete(request())
    finally:
        await provider.aclose()
    assert response.message.text and len(server.generate_bodies) == 1


@pytest.mark.parametrize("streaming", [False, True])
async def test_wrong_key_is_an_authentication_error_without_the_key(make_provider, streaming):
    provider = make_provider(api_key="AIza-wrong-key")
    with pytest.raises(errors.AuthenticationError) as caught:
        await call(provider, streaming)
    assert "API key not valid" in str(caught.value)
    assert "GEMINI_API_KEY" in caught.value.hint
    assert "AIza-wrong-key" not in str(caught.value)


@pytest.mark.parametrize("streaming", [False, True])
async def test_unknown_model_is_model_not_found_and_not_retried(make_provider, streaming):
    with FakeGoogleServer(models=["gemini-2.5-flash"]) as picky:
        provider = make_provider(model="gemini-9-ultra", base_url=picky.base_url, max_retries=3)
        with pytest.raises(errors.ModelNotFoundError) as caught:
            await call(provider, streaming)
        assert len(picky.generate_bodies) == 1
    assert "gemini-9-ultra" in str(caught.value)
    assert "-m/--model" in caught.value.hint


@pytest.mark.parametrize("streaming", [False, True])
async def test_rate_limit_is_retried_after_the_delay_google_asks_for(
    server, make_provider, streaming
):
    server.queue_error(429, retry_delay="7s")
    server.queue_error(429, retry_after=2)
    server.queue_text("at last")
    provider = make_provider(max_retries=3)

    result = await call(provider, streaming)

    text = result[-1].response.message.text if streaming else result.message.text
    assert text == "at last"
    assert provider.sleeps.delays == [7.0, 2.0]
    assert len(server.generate_bodies) == 3


async def test_rate_limit_that_persists_says_so(server, make_provider):
    server.queue_error(429, retry_delay="0s", times=3)
    provider = make_provider(max_retries=2)
    with pytest.raises(errors.RateLimitError) as caught:
        await provider.complete(request())
    assert "retries ran out" in str(caught.value)
    assert "quota" in caught.value.hint
    assert len(server.generate_bodies) == 3


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_then_reported(server, make_provider, status):
    server.fail_always(status)
    provider = make_provider(max_retries=1)
    with pytest.raises(errors.ProviderServerError) as caught:
        await provider.complete(request())
    assert f"HTTP {status}" in str(caught.value)
    assert len(server.generate_bodies) == 2
    assert len(provider.sleeps.delays) == 1


async def test_error_in_the_middle_of_a_stream_is_raised_not_retried(server, make_provider):
    server.queue_text("a long answer that breaks", stream_error=500)
    provider = make_provider(max_retries=3)
    with pytest.raises(errors.ProviderServerError):
        await call(provider, streaming=True)
    assert len(server.generate_bodies) == 1


@pytest.mark.parametrize("streaming", [False, True])
async def test_connection_refused_names_the_url(closed_port, streaming):
    provider = GoogleProvider(
        api_key="k", base_url=f"http://127.0.0.1:{closed_port}", max_retries=0
    )
    try:
        with pytest.raises(errors.ProviderConnectionError) as caught:
            await call(provider, streaming)
    finally:
        await provider.aclose()
    assert f"http://127.0.0.1:{closed_port}" in str(caught.value)
    assert "GOOGLE_GEMINI_BASE_URL" in caught.value.hint


async def test_connection_refused_is_retried_with_back_off(closed_port):
    provider = GoogleProvider(
        api_key="k", base_url=f"http://127.0.0.1:{closed_port}", max_retries=2, retry_base_delay=1
    )
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    provider.sleep = record
    try:
        with pytest.raises(errors.ProviderConnectionError):
            await provider.complete(request())
    finally:
        await provider.aclose()
    assert len(delays) == 2 and 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2


async def test_too_long_conversation_is_a_context_length_error(server, provider):
    server.queue_error(
        400,
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    )
    with pytest.raises(errors.ContextLengthError) as caught:
        await provider.complete(request())
    assert "/compact" in caught.value.hint


async def test_rejected_request_is_a_bad_request_with_the_servers_reason(server, provider):
    from allos_core.messages import ToolCallPart

    # a tool-call part in a user message cannot be sent as a call: it goes as text, so the
    # request stays valid; here the server is made to reject anyway
    server.queue_error(400, "Request contains an invalid argument.")
    with pytest.raises(errors.BadRequestError, match="invalid argument"):
        await provider.complete(
            ModelRequest([Message(role="user", parts=[ToolCallPart(id="a", name="x")])])
        )
    assert server.rejections == []
    assert server.last_body["contents"][0]["parts"][0]["text"].startswith("[tool call x")


def test_vertex_ai_is_configured_by_project(monkeypatch):
    assert not GoogleProvider.status(vertexai=True).configured
    assert "GOOGLE_CLOUD_PROJECT" in GoogleProvider.status(vertexai=True).detail
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    status = GoogleProvider.status(vertexai=True)
    assert status.configured and "my-project" in status.detail
    provider = GoogleProvider(vertexai=True, location="europe-west4")
    assert (provider.vertexai, provider.project, provider.location) == (
        True,
        "my-project",
        "europe-west4",
    )
    assert "vertexai" not in provider.options  # consumed, not sent to the API


async def test_vertex_ai_express_mode_reaches_the_vertex_endpoint(server):
    # an API key on Vertex AI (express mode); base_url points the SDK at the fake
    provider = GoogleProvider(vertexai=True, api_key="vx-key", base_url=server.base_url)
    try:
        await provider.complete(request())
    except errors.AllosError:
        pass  # the fake serves the Gemini API paths only
    finally:
        await provider.aclose()
    assert server.requests[-1].headers.get("x-goog-api-key") == "vx-key"
    assert "/publishers/google/models/" in server.requests[-1].path
