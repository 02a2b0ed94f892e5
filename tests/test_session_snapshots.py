"""Saving after every turn re-encodes only what changed, and the file still says everything."""

from __future__ import annotations

import json
from pathlib import Path

from allos_core.agent import Agent
from allos_core.messages import Message, Usage
from allos_core.plugins import create_plugin_manager
from allos_core.sessions import Session, _messages_adapter
from allos_core.testing import ScriptedProvider


def full_encoding(session: Session) -> list:
    return json.loads(_messages_adapter().dump_json(session.messages))


def test_repeated_saves_write_the_whole_conversation(tmp_path: Path) -> None:
    # given a session saved after each of several turns
    session = Session.open(tmp_path / "s.json")
    for n in range(5):
        session.messages.append(Message.user(f"question {n}"))
        session.messages.append(Message.assistant(f"answer {n}", provider="openai", model="m"))
        session.record_turn("openai", "m", Usage(input_tokens=n, output_tokens=1, requests=1))
        session.save()

    # then the file holds every message and turn, as a full encoding would
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["messages"] == full_encoding(session)
    assert [t["usage"]["input_tokens"] for t in saved["turns"]] == [0, 1, 2, 3, 4]
    assert Session.load(tmp_path / "s.json").messages == session.messages


def test_a_replaced_message_is_saved_in_its_new_form(tmp_path: Path) -> None:
    session = Session.open(tmp_path / "s.json")
    session.messages.extend([Message.user("old"), Message.assistant("kept")])
    session.save()

    # when a message is replaced (compaction, repairs) and the session saved again
    session.messages[0] = Message.user("new")
    session.save()

    saved = json.loads((tmp_path / "s.json").read_text())
    assert [m["parts"][0]["text"] for m in saved["messages"]] == ["new", "kept"]


def test_a_tool_loop_session_is_complete_after_the_run(tmp_path: Path) -> None:
    # given an agent whose per-turn saves are written behind the next request
    from allos_core.tools import tool

    @tool(read_only=True)
    def echo(text: str) -> str:
        """Echo."""
        return text

    provider = ScriptedProvider(
        [{"tool_calls": [{"name": "echo", "arguments": {"text": str(n)}}]} for n in range(3)]
        + ["done"]
    )
    with Agent(
        provider,
        tools=[echo],
        plugin_manager=create_plugin_manager([]),
        session=tmp_path / "run.json",
        system_prompt="s",
    ) as agent:
        result = agent.run("go")

    # then the file on disk has the final conversation
    assert result.stop_reason == "answered"
    loaded = Session.load(tmp_path / "run.json")
    assert loaded.messages == result.messages
    assert len(loaded.turns) == 4


def test_a_turn_right_after_a_write_is_marked_dirty_not_written(tmp_path: Path) -> None:
    from allos_core.session_writer import SessionWriter

    # given a writer that allows one per-turn write an hour
    writer = SessionWriter(min_interval=3600)
    session = Session.open(tmp_path / "s.json")
    session.messages.append(Message.user("one"))

    # when two turns end in a row
    first = writer.save_behind(session)
    session.messages.append(Message.user("two"))
    second = writer.save_behind(session)
    writer.wait()

    # then the first was written, the second is dirty (for the next save or the timer)
    assert (first, second, writer.dirty) == (True, False, True)
    saved = json.loads((tmp_path / "s.json").read_text())
    assert [m["parts"][0]["text"] for m in saved["messages"]] == ["one"]
