"""`Agent(AgentConfig(...))`, the plan's shape, builds the same agent as keyword arguments."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from allos_core import Agent, AgentConfig
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


@tool(read_only=True)
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)


def config(turns, **fields) -> AgentConfig:
    fields.setdefault("plugin_manager", create_plugin_manager([], discover=False))
    fields.setdefault("system_prompt", "You are a test agent.")
    return AgentConfig(provider=ScriptedProvider(turns), tools=[add], **fields)


def test_agent_from_a_config_runs_with_its_tools(tmp_path):
    turns = [{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]}, "It is 5."]
    agent = Agent(config(turns, workspace=tmp_path, max_iterations=4))

    result = agent.run("what is 2 + 3?")

    assert result.text == "It is 5."
    assert [p.content for m in result.messages if m.role == "tool" for p in m.parts] == ["5"]
    assert agent.max_iterations == 4 and agent.workspace == tmp_path.resolve()
    assert agent.system_prompt.startswith("You are a test agent.")


def test_keywords_next_to_a_config_win(tmp_path):
    seen = []
    agent = Agent(config(["hi"], max_iterations=4), max_iterations=9, on_event=seen.append)
    agent.run("hello")
    assert agent.max_iterations == 9 and seen


def test_a_config_is_reusable_data(tmp_path):
    base = config(["one"], workspace=tmp_path)
    other = dataclasses.replace(base, provider=ScriptedProvider(["two"]), yes=True)
    assert Agent(base).run("x").text == "one"
    agent = Agent(other)
    assert agent.run("x").text == "two" and agent.yes
    assert base.yes is False


def test_config_fields_mirror_the_agents_arguments():
    parameters = inspect.signature(inspect.unwrap(Agent.__init__)).parameters
    expected = {n: p.default for n, p in parameters.items() if n != "self"}
    fields = {
        f.name: (f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty)
        for f in dataclasses.fields(AgentConfig)
    }
    assert fields == expected


def test_keyword_arguments_still_work_and_misuse_is_a_clear_type_error(tmp_path):
    manager = create_plugin_manager([], discover=False)
    agent = Agent(provider=ScriptedProvider(["kw"]), plugin_manager=manager, workspace=tmp_path)
    assert agent.run("x").text == "kw"
    with pytest.raises(TypeError, match="by name"):
        Agent(config(["x"]), "some-model")
    with pytest.raises(TypeError, match="needs a provider"):
        Agent()
