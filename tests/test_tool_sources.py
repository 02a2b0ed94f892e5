"""Tool sources with a lifecycle: started per run in parallel, failures reported, always stopped."""

from __future__ import annotations

import asyncio
import re

import pytest

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.hookspecs import hookimpl
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tool_sources import (
    MAX_TOOL_NAME_LENGTH,
    ToolSource,
    ToolSourceRunner,
    collect_tool_sources,
    source_tool_name,
)
from allos_core.tools import tool

PROVIDER_NAME_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@tool(read_only=True)
def shout(text: str) -> str:
    """Say it loudly."""
    return text.upper()


@tool
def wipe() -> str:
    """Remove everything."""
    return "wiped"


class FakeSource(ToolSource):
    """A source whose start can work, fail or hang, and whose tools can die."""

    kind = "fake"

    def __init__(self, name="fake", *, tools=(shout,), fail=None, hang=False, timeout=None):
        self.name = name
        self.prefix = f"fake__{name}__"
        self.tools = list(tools)
        self.fail = fail
        self.hang = hang
        self.start_timeout = timeout
        self.started = 0
        self.stopped = 0
        self.failure = None

    async def start(self):
        self.started += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise RuntimeError(self.fail)
        return self.tools

    async def stop(self):
        self.stopped += 1


def make_agent(turns, sources, **options):
    provider = ScriptedProvider(turns)
    agent = Agent(
        provider,
        tools=[],
        system_prompt="test",
        plugin_manager=create_plugin_manager([], discover=False),
        tool_sources=sources,
        **options,
    )
    return agent, provider


def call(name, arguments=None):
    return {"tool_calls": [{"name": name, "arguments": arguments or {}}]}


def test_source_tools_are_offered_under_the_prefix_and_the_source_is_stopped_after_the_run():
    # given a source with one read-only tool
    source = FakeSource("loud")
    agent, provider = make_agent([call("fake__loud__shout", {"text": "hi"}), "done"], [source])
    # when a run calls it
    result = agent.run("shout")
    # then the model saw the prefixed tool, the call ran, and the source was stopped
    assert [t.name for t in provider.requests[0].tools] == ["fake__loud__shout"]
    assert result.messages[-2].parts[0].content == "HI"
    assert (source.started, source.stopped) == (1, 1)
    assert "fake__loud__shout" not in agent.tools


def test_a_source_that_fails_to_start_is_reported_in_one_line_and_the_run_goes_on():
    # given a broken source next to a working one
    broken = FakeSource("broken", fail="cannot connect\nsecond line")
    good = FakeSource("good")
    events: list[ev.Event] = []
    agent, provider = make_agent(["fine"], [broken, good], on_event=events.append)
    # when the agent runs
    result = agent.run("go")
    # then the failure is one event with one line, the good tools are offered, both are stopped
    failures = [e for e in events if isinstance(e, ev.ToolSourceFailed)]
    assert [(f.source, f.error) for f in failures] == [("broken", "cannot connect")]
    assert [t.name for t in provider.requests[0].tools] == ["fake__good__shout"]
    assert result.ok
    assert broken.stopped == 1 and good.stopped == 1


def test_a_source_that_hangs_on_start_times_out_and_is_stopped():
    # given a source that never finishes starting, with a short start-up timeout
    hanging = FakeSource("slow", hang=True, timeout=0.05)
    events: list[ev.Event] = []
    agent, _ = make_agent(["fine"], [hanging], on_event=events.append)
    # when the agent runs
    result = agent.run("go")
    # then the run answers without it, the timeout is named, and it was stopped
    assert result.ok
    failure = next(e for e in events if isinstance(e, ev.ToolSourceFailed))
    assert "did not start within 0.05s" in failure.error
    assert hanging.stopped == 1


def test_sources_start_in_parallel():
    # given two sources that each wait for the other to have started
    both = asyncio.Event()
    seen: list[str] = []

    class Waiting(FakeSource):
        async def start(self):
            seen.append(self.name)
            if len(seen) == 2:
                both.set()
            await asyncio.wait_for(both.wait(), 5)
            return self.tools

    a, b = Waiting("a"), Waiting("b")
    agent, provider = make_agent(["fine"], [a, b])
    # when the run starts them: then both started (sequential starts would time out)
    agent.run("go")
    assert sorted(t.name for t in provider.requests[0].tools) == [
        "fake__a__shout",
        "fake__b__shout",
    ]


