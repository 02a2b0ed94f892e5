"""Prompt caching: on by default on Anthropic, visible in usage on every provider that reports it.

The fake Anthropic server checks where ``cache_control`` goes (at most four marks, only on blocks
that take one) and bills each request as the API would from the breakpoints: what an earlier
request cached is read, what this one adds is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from fakes.anthropic_cache import CacheRuleBroken, PromptCache
from fakes.anthropic_server import FakeAnthropicServer
from fakes.openai_server import ChatReply, FakeOpenAIServer

from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.tools import tool

LONG_PROMPT = "You are a careful agent. Follow the house rules exactly.\n" * 120  # ~1700 tokens
MARK = {"type": "ephemeral"}


@tool(read_only=True)
def lookup(key: str) -> str:
    """Look a key up."""
    return f"{key}=1"


def tool_loop(server: FakeAnthropicServer, turns: int, **options: Any) -> Any:
    from allos_anthropic.provider import AnthropicProvider

    for n in range(turns):
        server.queue_tool_call("lookup", {"key": f"k{n}"})
    server.queue_text("All looked up.")
    provider = AnthropicProvider(
        api_key="sk-ant-test", base_url=server.base_url, max_retries=0, **options
    )
    with Agent(
        provider,
        tools=[lookup],
        system_prompt=LONG_PROMPT,
        plugin_manager=create_plugin_manager([]),
    ) as agent:
        return agent.run("Look every key up.")


def marks(body: dict[str, Any]) -> list[str]:
    found = [f"tools.{i}" for i, t in enumerate(body.get("tools") or ()) if "cache_control" in t]
    system = body.get("system")
    if isinstance(system, list):
        found += [f"system.{i}" for i, b in enumerate(system) if "cache_control" in b]
    for i, message in enumerate(body["messages"]):
        for j, block in enumerate(message["content"]):
            if "cache_control" in block:
                found.append(f"messages.{i}.{j}")
    return found


def test_each_turn_of_a_tool_loop_reads_the_previous_turns_prefix() -> None:
    # given a five-turn tool loop on Claude with caching on (the default)
    with FakeAnthropicServer() as server:
        result = tool_loop(server, 5)
        bodies = server.message_bodies

    # then every request marked the tools, the system prompt and the moving end (<= 4 marks)
    assert result.stop_reason == "answered", result.error
    for body in bodies:
        found = marks(body)
        assert len(found) <= 4
        assert found[:2] == ["tools.0", "system.0"]
        last = len(body["messages"]) - 1
        assert f"messages.{last}.{len(body['messages'][last]['content']) - 1}" in found
    # and after the first request every request read the prefix the previous one wrote
    per_request = [m.usage for m in result.messages if m.role == "assistant"]
    assert per_request[0].cache_read_tokens == 0 and per_request[0].cache_write_tokens > 0
    for earlier, later in zip(per_request, per_request[1:], strict=False):
        assert later.cache_read_tokens >= earlier.cache_read_tokens + earlier.cache_write_tokens
    assert result.usage.cache_read_tokens > result.usage.input_tokens // 2


def test_cache_false_sends_no_breakpoints() -> None:
    with FakeAnthropicServer() as server:
        result = tool_loop(server, 2, cache=False)
        bodies = server.message_bodies

    assert result.stop_reason == "answered", result.error
    assert all(marks(body) == [] for body in bodies)
    assert result.usage.cache_read_tokens == result.usage.cache_write_tokens == 0


def test_breakpoints_never_land_on_thinking_blocks() -> None:
    with FakeAnthropicServer() as server:
        server.queue_tool_call("lookup", {"key": "a"}, thinking="Look it up.")
        result = tool_loop(server, 1, think="low")
        second = server.message_bodies[1]

    assert result.stop_reason == "answered", result.error
    thinking = second["messages"][1]["content"][0]
    assert thinking["type"] == "thinking" and "cache_control" not in thinking


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": MARK}] * 5}]},
            "maximum of 4",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s", "cache_control": MARK}]}]},
            "not allowed on thinking",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]}]},
            "ephemeral",
        ),
    ],
)  # fmt: skip
def test_the_fake_refuses_misplaced_breakpoints(body: dict[str, Any], rule: str) -> None:
    with pytest.raises(CacheRuleBroken, match=rule):
        PromptCache().account(body)


def test_openai_cached_tokens_are_reported() -> None:
    from allos_openai.provider import OpenAIProvider

    with FakeOpenAIServer() as server:
        server.queue(ChatReply(text="Hi.", usage=(2000, 5), cached_tokens=1536))
        provider = OpenAIProvider(api_key="sk-t", base_url=server.openai_base_url, max_retries=0)
        with Agent(
            provider, tools=[], system_prompt="s", plugin_manager=create_plugin_manager([])
        ) as agent:
            result = agent.run("hello")

    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (2000, 1536)


def cli_run(server: FakeAnthropicServer, tmp_path: Path, *extra: str) -> Any:
    for n in range(3):
        server.queue_tool_call("list_directory", {"path": "."}, id=f"toolu_{n}")
    server.queue_text("Done.")
    return invoke(
        "run", "-p", "anthropic", "-t", "list_directory", "--system", LONG_PROMPT,
        "--workspace", str(tmp_path), *extra, "List it.",
        env={"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.base_url},
    )  # fmt: skip


def test_cli_usage_line_and_json_show_cache_reads_and_writes(tmp_path: Path) -> None:
    with FakeAnthropicServer() as server:
        shown = cli_run(server, tmp_path)
    with FakeAnthropicServer() as server:
        as_json = cli_run(server, tmp_path, "--json")

    assert shown.exit_code == 0, shown.stderr
    assert "cache " in shown.stderr and " read" in shown.stderr and "written" in shown.stderr
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    [stop] = [e for e in events if e["type"] == "stop"]
    assert stop["usage"]["cache_read_tokens"] > 0 and stop["usage"]["cache_write_tokens"] > 0


def test_cli_no_cache_turns_caching_off(tmp_path: Path) -> None:
    with FakeAnthropicServer() as server:
        result = cli_run(server, tmp_path, "--no-cache")
        bodies = server.message_bodies

    assert result.exit_code == 0, result.stderr
    assert all(marks(body) == [] for body in bodies)
    assert "cache " not in result.stderr
