"""The example provider plugin in examples/allos-echo keeps the contract, as docs/plugins.md says.

The example plugins run the same conformance kit as the first-party plugins: allos-echo against a
scripted transport, allos-wordcount through the tool kit.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ProviderConformance, ToolConformance

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def echo_module(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES / "allos-echo"))
    import allos_echo

    yield allos_echo
    for name in [m for m in sys.modules if m.startswith("allos_echo")]:
        del sys.modules[name]


@pytest.fixture
def wordcount_module(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES / "allos-wordcount"))
    import allos_wordcount

    yield allos_wordcount
    for name in [m for m in sys.modules if m.startswith("allos_wordcount")]:
        del sys.modules[name]


class ScriptedTransport:
    """A transport for EchoProvider that answers from a queue, and the kit's ScriptedServer."""

    def __init__(self) -> None:
        self.answers: deque[dict[str, Any]] = deque()
        self.bodies: list[dict[str, Any]] = []

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        json.dumps(body)  # the body must be plain JSON, as on a real wire
        await asyncio.sleep(0)
        self.bodies.append(body)
        return self.answers.popleft()

    def queue_text(self, text: str, *, usage: tuple[int, int]) -> None:
        self.answers.append(
            {"status": 200, "text": text, "usage": dict(zip(("in", "out"), usage, strict=False))}
        )

    def queue_tool_calls(self, calls: list[tuple[str, dict[str, Any]]], *, usage) -> None:
        specs = [
            {"id": f"c{n}", "name": name, "arguments": json.dumps(arguments)}
            for n, (name, arguments) in enumerate(calls)
        ]
        self.answers.append(
            {
                "status": 200,
                "text": "",
                "calls": specs,
                "usage": dict(zip(("in", "out"), usage, strict=False)),
            }
        )

    def queue_error(self, status: int) -> None:
        self.answers.append({"status": status, "error": f"scripted {status}"})

    def last_tool_results(self) -> list[str]:
        return [m["text"] for m in self.bodies[-1]["messages"] if m["role"] == "tool"]


class TestEchoProviderConforms(ProviderConformance):
    @pytest.fixture
    def conformance_server(self) -> ScriptedTransport:
        return ScriptedTransport()

    @pytest.fixture
    def conformance_provider(self, echo_module, conformance_server):
        from allos_echo.provider import EchoProvider

        return EchoProvider(transport=conformance_server)


class TestWordcountToolConforms(ToolConformance):
    @pytest.fixture
    def conformance_tools(self, wordcount_module):
        return wordcount_module.allos_tools()


def test_its_pyproject_declares_the_provider_entry_point():
    project = tomllib.loads((EXAMPLES / "allos-echo" / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["allos.providers"] == {"echo": "allos_echo"}
    assert (EXAMPLES / "allos-echo" / "allos_echo" / "py.typed").exists()


def test_an_agent_runs_on_the_echo_provider_with_a_tool_round_trip(echo_module, tmp_path):
    from allos_core.tools import tool

    @tool(read_only=True)
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    manager = create_plugin_manager([echo_module], discover=False)
    agent = Agent("echo", tools=[shout], plugin_manager=manager, workspace=tmp_path)
    result = agent.run('/call shout {"text": "hello"}')
    assert result.ok and result.text == "tool said: HELLO"
    assert agent.run("plain words").text == "echo: plain words"
