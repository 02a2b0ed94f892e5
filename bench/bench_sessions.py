"""How long resuming and saving a long session takes.

Builds a 1,000-message session (a task, then assistant turns with tool calls and their results,
about 1 KB of output each), saves it to a temporary folder, then times ``Session.load`` and
``Session.save`` (median of several runs). The target is under 100 ms to resume.

    python bench/bench_sessions.py [--messages 1000] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from allos_core.messages import Message, ToolCallPart, ToolResultPart, Usage
from allos_core.sessions import Session


def build_session(path: Path, count: int) -> Session:
    """A session of ``count`` messages that looks like a real tool loop."""
    session = Session(path=path)
    messages = [Message.system("You are a coding agent. " * 40), Message.user("Fix the bug.")]
    turn = 0
    while len(messages) < count:
        turn += 1
        usage = Usage(input_tokens=1000 + turn, output_tokens=50, requests=1)
        call = ToolCallPart(
            id=f"call_{turn:024d}",
            name="read_file",
            arguments={"path": f"src/module_{turn}.py", "start": 1, "end": 80},
        )
        messages.append(
            Message.assistant(
                f"Reading module {turn}.", [call], provider="openai", model="m", usage=usage
            )
        )
        messages.append(
            Message.tool_results(
                [ToolResultPart(call_id=call.id, name="read_file", content="x = 1\n" * 170)]
            )
        )
        session.record_turn("openai", "m", usage)
    session.messages = messages[:count]
    return session


def median_ms(action, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        session = build_session(path, options.messages)
        session.save()
        Session.load(path)  # warm-up: builds the pydantic validator once
        size_kb = path.stat().st_size / 1024
        load = median_ms(lambda: Session.load(path), options.runs)
        save = median_ms(session.save, options.runs)
        loaded = Session.load(path)
        assert len(loaded.messages) == options.messages
        assert loaded.messages == session.messages
        resume = median_ms(lambda: resume_agent(path), options.runs)
    print(f"session: {options.messages} messages, {size_kb:.0f} KB")
    print(f"Session.load: {load:.1f} ms (median of {options.runs}; target < 100 ms)")
    print(f"Agent(session=...) resume: {resume:.1f} ms (load + consistency check + prompt)")
    print(f"Session.save: {save:.1f} ms (median of {options.runs}; atomic, with fsync)")


def resume_agent(path: Path) -> None:
    """What ``allos chat -s NAME`` does before the first turn."""
    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager
    from allos_core.testing import ScriptedProvider

    agent = Agent(
        ScriptedProvider([]),
        tools=[],
        session=path,
        plugin_manager=create_plugin_manager([], discover=False),
    )
    assert len(agent.messages) > 1


if __name__ == "__main__":
    main()
