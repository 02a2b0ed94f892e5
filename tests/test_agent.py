"""The agent loop with ScriptedProvider: ordering, every error path, limits, events, prompts."""

from __future__ import annotations

import asyncio
import threading

import pytest

import allos_core.testing
from allos_core import events as ev
from allos_core.agent import Agent, RunResult
from allos_core.errors import (
    AllosError,
    AuthenticationError,
    ConfigError,
    ContextLengthError,
)
from allos_core.hookspecs import hookimpl
from allos_core.messages import Message, Usage, validate_conversation
from allos_core.plugins import create_plugin_manager
from allos_core.providers import ModelResponse, StreamDone, TextDelta
from allos_core.testing import ScriptedProvider
from allos_core.tools import ToolResult, tool


def make_agent(turns, tools=(), **options):
    provider = turns if isinstance(turns, ScriptedProvider) else ScriptedProvider(turns)
    options.setdefault("plugin_manager", create_plugin_manager([], discover=False))
    options.setdefault("system_prompt", "You are a test agent.")
    return Agent(provider, tools=list(tools), **options), provider


def call(name, arguments=None, id=None, raw=None):
    spec = {"name": name, "arguments": arguments or {}}
    if id:
        spec["id"] = id
    if raw is not None:
        spec["raw_arguments"] = raw
    return spec


@tool(read_only=True)
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)


@tool(default_permission="allow")
def explode(message: str) -> str:
    """Raise an error."""
    raise ValueError(message)


def tool_message_contents(result: RunResult) -> list[str]:
    return [p.content for m in result.messages if m.role == "tool" for p in m.parts]


# -- the basic loop ------------------------------------------------------------------------------


def test_plain_answer():
    agent, provider = make_agent(["Hello there."])
    result = agent.run("Say hello")
    assert result.stop_reason == "answered" and result.ok
    assert result.text == "Hello there."
    assert result.iterations == 1
    assert [m.role for m in result.messages] == ["system", "user", "assistant"]
    assert [m.role for m in result.new_messages] == ["user", "assistant"]
    assert result.messages[0].text == "You are a test agent."
    assert result.usage.requests == 1 and agent.usage == result.usage
    assert result.error is None and result.session_path is None
    assert result.messages[-1].provider == "scripted" and result.messages[-1].model == "scripted"


def test_tool_loop_order_and_one_result_per_call():
    agent_holder: list[Agent] = []
    seen: list[Message] = []

    @tool(default_permission="allow")
    def probe(tag: str) -> str:
        """Look at the conversation while running."""
        seen.append(agent_holder[0].messages[-1])
        return f"probe {tag}"

    agent, provider = make_agent(
        [
            {
                "text": "Let me look.",
                "tool_calls": [
                    call("probe", {"tag": "one"}, id="call_1"),
                    call("add", {"a": 2, "b": 3}, id="call_2"),
                    call("probe", {"tag": "two"}, id="call_3"),
                ],
            },
            "All done.",
        ],
        tools=[probe, add],
    )
    agent_holder.append(agent)
    result = agent.run("go")
    assert result.stop_reason == "answered" and result.text == "All done."
    # the assistant message was recorded before any tool ran
    assert seen and all(m.role == "assistant" and len(m.tool_calls) == 3 for m in seen)
    roles = [m.role for m in result.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    results = result.messages[3].parts
    assert [p.call_id for p in results] == ["call_1", "call_2", "call_3"]
    assert [p.content for p in results] == ["probe one", "5", "probe two"]
    assert validate_conversation(result.messages) == []
    # the second request carried the results, and the tools' schemas were sent
    second = provider.requests[1]
    assert second.messages[-1].role == "tool"
    assert {s.name for s in second.tools} == {"probe", "add"}
    assert second.tools[1].parameters["required"] == ["a", "b"]
    # requests are snapshots, not the live list
    assert len(provider.requests[0].messages) == 2


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (call("nope", {"x": 1}), "unknown tool 'nope'; available tools: add, explode"),
        (call("add", raw='{"a": 1,'), "were not valid JSON"),
        (call("add", raw="[1, 2]"), "must be a JSON object"),
        (call("add", {"a": "one", "b": 2}), "Invalid arguments for add:\n- a:"),
        (call("add", {"a": 1}), "- b: Field required"),
        (call("add", {"a": 1, "b": 2, "c": 3}), "- c: Extra inputs are not permitted"),
        (call("explode", {"message": "kaboom"}), "explode failed: ValueError: kaboom"),
    ],
)
def test_bad_calls_become_error_results_and_the_run_goes_on(spec, expected):
    agent, provider = make_agent(
        [{"tool_calls": [spec, call("add", {"a": 1, "b": 1})]}, "recovered"],
        tools=[add, explode],
    )
    result = agent.run("go")
    assert result.stop_reason == "answered" and result.text == "recovered"
    first, second = result.messages[3].parts
    assert first.is_error and expected in first.content
    assert not second.is_error and second.content == "2"
    assert validate_conversation(result.messages) == []
    assert provider.requests[1].messages[-1].parts[0].is_error


