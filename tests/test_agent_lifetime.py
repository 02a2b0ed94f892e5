"""An Agent keeps one SDK client (and one connection) for its life, and closes it cleanly.

Every provider talks to its validating fake server through the official SDK; the fake records the
client's TCP port of each request, so one port over several runs means one reused connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.anthropic_server import FakeAnthropicServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.providers import Provider
from allos_core.tools import tool

PROVIDERS = ["openai", "anthropic", "ollama"]


@contextlib.contextmanager
def serve(name: str) -> Iterator[tuple[Any, Provider]]:
    if name == "openai":
        from allos_openai.provider import OpenAIProvider

        with FakeOpenAIServer() as server:
            yield (
                server,
                OpenAIProvider(api_key="sk-test", base_url=server.openai_base_url, max_retries=0),
            )
    elif name == "anthropic":
        from allos_anthropic.provider import AnthropicProvider

        with FakeAnthropicServer() as server:
            yield (
                server,
                AnthropicProvider(api_key="sk-ant-test", base_url=server.base_url, max_retries=0),
            )
    else:
        from allos_ollama.provider import OllamaProvider

        with FakeOllamaServer() as server:
            yield server, OllamaProvider(model="qwen3", base_url=server.base_url, max_retries=0)


def make_agent(provider: Provider, **kwargs: Any) -> Agent:
    return Agent(
        provider,
        tools=kwargs.pop("tools", []),
        system_prompt="You help.",
        plugin_manager=create_plugin_manager([]),
        **kwargs,
    )


@pytest.mark.parametrize("name", PROVIDERS)
def test_three_sync_runs_share_one_client_and_one_connection(name: str) -> None:
    # given an agent on a provider
    with serve(name) as (server, provider), make_agent(provider) as agent:
        # when it runs three times in a row through the synchronous API
        results = [agent.run(f"question {i}") for i in range(3)]
        slot = provider._client

        # then every run answered over one client and one TCP connection
        assert [r.stop_reason for r in results] == ["answered"] * 3
        assert slot.made == 1
        ports = {request.client_port for request in server.requests}
        assert len(ports) == 1
    # and leaving the with-block closed the client
    assert slot.current is None


@pytest.mark.parametrize("name", PROVIDERS)
def test_second_run_logs_no_event_loop_errors(name: str, caplog: pytest.LogCaptureFixture) -> None:
    # given an agent that ran once
    with serve(name) as (_server, provider):
        agent = make_agent(provider)
        agent.run("first")

        # when it runs again and the agent is closed
        with caplog.at_level("ERROR", logger="asyncio"):
            agent.run("second")
            agent.close()
            import gc

            gc.collect()

    # then asyncio reported no task that failed on a closed loop
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_an_agent_is_usable_again_after_close() -> None:
    with serve("openai") as (server, provider):
        agent = make_agent(provider)
        agent.run("first")
        agent.close()

        result = agent.run("second")
        agent.close()

    assert result.stop_reason == "answered"
    assert provider._client.current is None


async def test_async_with_closes_the_client_on_the_running_loop() -> None:
    with serve("anthropic") as (_server, provider):
        async with make_agent(provider) as agent:
            result = await agent.arun("hello")
            assert provider._client.current is not None

    assert result.stop_reason == "answered"
    assert provider._client.current is None


def test_runs_on_separate_event_loops_abandon_the_old_client_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a caller that drives arun() with asyncio.run() each time (a new loop per run)
    with serve("openai") as (_server, provider):
        agent = make_agent(provider)
        with caplog.at_level("ERROR", logger="asyncio"):
            for task in ("one", "two", "three"):
                asyncio.run(agent.arun(task))
            import gc

            gc.collect()
            agent.close()

    # then each loop got its own client, and no failing close task was left behind
    assert provider._client.made == 3
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_set_provider_closes_the_previous_client_at_the_next_run() -> None:
    with serve("openai") as (_s1, first), serve("ollama") as (_s2, second):
        agent = make_agent(first)
        agent.run("on openai")
        assert first._client.current is not None

        agent.set_provider(second)
        agent.run("on ollama")

        assert first._client.current is None
        assert second._client.current is not None
        agent.close()
        assert second._client.current is None


def test_sync_tool_calls_reuse_one_worker_thread() -> None:
    threads: list[int] = []

    @tool(read_only=True)
    def where(n: int) -> str:
        """Say where it ran."""
        threads.append(threading.get_ident())
        return str(n)

    with FakeOpenAIServer() as server:
        for n in range(4):
            server.queue_tool_call("where", {"n": n}, id=f"call_{n}")
        server.queue_text("done")
        from allos_openai.provider import OpenAIProvider

        provider = OpenAIProvider(api_key="sk-t", base_url=server.openai_base_url, max_retries=0)
        with make_agent(provider, tools=[where]) as agent:
            result = agent.run("go")

    assert result.stop_reason == "answered"
    assert len(threads) == 4
    assert len(set(threads)) == 1
    assert threads[0] != threading.get_ident()


@pytest.mark.slow
def test_two_runs_in_one_process_leave_stderr_clean(tmp_path: Path) -> None:
    # given a script that runs one agent twice without closing it (as a quick script would)
    with FakeOpenAIServer() as server:
        script = tmp_path / "two_runs.py"
        script.write_text(
            textwrap.dedent(
                f"""
                from allos_core.agent import Agent
                from allos_core.plugins import create_plugin_manager
                from allos_openai.provider import OpenAIProvider

                provider = OpenAIProvider(api_key="sk-t", base_url={server.openai_base_url!r})
                agent = Agent(provider, tools=[], plugin_manager=create_plugin_manager([]))
                print(agent.run("one").text)
                print(agent.run("two").text)
                """
            )
        )
        # when it runs as its own process
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONWARNINGS": "default"},
        )

    # then both runs answered over one connection and nothing was printed on stderr
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(server.default_text) == 2
    assert done.stderr == ""
    assert len({request.client_port for request in server.requests}) == 1
