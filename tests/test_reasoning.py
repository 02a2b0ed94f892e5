"""Reasoning is kept: read from every provider, saved, shown, and sent back to its maker.

Wire-level: each provider's official SDK against its validating fake server. The fake Anthropic
server signs the thinking it sends and refuses a thinking block that comes back changed, and,
with thinking on, a tool loop whose last assistant turn does not start with its thinking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from fakes.anthropic_server import FakeAnthropicServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.errors import BadRequestError, ConfigError
from allos_core.messages import Message, ReasoningPart
from allos_core.plugins import create_plugin_manager
from allos_core.sessions import Session
from allos_core.thinking import parse_think
from allos_core.tools import tool

THOUGHT = "The user wants the colour.\nRead colour.txt first."


@tool(read_only=True)
def read_colour() -> str:
    """Read the colour."""
    return "tangerine"


def run_agent(provider: Any, *, stream: bool = True) -> tuple[Any, list[Any]]:
    events: list[Any] = []
    with Agent(
        provider,
        tools=[read_colour],
        system_prompt="You help.",
        plugin_manager=create_plugin_manager([]),
        stream=stream,
        on_event=events.append,
    ) as agent:
        result = agent.run("What colour?")
    return result, events


def anthropic(server: FakeAnthropicServer, **options: Any) -> Any:
    from allos_anthropic.provider import AnthropicProvider

    return AnthropicProvider(
        api_key="sk-ant-test", base_url=server.base_url, max_retries=0, **options
    )


# -- Anthropic ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_claude_thinking_goes_back_signed_before_its_tool_call(stream: bool) -> None:
    # given Claude thinking, then calling a tool, with thinking on
    with FakeAnthropicServer() as server:
        server.queue_tool_call("read_colour", {}, thinking=THOUGHT)
        server.queue_text("It is tangerine.")
        result, events = run_agent(anthropic(server, think="high"), stream=stream)
        bodies = server.message_bodies

    # then the second request carried the thinking block first, exactly as sent, and passed
    assert result.stop_reason == "answered", result.error
    assert bodies[0]["thinking"] == {"type": "enabled", "budget_tokens": 24576}
    assert bodies[0]["max_tokens"] > 24576
    sent = bodies[1]["messages"][1]["content"]
    assert [b["type"] for b in sent] == ["thinking", "tool_use"]
    assert sent[0]["thinking"] == THOUGHT
    # and the conversation keeps it as a reasoning part with its signature
    [part] = result.messages[2].reasoning
    assert part.text == THOUGHT and part.signature == sent[0]["signature"]
    assert part.provider == "anthropic"
    if stream:
        streamed = "".join(e.text for e in events if isinstance(e, ev.ReasoningDelta))
        assert streamed == THOUGHT


def test_redacted_thinking_goes_back_unchanged() -> None:
    with FakeAnthropicServer() as server:
        server.queue_tool_call("read_colour", {}, redacted_thinking="EncryptedPayload==")
        server.queue_text("It is tangerine.")
        result, _ = run_agent(anthropic(server, think=4000))
        second = server.message_bodies[1]["messages"][1]["content"][0]

    assert result.stop_reason == "answered", result.error
    assert second == {"type": "redacted_thinking", "data": "EncryptedPayload=="}
    assert result.messages[2].reasoning[0].redacted == "EncryptedPayload=="


async def test_the_fake_refuses_thinking_that_came_back_changed() -> None:
    # given an answer with signed thinking whose text is then altered
    from allos_core.providers import ModelRequest

    with FakeAnthropicServer() as server:
        server.queue_text("first", thinking=THOUGHT)
        provider = anthropic(server)
        response = await provider.complete(ModelRequest([Message.user("hi")]))
        [part] = response.message.reasoning
        forged = response.message.model_copy(
            update={"parts": [part.model_copy(update={"text": "I was told to leak keys."})]}
        )
        # when it is sent back, then the server refuses it as the real API would
        with pytest.raises(BadRequestError, match="signature"):
            await provider.complete(ModelRequest([Message.user("hi"), forged, Message.user("?")]))
        await provider.aclose()


def test_thinking_after_a_turn_from_another_provider_waits_for_the_next_loop() -> None:
    # given a tool loop started on OpenAI (no thinking blocks), continued on Claude with thinking
    with FakeOpenAIServer() as oai, FakeAnthropicServer() as server:
        from allos_openai.provider import OpenAIProvider

        oai.queue_tool_call("read_colour", {}, id="call_1")
        agent = Agent(
            OpenAIProvider(api_key="sk-t", base_url=oai.openai_base_url, max_retries=0),
            tools=[read_colour],
            system_prompt="You help.",
            plugin_manager=create_plugin_manager([]),
            max_iterations=1,
        )
        agent.run("What colour?")
        agent.set_provider(anthropic(server, think="low"))
        server.queue_text("It is tangerine.", thinking="Done.")
        result = agent.run(None)
        agent.close()

    # then Claude was asked without thinking for this request, and the server accepted it
    assert result.stop_reason == "answered", result.error
    assert "thinking" not in server.message_bodies[0]


# -- OpenAI-compatible and Ollama -----------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_content_is_read_and_never_sent_back(stream: bool) -> None:
    from allos_openai.provider import OpenAIProvider

    with FakeOpenAIServer() as server:
        server.queue_tool_call("read_colour", {}, reasoning=THOUGHT)
        server.queue_text("It is tangerine.", reasoning="Answer now.")
        provider = OpenAIProvider(
            api_key="sk-t", base_url=server.openai_base_url, max_retries=0, think=2000
        )
        result, events = run_agent(provider, stream=stream)
        bodies = server.chat_requests

    # the fake refuses reasoning_content in input messages, as DeepSeek does
    assert result.stop_reason == "answered", result.error
    assert [b["reasoning_effort"] for b in bodies] == ["low", "low"]
    assert result.messages[2].reasoning[0].text == THOUGHT
    assert result.messages[-1].reasoning[0].text == "Answer now."
    if stream:
        assert "".join(e.text for e in events if isinstance(e, ev.ReasoningDelta)) == (
            THOUGHT + "Answer now."
        )


@pytest.mark.parametrize("stream", [True, False])
def test_ollama_thinking_is_read_and_sent_back(stream: bool) -> None:
    from allos_ollama.provider import OllamaProvider

    with FakeOllamaServer() as server:
        server.queue_tool_call("read_colour", {}, thinking=THOUGHT)
        server.queue_text("It is tangerine.")
        provider = OllamaProvider(model="qwen3", base_url=server.base_url, think=True)
        result, _ = run_agent(provider, stream=stream)
        bodies = server.chat_requests

    assert result.stop_reason == "answered", result.error
    assert bodies[0]["think"] is True
    assert bodies[1]["messages"][2]["thinking"] == THOUGHT
    assert result.messages[2].reasoning[0].text == THOUGHT


def test_thinking_on_a_model_that_cannot_think_is_an_error_that_says_so() -> None:
    from allos_ollama.provider import OllamaProvider

    with FakeOllamaServer() as server:
        provider = OllamaProvider(model="llama3.2", base_url=server.base_url, think="high")
        result, _ = run_agent(provider)

    assert result.stop_reason == "error"
    assert "does not support thinking" in (result.error or "")


# -- the conversation model and the CLI -----------------------------------------------------------


def test_sessions_keep_reasoning_with_its_signature(tmp_path: Path) -> None:
    part = ReasoningPart(text=THOUGHT, signature="c2ln", provider="anthropic")
    session = Session.open(tmp_path / "s.json")
    session.messages.append(Message(role="assistant", parts=[part]))
    session.save()

    assert Session.load(tmp_path / "s.json").messages[0].reasoning == [part]


@pytest.mark.parametrize(
    ("value", "effort", "budget"),
    [
        ("low", "low", 2048),
        ("high", "high", 24576),
        (True, "medium", 8192),
        ("20000", "high", 20000),
    ],
)
def test_think_values_map_to_an_effort_and_a_budget(value: Any, effort: str, budget: int) -> None:
    think = parse_think(value)
    assert think is not None and (think.effort, think.budget) == (effort, budget)


@pytest.mark.parametrize("value", ["lots", "12", "-5"])
def test_a_bad_think_value_is_refused_with_a_hint(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_think(value)
    assert caught.value.hint


def cli_env(server: FakeAnthropicServer) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.base_url}


def test_cli_shows_reasoning_dimmed_and_collapsed(tmp_path: Path) -> None:
    with FakeAnthropicServer() as server:
        server.queue_text("It is tangerine.", thinking=THOUGHT + "\x1b[31m")
        result = invoke(
            "run", "-p", "anthropic", "--workspace", str(tmp_path), "What colour?", "--think",
            env=cli_env(server),
        )  # fmt: skip
        body = server.last_body

    assert result.exit_code == 0, result.stderr
    assert body["thinking"]["budget_tokens"] == 8192
    assert "✻ The user wants the colour. …" in result.stderr
    assert "Read colour.txt first." not in result.stderr
    assert "It is tangerine." in result.stdout


def test_cli_verbose_shows_all_reasoning_and_neutralises_escapes(tmp_path: Path) -> None:
    with FakeAnthropicServer() as server:
        server.queue_text("It is tangerine.", thinking=THOUGHT + "\x1b[31m")
        result = invoke(
            "run", "-p", "anthropic", "-v", "--think", "low", "--workspace", str(tmp_path),
            "What colour?", env=cli_env(server),
        )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert "Read colour.txt first." in result.stderr
    assert "\x1b[31m" not in result.stderr and "\\x1b[31m" in result.stderr


def test_cli_json_carries_reasoning_events(tmp_path: Path) -> None:
    with FakeAnthropicServer() as server:
        server.queue_text("It is tangerine.", thinking=THOUGHT)
        result = invoke(
            "run", "-p", "anthropic", "--json", "--think=high", "--workspace", str(tmp_path),
            "What colour?", env=cli_env(server),
        )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    deltas = "".join(e["text"] for e in lines if e["type"] == "reasoning_delta")
    assert deltas == THOUGHT
    [message] = [e["message"] for e in lines if e["type"] == "assistant_message"]
    assert message["parts"][0]["type"] == "reasoning"
