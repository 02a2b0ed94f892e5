"""`allos models`, model capabilities before the first request, and Ollama's real context window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_support import NO_PROVIDER_ENV, invoke
from fakes.anthropic_server import FakeAnthropicServer
from fakes.ollama_server import FakeModel, FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.tools import tool

MODELS = [
    FakeModel("qwen3:latest", architecture="qwen3", context_length=40960),
    FakeModel("llama3.2:latest"),
    FakeModel("gemma3:latest", architecture="gemma3", tools=False, vision=True, num_ctx=8192),
]


@tool(read_only=True)
def lookup(key: str) -> str:
    """Look a key up."""
    return f"{key}=1"


def test_models_lists_ollama_models_with_context_and_capabilities() -> None:
    with FakeOllamaServer(MODELS) as server:
        result = invoke(
            "models", "-p", "ollama", "--json", env={**NO_PROVIDER_ENV, "OLLAMA_HOST": server.base_url}
        )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    [listing] = json.loads(result.stdout)["providers"]
    models = {m["id"]: m for m in listing["models"]}
    assert models["qwen3:latest"]["context_window"] == 40960
    assert models["qwen3:latest"]["capabilities"] == {
        "tools": True,
        "thinking": True,
        "vision": False,
    }
    assert models["gemma3:latest"]["capabilities"] == {
        "tools": False,
        "thinking": False,
        "vision": True,
    }


def test_models_without_p_asks_every_configured_provider() -> None:
    with FakeOpenAIServer() as oai, FakeAnthropicServer() as claude:
        env = {
            **NO_PROVIDER_ENV,
            "OPENAI_API_KEY": "sk-t",
            "OPENAI_BASE_URL": oai.openai_base_url,
            "ANTHROPIC_API_KEY": "sk-ant-t",
            "ANTHROPIC_BASE_URL": claude.base_url,
        }
        as_json = invoke("models", "--json", env=env)
        as_text = invoke("models", env=env)

    assert as_json.exit_code == 0, as_json.stderr
    listings = {p["provider"]: p for p in json.loads(as_json.stdout)["providers"]}
    assert set(listings) == {"openai", "anthropic"}
    assert "gpt-5.4-mini" in {m["id"] for m in listings["openai"]["models"]}
    claude_ids = {m["id"] for m in listings["anthropic"]["models"]}
    assert "claude-sonnet-4-6" in claude_ids
    assert "claude-sonnet-4-6" in as_text.stdout and "tools, vision" in as_text.stdout


def run_on(server: FakeOllamaServer, model: str, **kwargs: Any) -> tuple[Any, list[Any]]:
    from allos_ollama.provider import OllamaProvider

    events: list[Any] = []
    with Agent(
        OllamaProvider(model=model, base_url=server.base_url, max_retries=0),
        system_prompt="s",
        plugin_manager=create_plugin_manager([]),
        on_event=events.append,
        **kwargs,
    ) as agent:
        agent._tools = {"lookup": lookup} if "tools" not in kwargs else agent._tools
        result = agent.run("hi")
    return result, events


def test_a_model_without_tools_runs_without_them_when_none_were_asked_for() -> None:
    with FakeOllamaServer(MODELS) as server:
        result, events = run_on(server, "gemma3")
        chats = server.chat_requests

    assert result.stop_reason == "answered", result.error
    assert not chats[0].get("tools")
    [notice] = [e for e in events if isinstance(e, ev.Notice)]
    assert "gemma3 cannot call tools" in notice.message


def test_a_model_without_tools_is_refused_before_the_first_request_when_tools_were_asked() -> None:
    with FakeOllamaServer(MODELS) as server:
        result, _ = run_on(server, "gemma3", tools=[lookup])
        chats = server.chat_requests

    assert result.stop_reason == "error"
    assert "cannot call tools" in (result.error or "") and "allos models" in (
        result.error_hint or ""
    )
    assert chats == []


def test_num_ctx_is_the_planned_window_on_every_request() -> None:
    with FakeOllamaServer(MODELS) as server:
        for _ in range(2):
            server.queue_tool_call("lookup", {"key": "a"})
        server.queue_text("done")
        result, _ = run_on(server, "qwen3", tools=[lookup])
        windows = [body["options"]["num_ctx"] for body in server.chat_requests]

    # no num_ctx configured: the default for tool use (32768), below qwen3's trained 40960
    assert result.stop_reason == "answered", result.error
    assert windows == [32768, 32768, 32768]


def test_num_ctx_option_is_capped_at_the_trained_length_and_modelfile_is_kept() -> None:
    from allos_ollama.provider import OllamaProvider

    with FakeOllamaServer(MODELS) as server:
        capped = OllamaProvider(model="qwen3", base_url=server.base_url, num_ctx=65536)
        modelfile = OllamaProvider(model="gemma3", base_url=server.base_url)
        for provider in (capped, modelfile):
            with Agent(
                provider, tools=[], system_prompt="s", plugin_manager=create_plugin_manager([])
            ) as agent:
                agent.run("hi")
        windows = [body["options"]["num_ctx"] for body in server.chat_requests]

    assert windows == [40960, 8192]


def test_cli_run_says_the_model_cannot_call_tools(tmp_path: Path) -> None:
    with FakeOllamaServer(MODELS) as server:
        result = invoke(
            "run", "-p", "ollama", "-m", "gemma3", "--workspace", str(tmp_path), "hi",
            env={**NO_PROVIDER_ENV, "OLLAMA_HOST": server.base_url},
        )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert "gemma3 cannot call tools: running without tools" in result.stderr