def test_tool_returning_error_result_and_metadata():
    @tool(read_only=True)
    def check() -> ToolResult:
        """Check something."""
        return ToolResult.error("not found", detail="x")

    events = []
    agent, _ = make_agent(
        [{"tool_calls": [call("check")]}, "ok"], tools=[check], on_event=events.append
    )
    result = agent.run("go")
    part = result.messages[3].parts[0]
    assert part.is_error and part.content == "not found"
    tool_events = [e for e in events if isinstance(e, ev.ToolResultEvent)]
    assert tool_events[0].result.metadata == {"detail": "x"} and tool_events[0].duration >= 0


def test_large_tool_output_is_capped():
    @tool(read_only=True)
    def dump() -> str:
        """Dump a lot."""
        return "".join(f"line {i}\n" for i in range(20_000))

    agent, _ = make_agent(
        [{"tool_calls": [call("dump")]}, "ok"], tools=[dump], max_tool_output_chars=5_000
    )
    content = agent.run("go").messages[3].parts[0].content
    assert len(content) < 5_300
    assert content.startswith("line 0\n") and content.endswith("line 19999\n")
    assert "characters cut here" in content


# -- limits and errors ---------------------------------------------------------------------------


def test_iteration_limit_leaves_every_call_answered():
    turns = [{"tool_calls": [call("add", {"a": i, "b": 1})]} for i in range(5)]
    agent, provider = make_agent(turns, tools=[add], max_iterations=3)
    result = agent.run("loop forever")
    assert result.stop_reason == "iteration_limit"
    assert result.iterations == 3 and len(provider.requests) == 3
    assert result.messages[-1].role == "tool"
    assert validate_conversation(result.messages) == []


def test_usage_limit_stops_before_the_next_request():
    usage = {"input_tokens": 60, "output_tokens": 20}
    turns = [{"tool_calls": [call("add", {"a": 1, "b": 1})], "usage": usage} for _ in range(5)]
    agent, provider = make_agent(turns, tools=[add], max_total_tokens=150)
    result = agent.run("go")
    assert result.stop_reason == "usage_limit"
    assert len(provider.requests) == 2  # 80 < 150 after one turn, 160 after two
    assert result.usage.total_tokens == 160
    assert validate_conversation(result.messages) == []


def test_provider_error_stops_with_error_and_hint():
    failure = AuthenticationError("openai rejected the API key", hint="set OPENAI_API_KEY")
    agent, _ = make_agent([{"tool_calls": [call("add", {"a": 1, "b": 2})]}, failure], tools=[add])
    result = agent.run("go")
    assert result.stop_reason == "error"
    assert result.error == "openai rejected the API key"
    assert result.error_hint == "set OPENAI_API_KEY"
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool"]
    assert validate_conversation(result.messages) == []


def test_unexpected_provider_exception_is_an_error_not_a_crash():
    agent, _ = make_agent([RuntimeError("socket exploded")])
    result = agent.run("go")
    assert result.stop_reason == "error"
    assert result.error == "RuntimeError: socket exploded" and result.error_hint is None


def test_script_running_out_is_an_error():
    agent, _ = make_agent([])
    result = agent.run("go")
    assert result.stop_reason == "error" and "no turn left" in result.error


class NoDoneStream(ScriptedProvider):
    async def stream(self, request):
        yield TextDelta("partial")


def test_stream_without_final_response_is_an_error():
    agent, _ = make_agent(NoDoneStream(["x"]))
    result = agent.run("go")
    assert result.stop_reason == "error" and "without a final response" in result.error


class TooLongOnce(ScriptedProvider):
    """Rejects the first request as too long, then answers."""

    failed = False

    async def complete(self, request):
        if request.tools and not self.failed and len(request.messages) > 4:
            self.failed = True
            raise ContextLengthError("the conversation is too long", hint="compact")
        return await super().complete(request)


def test_context_length_error_compacts_and_retries_once():
    # the third request (6 messages) is refused; the summary is the next turn, then the retry
    turns = [{"tool_calls": [call("add", {"a": i, "b": 0})]} for i in range(2)]
    turns += ["summary of earlier work", "final"]
    agent, provider = make_agent(TooLongOnce(turns), tools=[add])
    result = agent.run("go")
    assert result.stop_reason == "answered" and result.text == "final"
    assert provider.failed
    assert validate_conversation(result.messages) == []
    assert any("summary of earlier work" in m.text for m in result.messages)


# -- events and streaming ------------------------------------------------------------------------