def test_a_call_to_a_source_that_died_gets_an_error_result_and_one_report():
    # given a source that dies after starting
    source = FakeSource("dying")
    events: list[ev.Event] = []

    @tool(read_only=True)
    def ping() -> str:
        """Ping."""
        source.failure = "the server exited (code 1)"
        return "pong"

    source.tools = [ping]
    turns = [call("fake__dying__ping"), call("fake__dying__ping"), "done"]
    agent, _ = make_agent(turns, [source], on_event=events.append)
    # when the model calls it twice
    result = agent.run("go")
    # then the answer given before it died is kept, the next call is an error result naming the
    # cause, the death is reported once, and the run goes on
    first, second = [m.parts[0] for m in result.messages if m.role == "tool"]
    assert (first.is_error, first.content) == (False, "pong")
    assert second.is_error and "the server exited" in second.content
    assert len([e for e in events if isinstance(e, ev.ToolSourceFailed)]) == 1
    assert result.ok


def test_sources_are_stopped_when_the_run_is_interrupted():
    # given a tool that interrupts the run (as Ctrl-C in a tool does)
    source = FakeSource("ctrl_c")

    @tool(read_only=True)
    def boom() -> str:
        """Boom."""
        raise KeyboardInterrupt

    source.tools = [boom]
    agent, _ = make_agent([call("fake__ctrl_c__boom"), "never"], [source])
    # when the run is interrupted
    result = agent.run("go")
    # then the source was stopped all the same
    assert result.stop_reason == "interrupted"
    assert source.stopped == 1


async def test_sources_are_stopped_when_the_run_task_is_cancelled():
    # given a run blocked in a tool of a source
    source = FakeSource("cancel")
    entered = asyncio.Event()

    @tool(read_only=True)
    async def block() -> str:
        """Block."""
        entered.set()
        await asyncio.Event().wait()
        return "never"

    source.tools = [block]
    agent, _ = make_agent([call("fake__cancel__block"), "never"], [source])
    task = asyncio.ensure_future(agent.arun("go"))
    await entered.wait()
    # when the task is cancelled
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # then the source was stopped
    assert source.stopped == 1


def test_sources_are_stopped_when_the_provider_fails():
    source = FakeSource("err")
    agent, _ = make_agent([], [source])  # an empty script: the provider raises
    result = agent.run("go")
    assert result.stop_reason == "error"
    assert source.stopped == 1


def test_each_run_starts_the_sources_again():
    source = FakeSource("again")
    agent, _ = make_agent(["one", "two"], [source])
    agent.run("first")
    agent.run("second")
    assert (source.started, source.stopped) == (2, 2)


def test_a_source_tool_never_shadows_an_agent_tool():
    # given a source whose prefix makes one of its tools collide with an agent tool
    source = FakeSource("x", tools=[shout])
    source.prefix = "sh"

    @tool(name="shshout", read_only=True)
    def local() -> str:
        """The agent's own."""
        return "local"

    provider = ScriptedProvider([call("shshout"), "done"])
    agent = Agent(
        provider,
        tools=[local],
        system_prompt="t",
        plugin_manager=create_plugin_manager([], discover=False),
        tool_sources=[source],
    )
    # when it runs: then the agent's tool is the one called
    result = agent.run("go")
    assert result.messages[-2].parts[0].content == "local"


def test_a_source_with_an_invalid_prefix_is_refused():
    source = FakeSource("bad")
    source.prefix = "bad prefix;"
    events: list[ev.Event] = []
    agent, provider = make_agent(["ok"], [source], on_event=events.append)
    agent.run("go")
    assert provider.requests[0].tools == []
    assert any(isinstance(e, ev.ToolSourceFailed) and "prefix" in e.error for e in events)


def test_failure_lines_from_a_hostile_source_carry_no_control_characters():
    source = FakeSource("evil", fail="\x1b]0;pwned\x07 oops\x1b[2J")
    events: list[ev.Event] = []
    agent, _ = make_agent(["ok"], [source], on_event=events.append)
    agent.run("go")
    failure = next(e for e in events if isinstance(e, ev.ToolSourceFailed))
    assert all(ch.isprintable() for ch in failure.error)
    assert "oops" in failure.error


@pytest.mark.parametrize(
    "raw",
    ["get_current_time", "a" * 200, "weird name/with:chars", "ünïcødé", "", "x.y"],
)
def test_listed_names_meet_every_provider_rule(raw):
    name = source_tool_name("mcp__server__", raw)
    assert PROVIDER_NAME_RULE.match(name)
    assert len(name) <= MAX_TOOL_NAME_LENGTH
    assert name.startswith("mcp__server__")


def test_shortened_names_are_deterministic_and_distinct():
    long_a, long_b = "a" * 100 + "1", "a" * 100 + "2"
    assert source_tool_name("p__", long_a) == source_tool_name("p__", long_a)
    assert source_tool_name("p__", long_a) != source_tool_name("p__", long_b)
    assert source_tool_name("p__", "x.y") != source_tool_name("p__", "x_y")
    assert source_tool_name("p__", "fine_name") == "p__fine_name"


