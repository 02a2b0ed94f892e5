"""Context management: capping, repair, token estimates, shortening and compaction validity."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.context import (
    ELIDED_PREFIX,
    SUMMARY_HEADER,
    ContextBudget,
    TokenCounter,
    cap_text,
    is_summary_part,
    repair_conversation,
)
from allos_core.messages import (
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
    validate_conversation,
)
from allos_core.plugins import create_plugin_manager
from allos_core.providers import ModelResponse, estimate_tokens
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


class Summarizer(ScriptedProvider):
    """Answers summary requests itself (and records them); other turns come from the script."""

    def __init__(self, turns=(), *, window: int | None = 200_000, fail: bool = False):
        super().__init__(list(turns), context_window=window)
        self.summary_requests = []
        self.fail = fail
        self.counted = 0

    def count_tokens(self, messages, tools=None):
        self.counted += 1
        return super().count_tokens(messages, tools)

    async def complete(self, request):
        if not request.tools and request.messages[0].text.startswith("You summarise"):
            self.summary_requests.append(request)
            if self.fail:
                raise RuntimeError("summary model unavailable")
            usage = Usage(input_tokens=100, output_tokens=20, requests=1)
            number = len(self.summary_requests)
            message = Message.assistant(f"SUMMARY {number}: read files, ran tests.", usage=usage)
            return ModelResponse(message, usage)
        return await super().complete(request)


def conversation(turns: int, result_chars: int = 2_000, calls_per_turn: int = 1) -> list[Message]:
    messages = [Message.system("system prompt"), Message.user("the task")]
    for turn in range(turns):
        calls = [
            ToolCallPart(id=f"call_{turn}_{i}", name="read", arguments={"n": turn})
            for i in range(calls_per_turn)
        ]
        messages.append(Message.assistant(f"turn {turn}", calls))
        messages.append(
            Message.tool_results(
                [
                    ToolResultPart(
                        call_id=c.id, name="read", content=f"{turn}:" + "x" * result_chars
                    )
                    for c in calls
                ]
            )
        )
    messages.append(Message.assistant("final answer"))
    return messages


# -- capping -------------------------------------------------------------------------------------


def test_cap_text_keeps_short_text_and_cuts_long_text_with_a_marker():
    assert cap_text("short", 100) == "short"
    text = "".join(f"{i:05d}\n" for i in range(10_000))  # 60,000 characters
    capped = cap_text(text, 3_000)
    assert len(capped) < 3_200
    assert capped.startswith("00000\n") and capped.endswith("09999\n")
    assert "characters cut here" in capped and "of 60000 characters" in capped
    omitted = int(capped.split("[... ")[1].split(" of")[0])
    assert omitted == len(text) - len(capped.split("\n[...")[0]) - len(capped.split("...]\n")[1])
    assert cap_text(text, 0) == text


# -- repair --------------------------------------------------------------------------------------


def test_repair_adds_missing_results_and_drops_orphans():
    call_a = ToolCallPart(id="a", name="t")
    call_b = ToolCallPart(id="b", name="t")
    broken = [
        Message.user("task"),
        Message.assistant("", [call_a, call_b]),
        Message.tool_results(
            [
                ToolResultPart(call_id="a", name="t", content="A"),
                ToolResultPart(call_id="a", name="t", content="again"),
                ToolResultPart(call_id="zzz", name="t", content="orphan"),
            ]
        ),
        Message.user("next"),
        Message.tool_results([ToolResultPart(call_id="q", name="t", content="stray")]),
        Message.assistant("", [ToolCallPart(id="c", name="t")]),
    ]
    assert validate_conversation(broken)
    fixed, changes = repair_conversation(broken, "missing")
    assert validate_conversation(fixed) == []
    assert changes == 5
    assert [m.role for m in fixed] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "user",
        "assistant",
        "tool",
    ]
    assert [p.content for p in fixed[2].parts] == ["A"]
    assert fixed[3].parts[0].call_id == "b" and fixed[3].parts[0].content == "missing"
    assert fixed[6].parts[0].is_error


def test_repair_leaves_a_valid_conversation_alone():
    messages = conversation(3)
    fixed, changes = repair_conversation(messages)
    assert fixed is messages and changes == 0


# -- estimates -----------------------------------------------------------------------------------


def test_token_counter_counts_each_message_once():
    provider = Summarizer()
    counter = TokenCounter()
    messages = conversation(5)
    total = counter.count(provider, messages)
    assert abs(total - estimate_tokens(messages)) <= len(messages)
    calls = provider.counted
    messages.append(Message.user("more"))
    counter.count(provider, messages)
    assert provider.counted == calls + 1  # only the new message was counted


def test_reported_usage_raises_the_estimate():
    provider = Summarizer()
    counter = TokenCounter()
    messages = conversation(2)
    local = counter.count(provider, messages)
    counter.observe(messages, local * 3)
    messages.append(Message.user("x" * 400))
    assert counter.count(provider, messages) >= local * 3 + 100
    counter.forget_observation()
    assert counter.count(provider, messages) < local * 2


async def test_unknown_window_uses_the_default():
    budget = ContextBudget(default_window=64_000)
    assert await budget.window_for(Summarizer(window=None)) == 64_000
    assert await ContextBudget(window=5_000).window_for(Summarizer()) == 5_000
    assert await ContextBudget().window_for(Summarizer(window=32_000)) == 32_000


# -- shortening and summaries --------------------------------------------------------------------


def test_old_tool_results_are_shortened_first_and_recent_turns_kept():
    provider = Summarizer()
    budget = ContextBudget(keep_recent_turns=2)
    messages = conversation(8, result_chars=4_000)
    before = budget.estimate(provider, messages)
    shortened, count, after = budget.elide_old_results(provider, messages, None, before - 2_000)
    assert 0 < count < 8 and after <= before - 2_000
    tool_messages = [m for m in shortened if m.role == "tool"]
    elided = [m.parts[0].content.startswith(ELIDED_PREFIX) for m in tool_messages]
    assert elided == sorted(elided, reverse=True)  # oldest first
    assert tool_messages[0].parts[0].content == f"{ELIDED_PREFIX} 4002 chars]"
    assert not any(elided[-1:])  # the last turn (final answer + previous tool turn) untouched
    assert validate_conversation(shortened) == []
    assert messages[3].parts[0].content.startswith("0:x")  # the input list is not modified
    assert [p.call_id for m in shortened for p in m.parts if p.type == "tool_result"] == [
        p.call_id for m in messages for p in m.parts if p.type == "tool_result"
    ]


async def test_fit_does_nothing_under_the_threshold():
    provider = Summarizer()
    messages = conversation(3)
    result = await ContextBudget().fit(provider, messages)
    assert result.events == [] and result.messages is messages and result.tokens > 0


async def test_fit_summarises_when_shortening_is_not_enough():
    provider = Summarizer(window=3_000)
    # results too short to be worth shortening: only a summary can help
    messages = conversation(30, result_chars=300, calls_per_turn=2)
    budget = ContextBudget()
    result = await budget.fit(provider, messages)
    kinds = [e.kind for e in result.events]
    assert kinds[-1] == "summary"
    new = result.messages
    assert validate_conversation(new) == []
    assert new[0] is messages[0]  # system prompt kept
    assert new[1].role == "user" and new[1].parts[0].text == "the task"
    assert SUMMARY_HEADER in new[1].text and "SUMMARY 1" in new[1].text
    assert new[-1] is messages[-1]  # the recent turns kept verbatim
    assert new[2].role == "assistant"  # the cut is at a turn boundary
    assert result.tokens < 0.8 * 3_000
    summary = result.events[-1]
    assert summary.tokens_after == result.tokens and summary.messages_removed > 0
    assert len(new) == len(messages) - summary.messages_removed
    assert result.usage == Usage(input_tokens=100, output_tokens=20, requests=1)
    request = provider.summary_requests[0]
    assert request.tools == []
    assert "the task" in request.messages[1].text and "turn 0" in request.messages[1].text


async def test_a_second_summary_replaces_the_first():
    provider = Summarizer()
    budget = ContextBudget()
    messages = conversation(6)
    first = (await budget.fit(provider, messages, force=True)).messages
    longer = first + conversation(4)[2:]
    second = (await budget.fit(provider, longer, force=True)).messages
    summaries = [p for p in second[1].parts if is_summary_part(p)]
    assert len(summaries) == 1 and "SUMMARY 2" in summaries[0].text
    assert "SUMMARY 1" in provider.summary_requests[1].messages[1].text  # fed to the new one
    assert validate_conversation(second) == []


async def test_failed_summary_still_frees_the_context():
    provider = Summarizer(fail=True)
    messages = conversation(6)
    result = await ContextBudget().fit(provider, messages, force=True)
    assert validate_conversation(result.messages) == []
    assert "earlier messages were removed to save context" in result.messages[1].text
    assert "summary model unavailable" in result.messages[1].text
    assert result.usage is None


async def test_nothing_to_summarise():
    provider = Summarizer()
    messages = [Message.system("s"), Message.user("task"), Message.assistant("answer")]
    assert (await ContextBudget().fit(provider, messages, force=True)).events == []
    assert (await ContextBudget().fit(provider, [Message.system("s")], force=True)).events == []


@st.composite
def conversations(draw):
    messages = [Message.system("s")]
    if draw(st.booleans()):
        messages.append(Message.user("task " + "t" * draw(st.integers(0, 500))))
    counter = 0
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["tools", "tools", "text", "user"]))
        if kind == "user":
            messages.append(Message.user("u" * draw(st.integers(0, 300))))
        elif kind == "text":
            messages.append(Message.assistant("a" * draw(st.integers(0, 300))))
        else:
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                counter += 1
                calls.append(ToolCallPart(id=f"c{counter}", name="t"))
            messages.append(Message.assistant("", calls))
            results = [
                ToolResultPart(call_id=c.id, name="t", content="r" * draw(st.integers(0, 3_000)))
                for c in calls
            ]
            # results may come in one message or several
            if len(results) > 1 and draw(st.booleans()):
                messages.append(Message.tool_results(results[:1]))
                messages.append(Message.tool_results(results[1:]))
            else:
                messages.append(Message.tool_results(results))
    return messages


@settings(max_examples=60, deadline=None)
@given(conversations(), st.sampled_from([500, 1_500, 4_000, 50_000]), st.booleans())
def test_compaction_always_keeps_the_conversation_valid(messages, window, force):
    assert validate_conversation(messages) == []
    provider = Summarizer(window=window)
    result = asyncio.run(ContextBudget().fit(provider, messages, force=force))
    assert validate_conversation(result.messages) == []
    assert result.messages[0] is messages[0]
    users = [m for m in messages if m.role == "user"]
    if users:
        new_task = next(m for m in result.messages if m.role == "user")
        assert new_task.parts[0] == users[0].parts[0]
    if result.events and result.events[-1].kind == "summary":
        assert result.messages[-1] is messages[-1]


# -- in the agent --------------------------------------------------------------------------------


def test_agent_compacts_during_a_long_run_and_every_request_is_valid():
    @tool(read_only=True)
    def read(n: int) -> str:
        """Read a chunk."""
        return f"chunk {n}\n" + "data " * 300

    count = 90  # enough turns that shortening old results alone stops being enough
    turns = [{"tool_calls": [{"name": "read", "arguments": {"n": i}}]} for i in range(count)]
    provider = Summarizer([*turns, "finished"], window=3_000)
    events: list[ev.Event] = []
    agent = Agent(
        provider,
        tools=[read],
        system_prompt="s",
        plugin_manager=create_plugin_manager([], discover=False),
        on_event=events.append,
        max_iterations=None,
    )
    result = agent.run("read everything")
    assert result.stop_reason == "answered" and result.text == "finished"
    compactions = [e for e in events if isinstance(e, ev.Compacted)]
    assert {c.kind for c in compactions} == {"truncate", "summary"}
    for request in provider.requests:
        assert validate_conversation(request.messages) == []
        assert estimate_tokens(request.messages, request.tools) < 3_000
        if request.tools:
            assert request.messages[1].parts[0].text == "read everything"
    # new_messages keep the whole history of the run, unshortened
    assert len([m for m in result.new_messages if m.role == "tool"]) == count
    assert result.usage.requests == count + 1 + len(provider.summary_requests)
    assert validate_conversation(result.messages) == []


def test_forced_compaction_from_the_agent(tmp_path):
    provider = Summarizer()
    path = tmp_path / "s.json"
    events: list[ev.Event] = []
    agent = Agent(
        provider,
        tools=[],
        system_prompt="s",
        plugin_manager=create_plugin_manager([], discover=False),
        session=path,
        on_event=events.append,
    )
    agent.messages.extend(conversation(5)[1:])
    done = agent.compact()
    assert [e.kind for e in done] == ["summary"]
    assert [m.role for m in agent.messages] == ["system", "user", "assistant"]
    assert agent.messages[-1].text == "final answer"
    assert [e.type for e in events] == ["usage", "compaction", "session_saved"]
    assert agent.session.turns[-1]["kind"] == "summary"
    assert agent.usage.requests == 1
    from allos_core.sessions import Session

    assert Session.load(path).messages == agent.messages


def test_summary_part_marker():
    assert is_summary_part(TextPart(text=f"\n\n{SUMMARY_HEADER}\nx"))
    assert not is_summary_part(TextPart(text="plain"))
