"""Agent edge cases: repeated tool-call ids, broken permission plugins, Ctrl-C at a prompt."""

from __future__ import annotations

import asyncio

import pytest

from allos_core import hookimpl
from allos_core.agent import Agent
from allos_core.messages import validate_conversation
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool

ran: list[str] = []


@tool(read_only=True)
def echo(text: str) -> str:
    """Echo the text."""
    ran.append(text)
    return text


@tool
def touch(name: str) -> str:
    """Pretend to write."""
    ran.append(name)
    return f"touched {name}"


def agent_for(turns, tmp_path, **options):
    ran.clear()
    options.setdefault("plugin_manager", create_plugin_manager([]))
    return Agent(
        ScriptedProvider(turns),
        tools=[echo, touch],
        workspace=tmp_path,
        system_prompt="s",
        **options,
    )


def call(name, arguments, call_id):
    return {"id": call_id, "name": name, "arguments": arguments}


def test_repeated_call_ids_get_fresh_ones_and_every_result_is_kept(tmp_path):
    agent = agent_for(
        [
            {
                "tool_calls": [
                    call("echo", {"text": "A"}, "call_0"),
                    call("echo", {"text": "B"}, "call_0"),
                ]
            },
            {"tool_calls": [call("echo", {"text": "C"}, "call_0")]},  # a server that reuses ids
            "done",
        ],
        tmp_path,
    )
    result = agent.run("go")
    assert result.stop_reason == "answered"
    assert validate_conversation(result.messages) == []
    results = [p.content for m in result.messages if m.role == "tool" for p in m.parts]
    assert results == ["A", "B", "C"]
    ids = [c.id for m in result.messages for c in m.tool_calls]
    assert len(set(ids)) == 3 and ids[0] == "call_0"


def test_validate_conversation_reports_repeated_ids():
    from allos_core.messages import Message, ToolCallPart, ToolResultPart

    calls = [ToolCallPart(id="x", name="echo"), ToolCallPart(id="x", name="echo")]
    results = [ToolResultPart(call_id="x", name="echo", content="A")]
    problems = validate_conversation([Message.assistant("", calls), Message.tool_results(results)])
    assert any("used twice" in p for p in problems)


def test_a_permission_plugin_answering_nonsense_denies_and_the_run_goes_on(tmp_path):
    class Confused:
        @hookimpl
        def allos_check_permission(self):
            return "yes please"  # not a PermissionDecision

    agent = agent_for(
        [{"tool_calls": [call("touch", {"name": "f"}, "c1")]}, "ok"],
        tmp_path,
        plugin_manager=create_plugin_manager([Confused()]),
        yes=True,
    )
    result = agent.run("go")
    assert result.stop_reason == "answered" and ran == []
    tool_result = next(p for m in result.messages if m.role == "tool" for p in m.parts)
    assert tool_result.is_error and "Confused" in tool_result.content  # names the plugin


def test_ctrl_c_while_the_prompt_is_open_stops_before_the_tool_runs(tmp_path):
    def ask(request):
        asyncio.current_task().cancel()  # what asyncio's SIGINT handler does on Ctrl-C
        return "yes"  # ... and the user still answers

    agent = agent_for(
        [{"tool_calls": [call("touch", {"name": "f"}, "c1")]}, "never"], tmp_path, ask=ask
    )

    async def main():
        with pytest.raises(asyncio.CancelledError):
            await agent.arun("go")

    asyncio.run(main())
    assert ran == []
    assert agent.last_result.stop_reason == "interrupted"
    assert validate_conversation(agent.messages) == []