def test_event_sequence_for_a_tool_turn():
    events: list[ev.Event] = []
    agent, _ = make_agent(
        [{"tool_calls": [call("add", {"a": 1, "b": 2})]}, "three is the answer"],
        tools=[add],
        on_event=events.append,
    )
    agent.run("add")
    types = [e.type for e in events]
    assert types == [
        "run_started",
        "model_request",
        "assistant_message",
        "usage",
        "tool_call",
        "permission",
        "tool_result",
        "model_request",
        "text_delta",
        "text_delta",
        "text_delta",
        "text_delta",
        "assistant_message",
        "usage",
        "stop",
    ]
    deltas = "".join(e.text for e in events if isinstance(e, ev.TextDelta))
    assert deltas == "three is the answer"
    decided = next(e for e in events if isinstance(e, ev.PermissionDecided))
    assert decided.decision.decision == "allow" and decided.decision.source == "default"
    stop = events[-1]
    assert stop.reason == "answered" and stop.iterations == 2
    for event in events:  # every event serialises (allos run --json)
        assert event.to_dict()["type"] == event.type


def test_no_text_deltas_without_streaming():
    events: list[ev.Event] = []
    agent, _ = make_agent(["one two"], stream=False, on_event=events.append)
    assert agent.run("x").text == "one two"
    assert not [e for e in events if isinstance(e, ev.TextDelta)]


def test_failing_event_callback_does_not_break_the_run(caplog):
    def broken(event):
        raise RuntimeError("ui bug")

    agent, _ = make_agent(["fine"], on_event=broken)
    assert agent.run("x").stop_reason == "answered"
    assert "event callback failed" in caplog.text


async def test_iter_events_yields_then_result():
    agent, _ = make_agent([{"tool_calls": [call("add", {"a": 1, "b": 2})]}, "done"], tools=[add])
    seen = [event.type async for event in agent.iter_events("go")]
    assert seen[0] == "run_started" and seen[-1] == "stop"
    assert "tool_result" in seen
    assert agent.last_result is not None and agent.last_result.text == "done"


# -- sync / async --------------------------------------------------------------------------------


async def test_arun_and_run_inside_a_loop_refused():
    agent, _ = make_agent(["async answer"])
    result = await agent.arun("x")
    assert result.text == "async answer"
    with pytest.raises(AllosError, match="running event loop") as info:
        agent.run("again")
    assert "arun" in info.value.hint


def test_run_from_a_worker_thread():
    agent, _ = make_agent(["from a thread"])
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", agent.run("x")))
    thread.start()
    thread.join()
    assert box["result"].text == "from a thread"


def test_one_run_at_a_time():
    class Reentrant(ScriptedProvider):
        async def complete(self, request):
            await agent.arun("nested")  # noqa: F821 - bound below

    agent, _ = make_agent(Reentrant(["x"]))
    result = agent.run("outer")
    assert result.stop_reason == "error" and "already running" in result.error


def test_continue_without_a_new_task():
    agent, provider = make_agent(["first", "second"])
    agent.run("hi")
    result = agent.run()
    assert result.text == "second"
    assert [m.role for m in provider.requests[1].messages] == ["system", "user", "assistant"]


# -- construction --------------------------------------------------------------------------------


def test_provider_and_tools_by_name():
    class ToolPlugin:
        @hookimpl
        def allos_tools(self):
            return [add]

    manager = create_plugin_manager([allos_core.testing, ToolPlugin()], discover=False)
    agent = Agent(
        "scripted",
        "demo",
        tools=["add"],
        plugin_manager=manager,
        provider_options={"turns": ["by name"]},
        system_prompt="s",
    )
    assert isinstance(agent.provider, ScriptedProvider) and agent.provider.model == "demo"
    assert list(agent.tools) == ["add"]
    assert agent.run("x").text == "by name"
    everything = Agent("scripted", provider_options={"turns": []}, plugin_manager=manager)
    assert list(everything.tools) == ["add"]


def test_bad_construction_is_a_config_error():
    manager = create_plugin_manager([], discover=False)
    with pytest.raises(ConfigError, match="two tools are named"):
        Agent(ScriptedProvider([]), tools=[add, tool(read_only=True, name="add")(lambda: "")])
    with pytest.raises(ConfigError, match="provider must be"):
        Agent(object(), tools=[], plugin_manager=manager)  # type: ignore[arg-type]
    with pytest.raises(AllosError, match="unknown provider 'nope'"):
        Agent("nope", tools=[], plugin_manager=manager)


def test_model_overrides_the_instance_model():
    agent, _ = make_agent(ScriptedProvider(["x"]), model="other")
    assert agent.provider.model == "other"
    assert agent.run("x").messages[-1].model == "other"


