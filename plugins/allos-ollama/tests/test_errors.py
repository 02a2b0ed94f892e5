"""Errors that say what to do, and retries with back-off that honour Retry-After."""

from __future__ import annotations

import httpx
import pytest
from allos_ollama.errors import translate
from allos_ollama.provider import OllamaProvider
from fakes.ollama_server import FakeOllamaServer

from allos_core import errors
from allos_core.messages import Message
from allos_core.providers import ModelRequest, TextDelta


def request() -> ModelRequest:
    return ModelRequest(messages=[Message.user("hi")])


async def drain(provider: OllamaProvider) -> list:
    return [event async for event in provider.stream(request())]


@pytest.mark.parametrize("streaming", [False, True])
async def test_unknown_model_says_ollama_pull(server: FakeOllamaServer, make_provider, streaming):
    provider = make_provider("mistral-nemo")
    with pytest.raises(errors.ModelNotFoundError) as caught:
        await (drain(provider) if streaming else provider.complete(request()))

    error = caught.value
    assert "mistral-nemo" in str(error)
    assert "not found" in str(error)
    assert server.base_url in str(error)
    assert "`ollama pull mistral-nemo`" in error.hint
    assert error.status_code == 404
    assert len(server.chat_requests) == 1  # not retried


@pytest.mark.parametrize("streaming", [False, True])
async def test_connection_refused_names_the_url_and_ollama_serve(closed_port, streaming):
    provider = OllamaProvider("llama3.2", base_url=f"127.0.0.1:{closed_port}", max_retries=0)
    try:
        with pytest.raises(errors.ProviderConnectionError) as caught:
            await (drain(provider) if streaming else provider.complete(request()))
    finally:
        await provider.aclose()

    assert f"http://127.0.0.1:{closed_port}" in str(caught.value)
    assert "ollama serve" in caught.value.hint


async def test_connection_refused_is_retried_with_back_off(closed_port):
    provider = OllamaProvider(
        "llama3.2", base_url=f"http://127.0.0.1:{closed_port}", max_retries=2, retry_base_delay=1
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
    assert len(delays) == 2
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2  # exponential, with jitter


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize("streaming", [False, True])
async def test_busy_server_is_retried_then_succeeds(
    server: FakeOllamaServer, make_provider, status, streaming
):
    server.queue_error(status, retry_after=0)
    server.queue_text("finally")
    provider = make_provider()

    if streaming:
        events = await drain(provider)
        text = events[-1].response.message.text
    else:
        text = (await provider.complete(request())).message.text

    assert text == "finally"
    assert len(server.chat_requests) == 2
    assert provider.sleeps.delays == [0.0]


async def test_retry_after_from_the_server_is_honoured(server: FakeOllamaServer, make_provider):
    server.queue_error(429, "rate limited", retry_after=7)
    server.queue_error(503, retry_after=2.5)
    server.queue_text("ok")
    provider = make_provider(retry_base_delay=100)

    response = await provider.complete(request())

    assert response.message.text == "ok"
    assert provider.sleeps.delays == [7.0, 2.5]


async def test_persistent_503_gives_a_clear_error_after_max_retries(
    server: FakeOllamaServer, make_provider
):
    for _ in range(3):
        server.queue_error(503, retry_after=0)
    provider = make_provider(max_retries=2)

    with pytest.raises(errors.ProviderServerError) as caught:
        await provider.complete(request())

    assert len(server.chat_requests) == 3
    assert "HTTP 503" in str(caught.value)
    assert "server busy" in str(caught.value)
    assert "ollama serve" in caught.value.hint
    assert caught.value.status_code == 503


async def test_persistent_429_is_a_rate_limit_error(server: FakeOllamaServer, make_provider):
    server.queue_error(429, retry_after=0)
    server.queue_error(429, retry_after=0)
    with pytest.raises(errors.RateLimitError):
        await make_provider(max_retries=1).complete(request())
    assert len(server.chat_requests) == 2


async def test_client_errors_are_not_retried(server: FakeOllamaServer, make_provider):
    server.queue_error(400, 'invalid options: "num_ctx"')
    with pytest.raises(errors.BadRequestError) as caught:
        await make_provider().complete(request())
    assert "invalid options" in str(caught.value)
    assert len(server.chat_requests) == 1


async def test_model_without_tool_support_says_what_to_do(make_provider):
    from fakes.ollama_server import FakeModel

    with FakeOllamaServer([FakeModel("gemma:2b", tools=False)]) as server:
        provider = make_provider("gemma:2b", base_url=server.base_url)
        from allos_core.providers import ToolSchema

        req = request()
        req.tools = [ToolSchema("ls", "List.", {"type": "object", "properties": {}})]
        with pytest.raises(errors.BadRequestError) as caught:
            await provider.complete(req)
        await provider.aclose()
    assert "does not support tools" in str(caught.value)
    assert "tool support" in caught.value.hint


async def test_error_in_the_middle_of_a_stream(server: FakeOllamaServer, make_provider):
    server.queue_stream_error("model runner crashed", text="Partial answer")
    provider = make_provider()
    seen: list[str] = []

    with pytest.raises(errors.ProviderError) as caught:
        async for event in provider.stream(request()):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    assert "".join(seen) == "Partial answer"
    assert "model runner crashed" in str(caught.value)
    assert len(server.chat_requests) == 1


def test_timeouts_are_clear_and_retryable():
    error = translate(
        httpx.ReadTimeout("timed out"), host="http://localhost:11434", model="qwen3", timeout=30
    )
    assert isinstance(error, errors.ProviderTimeoutError)
    assert error.retryable
    assert "http://localhost:11434" in str(error) and "30 s" in str(error)
    assert "timeout" in error.hint


async def test_a_base_url_with_a_path_is_not_mistaken_for_a_missing_model(
    server: FakeOllamaServer, make_provider
):
    provider = make_provider(base_url=f"{server.base_url}/v1")
    with pytest.raises(errors.ProviderError) as caught:
        await provider.complete(request())
    assert not isinstance(caught.value, errors.ModelNotFoundError)
    assert f"{server.base_url}/v1" in str(caught.value)
    assert "without /v1" in caught.value.hint
