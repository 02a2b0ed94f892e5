"""Model information, server status, host resolution, cheap import and plugin discovery."""

from __future__ import annotations

import subprocess
import sys

import pytest
from allos_ollama.host import resolve_host
from allos_ollama.provider import OllamaProvider
from fakes.ollama_server import FakeModel, FakeOllamaServer

from allos_core import errors
from allos_core.plugins import create_plugin_manager


def show_requests(server: FakeOllamaServer) -> int:
    return sum(r.path == "/api/show" for r in server.requests)


async def test_context_window_from_api_show_is_cached(server: FakeOllamaServer, make_provider):
    provider = make_provider("llama3.2")

    # no num_ctx anywhere: Allos's default for tool use, below the trained 131072
    assert await provider.context_window() == 32768
    assert await provider.context_window() == 32768
    assert show_requests(server) == 1
    assert server.requests[-1].body == {"model": "llama3.2"}


async def test_context_window_follows_num_ctx(make_provider):
    models = [
        FakeModel("tuned:latest", architecture="qwen3", context_length=40960, num_ctx=8192),
        FakeModel("small:latest", architecture="gemma3", context_length=32768),
    ]
    with FakeOllamaServer(models) as server:
        from_modelfile = make_provider("tuned", base_url=server.base_url)
        from_option = make_provider("small", base_url=server.base_url, num_ctx=4096)
        capped = make_provider("small", base_url=server.base_url, options={"num_ctx": 65536})

        assert await from_modelfile.context_window() == 8192
        assert await from_option.context_window() == 4096
        assert await capped.context_window() == 32768


async def test_context_window_is_none_when_unknown(
    server: FakeOllamaServer, make_provider, closed_port
):
    assert await make_provider("not-pulled").context_window() is None
    server.fail_next("/api/show", 500)
    assert await make_provider("llama3.2").context_window() is None
    down = make_provider(base_url=f"127.0.0.1:{closed_port}")
    assert await down.context_window() is None


async def test_count_tokens_is_an_offline_estimate(make_provider):
    from allos_core.messages import Message

    provider = make_provider()
    short = provider.count_tokens([Message.user("hi")])
    long = provider.count_tokens([Message.user("word " * 400)])
    assert 0 < short < long


async def test_list_models_from_api_tags(server: FakeOllamaServer, make_provider):
    assert await make_provider().list_models() == ["llama3.2:latest", "qwen3:latest"]


async def test_list_models_when_the_server_is_down(make_provider, closed_port):
    provider = make_provider(base_url=f"127.0.0.1:{closed_port}", max_retries=0)
    with pytest.raises(errors.ProviderConnectionError) as caught:
        await provider.list_models()
    assert "ollama serve" in caught.value.hint


def test_status_against_a_running_server(server: FakeOllamaServer):
    status = OllamaProvider.status(base_url=server.base_url)
    assert status.configured is True
    assert status.detail == f"server at {server.base_url}, 2 models"

    missing = OllamaProvider.status(base_url=server.base_url, model="phi4")
    assert missing.configured is True
    assert "`ollama pull phi4`" in missing.detail


def test_status_reads_ollama_host(server: FakeOllamaServer, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{server.port}")
    assert OllamaProvider.status().configured is True


def test_status_without_a_server_never_raises(closed_port):
    status = OllamaProvider.status(base_url=f"127.0.0.1:{closed_port}")
    assert status.configured is False
    assert status.detail == f"no server at http://127.0.0.1:{closed_port}: run `ollama serve`"
    broken = OllamaProvider.status(base_url="http://[not a host")
    assert broken.configured is False


def test_status_when_the_server_answers_an_error(server: FakeOllamaServer):
    server.fail_next("/api/tags", 500)
    status = OllamaProvider.status(base_url=server.base_url)
    assert status.configured is False
    assert "HTTP 500" in status.detail


@pytest.mark.parametrize(
    ("env", "base_url", "expected"),
    [
        (None, None, "http://localhost:11434"),
        ("0.0.0.0:11434", None, "http://localhost:11434"),
        ("0.0.0.0", None, "http://localhost:11434"),
        ("gpu-box", None, "http://gpu-box:11434"),
        (":8080", None, "http://localhost:8080"),
        ("https://ollama.example.com", None, "https://ollama.example.com:443"),
        ("http://10.0.0.5:9999/", None, "http://10.0.0.5:9999"),
        ("[::1]:11434", None, "http://[::1]:11434"),
        ("gpu-box", "http://127.0.0.1:1234", "http://127.0.0.1:1234"),
    ],
)
def test_host_resolution(monkeypatch, env, base_url, expected):
    if env is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", env)
    assert resolve_host(base_url) == expected
    assert OllamaProvider(base_url=base_url).host == expected


def test_provider_defaults():
    provider = OllamaProvider()
    assert provider.name == "ollama"
    assert provider.model == OllamaProvider.default_model
    assert OllamaProvider.api_key_env is None
    assert "localhost:11434" in repr(provider)


def test_importing_the_plugin_does_not_import_the_sdk():
    code = (
        "import sys, allos_ollama\n"
        "[cls] = allos_ollama.allos_providers()\n"
        "provider = cls('llama3.2')\n"
        "assert cls.name == 'ollama', cls.name\n"
        "print('ollama' in sys.modules, 'httpx' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_plugin_is_discovered_through_its_entry_point():
    manager = create_plugin_manager()
    assert manager.providers()["ollama"] is OllamaProvider
    info = next(i for i in manager.plugins() if i.name == "ollama")
    assert info.status == "ok"
    assert info.distribution == "allos-ollama"


def test_an_invalid_address_is_a_config_error(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://[broken")
    with pytest.raises(errors.ConfigError) as caught:
        OllamaProvider()
    assert "OLLAMA_HOST" in str(caught.value)
    assert "localhost:11434" in caught.value.hint