def test_default_system_prompt_lists_tools_workspace_and_project_files(tmp_path):
    (tmp_path / "ALLOS.md").write_text("Always use tabs.\n")
    (tmp_path / "AGENTS.md").write_text("Run make check.\n")
    agent = Agent(
        ScriptedProvider([]),
        tools=[add],
        workspace=tmp_path,
        plugin_manager=create_plugin_manager([], discover=False),
        append_system_prompt="Extra rule.",
    )
    prompt = agent.messages[0].text
    assert agent.messages[0].role == "system" and prompt == agent.system_prompt
    assert "- add: Add two numbers." in prompt
    assert f"Workspace: {tmp_path.resolve()}" in prompt
    assert "read the files involved" in prompt and "run the project's tests" in prompt
    assert "# Project instructions (ALLOS.md)\n\nAlways use tabs." in prompt
    assert "# Project instructions (AGENTS.md)\n\nRun make check." in prompt
    assert prompt.endswith("Extra rule.")


def test_custom_system_prompt_replaces_the_default(tmp_path):
    (tmp_path / "ALLOS.md").write_text("project rules")
    agent, _ = make_agent([], workspace=tmp_path, system_prompt="Be brief.")
    assert agent.messages[0].text == "Be brief."


def test_set_provider_and_clear():
    agent, first = make_agent(["from A"])
    agent.run("one")
    second = ScriptedProvider(["from B"], model="b-model")
    agent.set_provider(second)
    result = agent.run("two")
    assert result.text == "from B" and result.messages[-1].model == "b-model"
    assert [m.text for m in second.requests[0].messages[1:]] == ["one", "from A", "two"]
    assert agent.usage.requests == 2
    agent.clear()
    assert [m.role for m in agent.messages] == ["system"]


# -- plugins -------------------------------------------------------------------------------------


def test_before_and_after_hooks_see_every_call():
    log = []

    class Audit:
        @hookimpl
        def allos_before_tool_call(self, call, tool, context):
            log.append(("before", call.name, context.workspace is not None))

        @hookimpl
        def allos_after_tool_call(self, call, tool, result):
            log.append(("after", call.name, result.is_error))

    class Broken:
        @hookimpl
        def allos_before_tool_call(self, call):
            raise RuntimeError("audit down")

    @tool(default_permission="deny")
    def forbidden() -> str:
        """Never allowed."""
        return "ran"

    manager = create_plugin_manager([Audit()], discover=False)
    agent, _ = make_agent(
        [{"tool_calls": [call("add", {"a": 1, "b": 1}), call("forbidden")]}, "ok"],
        tools=[add, forbidden],
        plugin_manager=manager,
    )
    agent.run("go")
    assert log == [("before", "add", True), ("after", "add", False), ("after", "forbidden", True)]
    manager.register(Broken())
    agent2, _ = make_agent(
        [{"tool_calls": [call("add", {"a": 1, "b": 1})]}, "ok"], tools=[add], plugin_manager=manager
    )
    result = agent2.run("go")
    assert result.messages[3].parts[0].content == "2"  # a failing audit hook is not fatal


# -- usage ---------------------------------------------------------------------------------------


def test_usage_events_and_totals():
    events = []

    class Fixed(ScriptedProvider):
        def _response(self, turn, request):
            response = super()._response(turn, request)
            usage = Usage(input_tokens=10, output_tokens=2, requests=1)
            response.message.usage = usage
            return ModelResponse(response.message, usage, response.finish_reason, response.model)

    agent, _ = make_agent(
        Fixed([{"tool_calls": [call("add", {"a": 1, "b": 1})]}, "ok"]),
        tools=[add],
        on_event=events.append,
    )
    result = agent.run("go")
    assert result.usage == Usage(input_tokens=20, output_tokens=4, requests=2)
    totals = [e.total.total_tokens for e in events if isinstance(e, ev.UsageUpdated)]
    assert totals == [12, 24]
    assert events[-1].usage == result.usage


def test_stream_done_is_used_even_with_extra_events():
    class Chatty(ScriptedProvider):
        async def stream(self, request):
            response = await self.complete(request)
            yield TextDelta("")
            yield TextDelta(response.message.text)
            yield StreamDone(response)

    events = []
    agent, _ = make_agent(Chatty(["hi"]), on_event=events.append)
    assert agent.run("x").text == "hi"
    assert [e.text for e in events if isinstance(e, ev.TextDelta)] == ["hi"]


def test_async_tool_runs_on_the_loop():
    @tool(read_only=True)
    async def later(x: int) -> str:
        """Async tool."""
        await asyncio.sleep(0)
        return str(x * 2)

    agent, _ = make_agent([{"tool_calls": [call("later", {"x": 21})]}, "ok"], tools=[later])
    assert agent.run("x").messages[3].parts[0].content == "42"
