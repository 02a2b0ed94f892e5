"""No event, and so no `--json` line, is unbounded: a huge tool result or a huge model argument
becomes a line of bounded size with a marker, as the conversation keeps it; small events stay
exact."""

from __future__ import annotations

import io
import json

from allos_core.agent import Agent
from allos_core.cli.render import Renderer
from allos_core.event_bounds import MAX_EVENT_CHARS, bounded_data
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import ToolResult, tool

HUGE = 20_000_000  # 20 MB stands in for the 100 MB of the attack: same path, faster test


@tool(read_only=True)
def flood(kind: str) -> ToolResult:
    """Return a huge result."""
    return ToolResult("x" * HUGE, metadata={"diff": "+" + "y" * HUGE, "lines": [1, 2]})


@tool(read_only=True)
def sink(content: str) -> str:
    """Accept a huge argument."""
    return f"got {len(content)}"


def json_lines_of_a_run(turns, tools) -> list[str]:
    out = io.StringIO()
    renderer = Renderer(json_lines=True, out=out)
    agent = Agent(
        ScriptedProvider(turns),
        tools=tools,
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="test",
        on_event=renderer,
        yes=True,
    )
    agent.run("go")
    return out.getvalue().splitlines()


def test_a_huge_tool_result_never_becomes_a_huge_json_line():
    lines = json_lines_of_a_run(
        [{"tool_calls": [{"name": "flood", "arguments": {"kind": "a"}}]}, "done"], [flood]
    )
    assert max(len(line) for line in lines) < 2 * MAX_EVENT_CHARS
    result = next(json.loads(line) for line in lines if '"tool_result"' in line)
    content = result["result"]["content"]
    assert len(content) < 100_000 and "characters cut here" in content  # as the conversation
    assert "characters cut here" in result["result"]["metadata"]["diff"]
    assert result["result"]["metadata"]["lines"] == [1, 2]


def test_a_huge_model_argument_never_becomes_a_huge_json_line():
    big = "z" * (3 * MAX_EVENT_CHARS)
    lines = json_lines_of_a_run(
        [{"tool_calls": [{"name": "sink", "arguments": {"content": big}}]}, "done"], [sink]
    )
    assert max(len(line) for line in lines) < 2 * MAX_EVENT_CHARS
    requested = [json.loads(line) for line in lines if line.startswith('{"type": "tool_call"')]
    assert requested and requested[0].get("truncated") is True


def test_small_events_stay_exact():
    data = {"type": "text_delta", "text": "\x1b[2K exact \u202e"}
    assert bounded_data(data) is data


def test_long_lists_are_cut_with_a_marker():
    data = {"type": "x", "items": list(range(50_000))}
    cut = bounded_data(data)
    assert len(cut["items"]) == 10_001 and "more items cut" in cut["items"][-1]
    assert cut["truncated"] is True
