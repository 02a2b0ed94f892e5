"""Concurrency of read-only calls, sequential prompts, and interruption (Ctrl-C, cancellation)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.context import INTERRUPTED_RESULT
from allos_core.messages import validate_conversation
from allos_core.plugins import create_plugin_manager
from allos_core.sessions import Session
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool

TIMEOUT = 10  # a deadlock fails the test instead of hanging it


def make_agent(turns, tools=(), **options):
    provider = turns if isinstance(turns, ScriptedProvider) else ScriptedProvider(turns)
    options.setdefault("plugin_manager", create_plugin_manager([], discover=False))
    options.setdefault("system_prompt", "test")
    return Agent(provider, tools=list(tools), **options), provider


def calls(*specs):
    return {"tool_calls": [{"name": n, "arguments": a} for n, a in specs]}


# -- concurrency ---------------------------------------------------------------------------------


async def test_read_only_calls_run_concurrently_and_results_keep_call_order():
    arrived: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    @tool(read_only=True)
    async def meet(me: str, other: str) -> str:
        """Wait until the other call has started too (only possible when both run at once)."""
        arrived[me].set()
        await asyncio.wait_for(arrived[other].wait(), TIMEOUT)
        return f"{me} met {other}"

    agent, _ = make_agent(
        [calls(("meet", {"me": "a", "other": "b"}), ("meet", {"me": "b", "other": "a"})), "ok"],
        tools=[meet],
    )
    result = await agent.arun("go")
    assert result.stop_reason == "answered"
    assert [p.content for p in result.messages[3].parts] == ["a met b", "b met a"]


async def test_writing_calls_run_one_after_another_and_split_read_batches():
    log: list[str] = []

    @tool(read_only=True)
    async def look(name: str) -> str:
        """Read-only."""
        log.append(f"start {name}")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.append(f"end {name}")
        return name

    @tool(default_permission="allow")
    async def change(name: str) -> str:
        """Writes."""
        log.append(f"start {name}")
        await asyncio.sleep(0)
        log.append(f"end {name}")
        return name

    script = calls(
        ("look", {"name": "r1"}),
        ("look", {"name": "r2"}),
        ("change", {"name": "w1"}),
        ("change", {"name": "w2"}),
        ("look", {"name": "r3"}),
    )
    agent, _ = make_agent([script, "ok"], tools=[look, change])
    result = await agent.arun("go")
    assert [p.content for p in result.messages[3].parts] == ["r1", "r2", "w1", "w2", "r3"]
    assert log[:4] == ["start r1", "start r2", "end r1", "end r2"]  # concurrent
    assert log[4:] == ["start w1", "end w1", "start w2", "end w2", "start r3", "end r3"]


async def test_permission_prompts_never_overlap_and_come_before_the_batch_runs():
    active = 0
    most = 0
    log: list[str] = []

    async def ask(request):
        nonlocal active, most
        active += 1
        most = max(most, active)
        log.append(f"ask {request.arguments['name']}")
        await asyncio.sleep(0)
        active -= 1
        return "yes"

    @tool(read_only=True, default_permission="ask")
    async def peek(name: str) -> str:
        """Read-only but asks."""
        log.append(f"run {name}")
        return name

    agent, _ = make_agent(
        [calls(*[("peek", {"name": n}) for n in "abc"]), "ok"], tools=[peek], ask=ask
    )
    result = await agent.arun("go")
    assert most == 1
    assert log[:3] == ["ask a", "ask b", "ask c"]
    assert sorted(log[3:]) == ["run a", "run b", "run c"]
    assert [p.content for p in result.messages[3].parts] == ["a", "b", "c"]


# -- interruption --------------------------------------------------------------------------------


def test_ctrl_c_in_a_tool_stops_consistently_and_saves(tmp_path):
    ran = []

    @tool(default_permission="allow")
    def first() -> str:
        """Runs fine."""
        ran.append("first")
        return "first done"

    @tool(default_permission="allow")
    def interrupted() -> str:
        """The user presses Ctrl-C while this runs."""
        raise KeyboardInterrupt

    @tool(default_permission="allow")
    def never() -> str:
        """Comes after the interruption."""
        ran.append("never")
        return "never"

    path = tmp_path / "s.json"
    events = []
    agent, _ = make_agent(
        [calls(("first", {}), ("interrupted", {}), ("never", {})), "unused"],
        tools=[first, interrupted, never],
        session=path,
        on_event=events.append,
    )
    result = agent.run("go")  # returns, does not raise
    assert result.stop_reason == "interrupted"
    assert ran == ["first"]
    parts = result.messages[-1].parts
    assert [p.content for p in parts] == ["first done", INTERRUPTED_RESULT, INTERRUPTED_RESULT]
    assert parts[1].is_error and parts[2].is_error
    assert validate_conversation(result.messages) == []
    assert events[-1].type == "stop" and events[-1].reason == "interrupted"
    saved = Session.load(path)
    assert saved.messages == result.messages
    # the agent can go on afterwards
    agent.provider.turns.append("resumed")
    assert agent.run("continue").stop_reason == "answered"


def test_ctrl_c_in_a_concurrent_batch():
    @tool(read_only=True)
    async def fine() -> str:
        """Fine."""
        return "fine"

    @tool(read_only=True)
    async def boom() -> str:
        """Ctrl-C."""
        raise KeyboardInterrupt

    agent, _ = make_agent([calls(("fine", {}), ("boom", {}), ("fine", {}))], tools=[fine, boom])
    result = agent.run("go")
    assert result.stop_reason == "interrupted"
    assert validate_conversation(result.messages) == []
    assert result.messages[-1].parts[0].content == "fine"
    assert result.messages[-1].parts[1].content == INTERRUPTED_RESULT


def test_ctrl_c_from_the_prompt_function():
    def ask(request):
        raise KeyboardInterrupt

    @tool
    def write() -> str:
        """Asks first."""
        return "written"

    agent, _ = make_agent([calls(("write", {}))], tools=[write], ask=ask)
    result = agent.run("go")
    assert result.stop_reason == "interrupted"
    assert result.messages[-1].parts[0].content == INTERRUPTED_RESULT


class Blocking(ScriptedProvider):
    """Blocks in its request until the test cancels the run."""

    def __init__(self, turns, block_at: int):
        super().__init__(turns)
        self.block_at = block_at
        self.started = asyncio.Event()

    async def complete(self, request):
        if len(self.requests) == self.block_at:
            self.started.set()
            await asyncio.Event().wait()  # never set
        return await super().complete(request)


async def test_cancelling_arun_during_a_request_saves_and_reraises(tmp_path):
    path = tmp_path / "cancel.json"
    provider = Blocking([calls(("echo", {"text": "a"})), "unused"], block_at=1)

    @tool(read_only=True)
    def echo(text: str) -> str:
        """Echo."""
        return text

    agent, _ = make_agent(provider, tools=[echo], session=path)
    task = asyncio.ensure_future(agent.arun("go"))
    await asyncio.wait_for(provider.started.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = agent.last_result
    assert result is not None and result.stop_reason == "interrupted"
    assert result.iterations == 2
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool"]
    assert Session.load(path).messages == result.messages
    assert not agent._running


async def test_cancelling_during_a_tool_answers_the_call():
    started = asyncio.Event()

    @tool(read_only=True)
    async def slow() -> str:
        """Never finishes by itself."""
        started.set()
        await asyncio.Event().wait()
        return "unreachable"

    agent, _ = make_agent([calls(("slow", {}), ("slow", {}))], tools=[slow])
    task = asyncio.ensure_future(agent.arun("go"))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = agent.messages
    assert validate_conversation(messages) == []
    assert [p.content for p in messages[-1].parts] == [INTERRUPTED_RESULT, INTERRUPTED_RESULT]


async def test_leaving_iter_events_early_cancels_the_run():
    provider = Blocking(["never answered"], block_at=0)
    agent, _ = make_agent(provider)
    seen = []
    events = agent.iter_events("go")
    async for event in events:
        seen.append(event.type)
        if isinstance(event, ev.ModelRequestStarted):
            break
    await events.aclose()
    assert seen == ["run_started", "model_request"]
    assert agent.last_result is not None and agent.last_result.stop_reason == "interrupted"
    assert [m.role for m in agent.messages] == ["system", "user"]


def test_ctrl_c_from_an_event_callback_interrupts():
    def on_event(event):
        if isinstance(event, ev.ToolCallRequested):
            raise KeyboardInterrupt

    @tool(read_only=True)
    def noop() -> str:
        """Nothing."""
        return ""

    agent, _ = make_agent([calls(("noop", {}))], tools=[noop], on_event=on_event)
    result = agent.run("go")
    assert result.stop_reason == "interrupted"
    assert validate_conversation(result.messages) == []


CHILD = """
import sys, threading
from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool

@tool(default_permission="allow")
def hang() -> str:
    '''Blocks until the process ends.'''
    print("tool started", flush=True)
    threading.Event().wait()
    return "unreachable"

agent = Agent(
    ScriptedProvider([{"tool_calls": [{"name": "hang", "arguments": {}}]}]),
    tools=[hang],
    plugin_manager=create_plugin_manager([], discover=False),
    system_prompt="s",
    session=sys.argv[1],
)
result = agent.run("go")
print("stopped", result.stop_reason, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="posix")
def test_real_ctrl_c_stops_a_blocked_sync_tool_and_returns(tmp_path):
    path = tmp_path / "sigint.json"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "tool started"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert out.strip() == "stopped interrupted"
    saved = Session.load(path)
    assert validate_conversation(saved.messages) == []
    assert saved.messages[-1].parts[0].content == INTERRUPTED_RESULT