def test_permission_rules_match_source_tools_by_prefix():
    # given a non-read-only source tool and a user rule allowing the whole source
    from allos_core.permissions import PermissionRules

    source = FakeSource("w", tools=[wipe])
    agent, _ = make_agent(
        [call("fake__w__wipe"), "done"],
        [source],
        permissions=PermissionRules.from_lists(allow=["fake__w__*"]),
    )
    # when the model calls it with no one to ask: then the rule allowed it
    result = agent.run("go")
    assert result.messages[-2].parts[0].content == "wiped"


def test_collect_tool_sources_passes_settings_and_trust_to_the_hook():
    # given a plugin offering a source from its settings
    seen = {}

    class Plugin:
        @hookimpl
        def allos_tool_sources(self, settings, workspace_trusted):
            seen["settings"] = settings
            seen["trusted"] = workspace_trusted
            return [FakeSource(settings["fake"]["name"])]

    class Broken:
        @hookimpl
        def allos_tool_sources(self):
            raise RuntimeError("boom")

    manager = create_plugin_manager([Plugin(), Broken()], discover=False)
    # when the core collects sources
    sources = collect_tool_sources(manager, {"fake": {"name": "cfg"}}, ".", workspace_trusted=True)
    # then the plugin's source is there (the broken plugin skipped) and settings are read-only
    assert [s.name for s in sources] == ["cfg"]
    assert seen["trusted"] is True
    with pytest.raises(TypeError):
        seen["settings"]["fake"]["name"] = "changed"


async def test_the_runner_reports_status_for_listings():
    good, bad = FakeSource("good"), FakeSource("bad", fail="nope")
    async with ToolSourceRunner([good, bad]) as runner:
        tools = await runner.start()
        assert list(tools) == ["fake__good__shout"]
        assert runner.status(good).state == "running"
        assert (runner.status(bad).state, runner.status(bad).error) == ("failed", "nope")
    assert good.stopped == bad.stopped == 1


def test_the_system_prompt_names_each_source_before_it_starts():
    # given an agent whose only tools come from a source
    source = FakeSource("loud")
    agent = Agent(
        ScriptedProvider(["ok"]),
        tools=[],
        plugin_manager=create_plugin_manager([], discover=False),
        tool_sources=[source],
    )
    # then the default system prompt does not claim there are no tools, and names the source
    assert "no tools" not in agent.system_prompt
    assert "- fake__loud__*: the tools of loud (fake)" in agent.system_prompt
    assert source.started == 0  # built without starting anything


def test_the_cli_shows_a_failing_source_as_one_printable_warning_line(capsys):
    from allos_core.cli.render import Renderer
    from allos_core.cli.ui import reset_consoles

    reset_consoles()
    try:
        Renderer()(ev.ToolSourceFailed("evil\x1b]0;pwned\x07", "bad\x1b[2J news"))
        err = capsys.readouterr().err
    finally:
        reset_consoles()
    assert err.count("\n") == 1
    assert "\x1b" not in err and "\x07" not in err
    assert err.startswith("warning: tool source evil") and "going on without it" in err


def test_kept_sources_start_once_serve_every_run_and_stop_on_close():
    # given an agent that keeps its sources between runs (as allos chat does)
    import threading

    source = FakeSource("kept")
    threads: list[str] = []

    @tool(read_only=True)
    async def where() -> str:
        """Which thread runs the call."""
        threads.append(threading.current_thread().name)
        return "here"

    source.tools = [where]
    turns = [call("fake__kept__where"), "one", call("fake__kept__where"), "two"]
    agent, provider = make_agent(turns, [source], keep_tool_sources=True)
    # when it runs twice
    first, second = agent.run("first"), agent.run("second")
    # then the source started once, both runs could call it, and it is still running
    assert (first.text, second.text) == ("one", "two")
    assert (source.started, source.stopped) == (1, 0)
    assert threads == ["allos-sources", "allos-sources"]  # on the host loop, across run loops
    assert "fake__kept__where" in {t.name for t in provider.requests[-1].tools}
    # and close() stops it and takes its tools away
    agent.close()
    assert source.stopped == 1 and "fake__kept__where" not in agent.tools


def test_a_kept_source_that_fails_is_reported_in_the_run_that_started_it():
    broken = FakeSource("broken", fail="nope")
    events: list[ev.Event] = []
    agent, _ = make_agent(["a", "b"], [broken], keep_tool_sources=True, on_event=events.append)
    agent.run("first")
    agent.run("second")
    assert [(e.source, e.error) for e in events if isinstance(e, ev.ToolSourceFailed)] == [
        ("broken", "nope")
    ]
    agent.close()
    assert broken.stopped == 1


async def test_kept_sources_stop_with_aclose():
    source = FakeSource("async")
    agent, _ = make_agent(["a"], [source], keep_tool_sources=True)
    await agent.arun("go")
    assert source.stopped == 0
    await agent.aclose()
    assert source.stopped == 1
