"""Typed dependencies: ``Agent(deps=...)`` reaches tools as ``context.deps``."""

from __future__ import annotations

from dataclasses import dataclass, field

from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import ToolContext, tool


@dataclass
class Shop:
    stock: dict[str, int] = field(default_factory=lambda: {"apple": 3})


@tool(read_only=True)
def count(item: str, context: ToolContext[Shop]) -> str:
    """How many of an item are in stock."""
    return str(context.deps.stock.get(item, 0))


@tool(read_only=True)
def maybe_count(item: str, ctx: ToolContext[Shop] | None = None) -> str:
    """Optional context, typed."""
    return "none" if ctx is None or ctx.deps is None else str(ctx.deps.stock.get(item, 0))


def run(tool_, deps):
    provider = ScriptedProvider(
        [{"tool_calls": [{"name": tool_.name, "arguments": {"item": "apple"}}]}, "done"]
    )
    agent = Agent(
        provider,
        tools=[tool_],
        deps=deps,
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="test",
    )
    result = agent.run("how many apples?")
    return [p.content for m in result.messages if m.role == "tool" for p in m.parts]


def test_tool_with_a_typed_context_gets_the_agents_deps():
    assert run(count, Shop()) == ["3"]


def test_generic_context_parameter_is_not_part_of_the_schema():
    assert set(count.schema().parameters["properties"]) == {"item"}
    assert set(maybe_count.schema().parameters["properties"]) == {"item"}


def test_optional_generic_context_gets_the_deps_too():
    assert run(maybe_count, Shop({"apple": 7})) == ["7"]


def test_without_deps_the_context_has_none():
    assert run(maybe_count, None) == ["none"]


def test_context_built_without_deps_stays_backwards_compatible(tmp_path):
    context = ToolContext(tmp_path, {"k": 1})
    assert context.deps is None and context.extra == {"k": 1}
    assert dict(context.settings) == {}
