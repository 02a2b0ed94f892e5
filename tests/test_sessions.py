"""Session files: round-trips, errors that never overwrite, atomic saves, resume, listing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.errors import SessionError
from allos_core.messages import (
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
    validate_conversation,
)
from allos_core.plugins import create_plugin_manager
from allos_core.providers import new_tool_call_id, tool_call_from_json
from allos_core.sessions import (
    FORMAT,
    VERSION,
    Session,
    delete_session,
    list_sessions,
    session_path,
    sessions_dir,
)
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def provider_style_conversation() -> list[Message]:
    """Tool calls as each provider plugin produces them: OpenAI, Anthropic and Ollama ids."""
    openai_usage = Usage(input_tokens=120, output_tokens=30, requests=1)
    anthropic_usage = Usage(input_tokens=300, output_tokens=45, requests=1)
    ollama_call = ToolCallPart(id=new_tool_call_id(), name="grep", arguments={"pattern": "def "})
    broken = tool_call_from_json("call_broken1", "edit_file", '{"path": "a.py", "old": ')
    return [
        Message.system("You are Allos."),
        Message.user("Rename foo to bar — and mind the ünïcödé ✓"),
        Message.assistant(
            "",
            [
                ToolCallPart(
                    id="call_9fZ2kQ7xW1",
                    name="read_file",
                    arguments={"path": "src/foo.py", "range": [1, 40], "opts": {"raw": True}},
                ),
                broken,
            ],
            provider="openai",
            model="gpt-4o-mini",
            usage=openai_usage,
        ),
        Message.tool_results(
            [
                ToolResultPart(
                    call_id="call_9fZ2kQ7xW1", name="read_file", content="def foo(): ..."
                ),
                ToolResultPart(
                    call_id="call_broken1",
                    name="edit_file",
                    content="the arguments were not valid JSON",
                    is_error=True,
                ),
            ]
        ),
        Message(
            role="assistant",
            parts=[
                TextPart(text="I'll search first."),
                ToolCallPart(id="toolu_01A09q90qw90lq917835lq9", name="grep", arguments={}),
            ],
            provider="anthropic",
            model="claude-sonnet-4-5",
            usage=anthropic_usage,
        ),
        Message.tool_results(
            [ToolResultPart(call_id="toolu_01A09q90qw90lq917835lq9", name="grep", content="")]
        ),
        Message.assistant("", [ollama_call], provider="ollama", model="llama3.1:8b"),
        Message.tool_results(
            [ToolResultPart(call_id=ollama_call.id, name="grep", content="src/foo.py:1:def foo")]
        ),
        Message.assistant("Done: renamed.", provider="ollama", model="llama3.1:8b"),
    ]


def test_round_trip_keeps_everything(tmp_path):
    messages = provider_style_conversation()
    assert validate_conversation(messages) == []
    session = Session(path=tmp_path / "rt.json", messages=messages, metadata={"workspace": "/w"})
    session.record_turn("openai", "gpt-4o-mini", messages[2].usage)
    session.record_turn("anthropic", "claude-sonnet-4-5", messages[4].usage)
    session.record_turn("ollama", "llama3.1:8b", None)
    path = session.save()
    loaded = Session.load(path)
    assert loaded.messages == messages
    assert loaded.messages[2].tool_calls[1].parse_error.startswith("invalid JSON")
    assert loaded.messages[2].tool_calls[1].raw_arguments == '{"path": "a.py", "old": '
    assert loaded.turns == session.turns
    assert [t["provider"] for t in loaded.turns] == ["openai", "anthropic", "ollama"]
    assert loaded.usage == Usage(input_tokens=420, output_tokens=75, requests=2)
    assert loaded.metadata == {"workspace": "/w"}
    assert loaded.created_at == session.created_at and loaded.updated_at == session.updated_at
    assert loaded.name == "rt" and loaded.provider == "ollama" and loaded.model == "llama3.1:8b"
    assert loaded.title == "Rename foo to bar — and mind the ünïcödé ✓"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == FORMAT and data["version"] == VERSION
    assert set(data) == {
        "format",
        "version",
        "name",
        "created_at",
        "updated_at",
        "messages",
        "turns",
        "usage",
        "metadata",
    }
    assert "ünïcödé" in path.read_text(encoding="utf-8")  # readable, not \\u-escaped
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600  # conversations are private


def test_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLOS_SESSIONS_DIR", str(tmp_path / "store"))
    assert sessions_dir() == tmp_path / "store"
    assert session_path("work-1.2_x") == ("work-1.2_x", tmp_path / "store" / "work-1.2_x.json")
    assert session_path("out/run.json") == ("run", Path("out/run.json"))
    assert session_path("run.json") == ("run", Path("run.json"))
    assert session_path(tmp_path / "p.json") == ("p", tmp_path / "p.json")
    for bad in ("bad name", "..", "a:b", ""):
        with pytest.raises(SessionError, match="invalid session name"):
            session_path(bad)
    monkeypatch.delenv("ALLOS_SESSIONS_DIR")
    assert sessions_dir().name == "sessions" and "allos" in str(sessions_dir())


def test_open_creates_then_resumes(tmp_path):
    path = tmp_path / "sub" / "new.json"
    fresh = Session.open(path)
    assert fresh.messages == [] and not path.exists()
    fresh.messages.append(Message.user("hi"))
    fresh.save()
    assert Session.open(path).messages[0].text == "hi"
    named = Session.open("by-name")
    assert named.path == sessions_dir() / "by-name.json"
    with pytest.raises(SessionError, match="no file"):
        Session().save()


# -- errors never overwrite ----------------------------------------------------------------------


def test_missing_session(tmp_path):
    with pytest.raises(SessionError, match="no session 'ghost' at") as info:
        Session.load("ghost")
    assert "allos sessions list" in info.value.hint
    with pytest.raises(SessionError, match="no session file at"):
        Session.load(tmp_path / "nothing.json")


CORRUPT = [
    (b'{"format": "allos-sess', "is not valid JSON"),
    (b"\xff\xfe garbage", "is not valid JSON"),
    (b'{"hello": "world"}', "is not an Allos session file"),
    (b"[1, 2, 3]", "is not an Allos session file"),
    (b'{"format": "allos-session", "version": "one"}', "invalid version"),
    (
        b'{"format": "allos-session", "version": 1, "messages": [{"role": "wizard"}]}',
        "is corrupt (messages.0.role",
    ),
    (
        b'{"format": "allos-session", "version": 1, "messages": [], "usage": {"input_tokens": "x"}}',
        "is corrupt",
    ),
]


@pytest.mark.parametrize(("content", "message"), CORRUPT)
def test_corrupt_files_give_a_clear_error_and_stay_untouched(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    for opener in (Session.load, Session.open):
        with pytest.raises(SessionError, match=re.escape(message)) as info:
            opener(path)
        assert str(path) in str(info.value) and "left untouched" in str(info.value)
        assert info.value.hint
    with pytest.raises(SessionError):
        Agent(ScriptedProvider([]), tools=[], system_prompt="s", session=path)
    assert path.read_bytes() == content


def test_newer_version_is_refused_and_kept(tmp_path):
    path = tmp_path / "future.json"
    content = json.dumps({"format": FORMAT, "version": VERSION + 1, "messages": [], "x": 1})
    path.write_text(content)
    with pytest.raises(SessionError, match="written by a newer Allos") as info:
        Session.open(path)
    assert "upgrade" in info.value.hint
    assert path.read_text() == content


def test_failed_save_keeps_the_previous_version(tmp_path, monkeypatch):
    session = Session(path=tmp_path / "keep.json", messages=[Message.user("v1")])
    session.save()
    before = session.path.read_bytes()
    session.messages.append(Message.user("v2"))

    def broken_replace(src, dst, **_dir_fds):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SessionError, match="No space left on device") as info:
        session.save()
    assert "disk" in info.value.hint
    monkeypatch.undo()
    assert session.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]  # no temp file left behind


BUILD = """
from datetime import datetime, timezone
from allos_core.messages import Message, TextPart, ToolCallPart, ToolResultPart, Usage

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
BASE = 600

def turn(i):
    call = ToolCallPart(id=f"call_{i}", name="read", arguments={"i": i})
    return [
        Message(role="assistant", parts=[call], created_at=T0,
                usage=Usage(input_tokens=i, output_tokens=1, requests=1)),
        Message(role="tool", created_at=T0, parts=[
            ToolResultPart(call_id=call.id, name="read", content=f"{i}:" + "z" * 600)]),
    ]

def version(k):
    # the session as saved the k-th time: BASE turns, then k more
    messages = [Message(role="system", parts=[TextPart(text="s")], created_at=T0)]
    for i in range(BASE + k):
        messages.extend(turn(i))
    return messages
"""

# Saves a big session over and over, one turn longer each time. It announces each stage of each
# save on stdout ("serialize K", "replace K", "saved K") so the test can kill it at a known
# point without sleeping; at "replace STOP" it waits (the temp file is complete, the rename not
# done) until it is killed.
CHILD = (
    BUILD
    + """
import os, sys
from allos_core import sessions
from allos_core.sessions import Session

stop = int(sys.argv[2])
k = 0
real_replace = os.replace
real_dump = Session.to_json_bytes

def replace(src, dst, **dir_fds):
    print("replace", k, flush=True)
    if k == stop:
        sys.stdin.readline()  # blocks until the test kills us (or closes stdin)
    real_replace(src, dst, **dir_fds)

def dump(self):
    print("serialize", k, flush=True)
    return real_dump(self)

os.replace = replace
Session.to_json_bytes = dump
session = Session(path=sys.argv[1], messages=version(0))
while True:
    session.save()
    print("saved", k, flush=True)
    k += 1
    session.messages.extend(turn(BASE + k - 1))
"""
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize(
    ("stage", "at", "expected"),
    [
        ("serialize", 2, (1, 2)),  # killed while serializing (or writing) version 2
        ("replace", 3, (2, 2)),  # killed with version 3 fully written to the temp file
        ("saved", 1, (1, 2)),  # killed right after a save, inside the next one
    ],
)
def test_kill_during_save_leaves_a_loadable_version(tmp_path, stage, at, expected):
    namespace: dict = {}
    exec(BUILD, namespace)
    path = tmp_path / "crash.json"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(at if stage == "replace" else -1)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        while True:
            line = child.stdout.readline()
            assert line, "the saving process ended early"
            if line.split() == [stage, str(at)]:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    loaded = Session.load(path)
    k = (len(loaded.messages) - 1) // 2 - namespace["BASE"]
    assert expected[0] <= k <= expected[1]
    assert loaded.messages == namespace["version"](k)
    if stage == "replace":  # the new version never replaced the old one
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "crash.json"]
        assert len(leftovers) == 1 and leftovers[0].startswith(".crash.json.")
        assert [s.name for s in list_sessions(tmp_path)] == ["crash"]
    loaded.save()  # saving again over a crash works
    assert Session.load(path).messages == loaded.messages


# -- the agent and sessions ----------------------------------------------------------------------


class OtherProvider(ScriptedProvider):
    name = "other"
    default_model = "other-1"


@tool(read_only=True)
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


def agent_with(provider, session, **options):
    return Agent(
        provider,
        tools=[lookup],
        system_prompt=options.pop("system_prompt", "s"),
        plugin_manager=create_plugin_manager([], discover=False),
        session=session,
        **options,
    )


def test_agent_saves_after_every_turn_and_resumes_on_another_provider():
    events: list[ev.Event] = []
    first = ScriptedProvider(
        [
            {
                "tool_calls": [{"name": "lookup", "arguments": {"key": "a"}}],
                "usage": {"input_tokens": 50, "output_tokens": 5},
            },
            {"text": "a is known", "usage": {"input_tokens": 70, "output_tokens": 4}},
        ]
    )
    agent = agent_with(first, "project-x", on_event=events.append)
    result = agent.run("find a")
    path = sessions_dir() / "project-x.json"
    assert result.session_path == path
    assert [e.type for e in events].count("session_saved") == 2  # after the tool turn, at the end
    saved = Session.load("project-x")
    assert saved.messages == result.messages
    assert saved.usage == Usage(input_tokens=120, output_tokens=9, requests=2)
    assert saved.metadata["workspace"] == str(agent.workspace)

    second = OtherProvider(["b follows a"], model="other-2")
    resumed = agent_with(second, "project-x", system_prompt="new system prompt")
    assert resumed.messages[0].text == "new system prompt"
    assert [m.text for m in resumed.messages[1:]] == [m.text for m in result.messages[1:]]
    result2 = resumed.run("and b?")
    sent = second.requests[0].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[3].parts[0].content == "value of a"
    final = Session.load(path)
    assert [(t["provider"], t["model"]) for t in final.turns] == [
        ("scripted", "scripted"),
        ("scripted", "scripted"),
        ("other", "other-2"),
    ]
    assert [m.provider for m in final.messages if m.role == "assistant"] == [
        "scripted",
        "scripted",
        "other",
    ]
    assert final.messages == result2.messages and validate_conversation(final.messages) == []


def test_no_secret_lands_in_the_session_file(tmp_path):
    secret = "sk-test-NEVER-WRITE-ME-123"
    provider = ScriptedProvider(
        ["ok"],
        api_key=secret,
        base_url="http://127.0.0.1:9/v1",
        organization="org-PRIVATE-456",
        default_headers={"Authorization": f"Bearer {secret}"},
    )
    path = tmp_path / "s.json"
    agent_with(provider, path).run("hello")
    content = path.read_text(encoding="utf-8")
    assert secret not in content and "org-PRIVATE-456" not in content
    assert "Authorization" not in content
    assert json.loads(content)["turns"][0].keys() == {"provider", "model", "usage", "at", "kind"}


def test_resuming_repairs_an_inconsistent_saved_conversation(tmp_path):
    path = tmp_path / "dangling.json"
    messages = [
        Message.system("old"),
        Message.user("task"),
        Message.assistant("", [ToolCallPart(id="call_1", name="lookup", arguments={"key": "x"})]),
    ]
    Session(path=path, messages=messages).save()
    agent = agent_with(ScriptedProvider(["fine"]), path)
    assert validate_conversation(agent.messages) == []
    assert agent.messages[-1].parts[0].is_error
    assert agent.run("go on").stop_reason == "answered"


def test_interrupted_run_is_saved(tmp_path):
    @tool(default_permission="allow")
    def stop() -> str:
        """Ctrl-C."""
        raise KeyboardInterrupt

    path = tmp_path / "int.json"
    agent = Agent(
        ScriptedProvider([{"tool_calls": [{"name": "stop", "arguments": {}}]}]),
        tools=[stop],
        system_prompt="s",
        plugin_manager=create_plugin_manager([], discover=False),
        session=path,
    )
    result = agent.run("go")
    assert result.stop_reason == "interrupted"
    loaded = Session.load(path)
    assert loaded.messages == result.messages and validate_conversation(loaded.messages) == []


def test_provider_error_run_is_saved(tmp_path):
    path = tmp_path / "err.json"
    agent = agent_with(ScriptedProvider([]), path)
    result = agent.run("go")
    assert result.stop_reason == "error"
    assert [m.role for m in Session.load(path).messages] == ["system", "user"]


def test_clear_is_saved():
    agent = agent_with(ScriptedProvider(["one"]), "to-clear")
    agent.run("x")
    agent.clear()
    assert [m.role for m in Session.load("to-clear").messages] == ["system"]


# -- listing, showing, deleting ------------------------------------------------------------------


def test_list_show_and_delete():
    assert list_sessions() == []
    older = Session("older", messages=[Message.user("first task\nwith details")])
    older.record_turn("openai", "gpt-x", Usage(input_tokens=1, requests=1))
    older.save()
    newer = Session("newer", messages=provider_style_conversation())
    newer.record_turn("anthropic", "claude-x", None)
    newer.save()
    folder = sessions_dir()
    (folder / "broken.json").write_text("{nope")
    (folder / ".newer.json.123.tmp").write_text("partial")
    (folder / "notes.txt").write_text("not a session")

    summaries = list_sessions()
    assert [s.name for s in summaries] == ["newer", "older", "broken"]
    first = summaries[0]
    assert (
        first.messages == 8 and first.provider == "anthropic" and first.model == "claude-x"
    )  # without the system prompt
    assert first.title.startswith("Rename foo to bar") and first.error is None
    assert summaries[1].title == "first task" and summaries[1].provider == "openai"
    assert summaries[2].error.startswith("unreadable") and summaries[2].messages == 0

    text = Session.load("newer").to_text()
    assert "[user]\nRename foo to bar" in text
    assert '[assistant calls read_file] {"path": "src/foo.py"' in text
    assert "[result of edit_file (error)]" in text
    assert "You are Allos" not in text  # the system prompt is not part of the transcript

    assert delete_session("older") == folder / "older.json"
    assert not (folder / "older.json").exists()
    with pytest.raises(SessionError, match="no session 'older'"):
        delete_session("older")
    assert newer.delete() == folder / "newer.json"
    assert [s.name for s in list_sessions()] == ["broken"]


def test_list_marks_newer_versions(tmp_path):
    (tmp_path / "future.json").write_text(
        json.dumps({"format": FORMAT, "version": VERSION + 1, "messages": []})
    )
    (summary,) = list_sessions(tmp_path)
    assert summary.error == "written by a newer Allos"


def test_list_of_a_missing_folder(tmp_path):
    assert list_sessions(tmp_path / "nope") == []


def test_long_session_round_trip(tmp_path):
    """1,000 messages (timed by bench/bench_sessions.py; here only checked for equality)."""
    messages = [Message(role="user", parts=[TextPart(text="t")], created_at=T0)] + [
        Message(role="assistant", parts=[TextPart(text=f"m{i}")], created_at=T0) for i in range(999)
    ]
    session = Session(path=tmp_path / "long.json", messages=messages)
    session.save()
    assert Session.load(session.path).messages == messages


# -- saving never clobbers a file this Session did not load or write --------------------------


def saved_elsewhere(name: str, text: str = "earlier work") -> Path:
    """A session saved by another Session object (another run), as on a user's disk."""
    return Session(name, messages=[Message.user(text)]).save()


def test_a_new_session_object_refuses_to_overwrite_an_existing_session():
    path = saved_elsewhere("work")
    before = path.read_bytes()
    fresh = Session("work", messages=[Message.user("something else")])
    with pytest.raises(SessionError, match="already exists") as info:
        fresh.save()
    assert str(path) in str(info.value) and "left untouched" in str(info.value)
    assert "Session.open('work')" in info.value.hint and "another name" in info.value.hint
    assert path.read_bytes() == before
    same_path = Session(path=path)  # the same by path
    with pytest.raises(SessionError, match="did not load it"):
        same_path.save()
    assert path.read_bytes() == before
    resumed = Session.open("work")  # the way to continue it
    resumed.messages.append(Message.user("more"))
    resumed.save()
    assert [m.text for m in Session.load("work").messages] == ["earlier work", "more"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            json.dumps({"format": FORMAT, "version": VERSION + 1, "messages": [], "future": 1}),
            "written by a newer Allos",
        ),
        ('{"format": "allos-sess', "is not valid JSON"),
        ('{"name": "package"}', "is not an Allos session file"),
    ],
)
def test_save_refuses_a_newer_or_corrupt_file_and_leaves_it(content, message):
    path = sessions_dir() / "work.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    session = Session("work", messages=[Message.user("x")])
    updated = session.updated_at
    with pytest.raises(SessionError, match=re.escape(message)) as info:
        session.save()
    assert "cannot save session 'work'" in str(info.value) and info.value.hint
    assert path.read_text() == content
    assert session.updated_at == updated
    assert [p.name for p in path.parent.iterdir()] == ["work.json"]  # no temp file either


def test_agent_with_a_constructed_session_stops_instead_of_overwriting():
    """An Agent given ``Session(name)`` over a newer session file stops with an error."""
    path = sessions_dir() / "work.json"
    path.parent.mkdir(parents=True)
    content = json.dumps({"format": FORMAT, "version": VERSION + 1, "messages": [], "future": 1})
    path.write_text(content)
    result = agent_with(ScriptedProvider(["hi"]), Session("work")).run("go")
    assert result.stop_reason == "error" and "newer Allos" in result.error
    assert path.read_text() == content


def test_a_loaded_or_saved_session_keeps_saving():
    created = Session("mine", messages=[Message.user("one")])
    created.save()
    created.messages.append(Message.user("two"))
    created.save()  # a file it wrote itself
    loaded = Session.load("mine")
    loaded.messages.append(Message.user("three"))
    loaded.save()  # a file it loaded
    assert [m.text for m in Session.load("mine").messages] == ["one", "two", "three"]
    loaded.delete()
    loaded.save()  # deleted meanwhile: written again
    assert len(Session.load("mine").messages) == 3


def test_a_loaded_session_changed_on_disk_since():
    first = Session.open("shared")
    first.messages.append(Message.user("first"))
    first.save()
    other = Session.load("shared")
    other.messages.append(Message.user("other"))
    other.save()
    first.messages.append(Message.user("first again"))
    first.save()  # the same session saved by another run: the last save wins
    assert [m.text for m in Session.load("shared").messages] == ["first", "first again"]
    future = json.dumps({"format": FORMAT, "version": VERSION + 1, "messages": []})
    first.path.write_text(future)  # a newer Allos wrote it since: never overwritten
    with pytest.raises(SessionError, match="written by a newer Allos"):
        first.save()
    assert first.path.read_text() == future


@pytest.mark.parametrize(
    "bad",
    [{"repo": Path("/src")}, {"when": datetime(2024, 1, 1)}, {"s": {1, 2}}],
    ids=["path", "datetime", "set"],
)
def test_metadata_that_is_not_json_gives_a_session_error_and_keeps_the_file(tmp_path, bad):
    path = tmp_path / "meta.json"
    session = Session(path=path, messages=[Message.user("hi")])
    session.save()
    before = path.read_bytes()
    session.metadata.update(bad)
    with pytest.raises(SessionError, match="is not JSON") as info:
        session.save()
    assert "left untouched" in str(info.value)
    assert "session metadata must be JSON" in info.value.hint
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]
    fresh = Session(path=tmp_path / "never.json", metadata={"loop": []})
    fresh.metadata["loop"].append(fresh.metadata)  # a circular reference: ValueError
    with pytest.raises(SessionError, match="is not JSON"):
        fresh.save()
    assert not fresh.path.exists()


def test_agent_run_with_bad_metadata_stops_with_an_error(tmp_path):
    session = Session.open(tmp_path / "m.json")
    session.metadata["repo"] = Path("/src")
    agent = agent_with(
        ScriptedProvider([{"tool_calls": [{"name": "lookup", "arguments": {"key": "k"}}]}, "ok"]),
        session,
    )
    result = agent.run("go")
    assert result.stop_reason == "error" and "is not JSON" in result.error
    assert "session metadata must be JSON" in result.error_hint
    assert not session.path.exists()


# -- deleting only deletes sessions --------------------------------------------------------------


def test_delete_refuses_a_file_that_is_not_a_session(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    package = tmp_path / "package.json"
    package.write_text('{"name": "app", "version": "1.0.0"}')
    with pytest.raises(SessionError, match="is not an Allos session file; not deleted") as info:
        delete_session("package.json")
    assert "allos sessions list" in info.value.hint and "--force" in info.value.hint
    assert package.exists()
    notes = tmp_path / "notes.json"
    notes.write_text("not json at all")
    with pytest.raises(SessionError, match=r"not an Allos session file \(not valid JSON\)"):
        delete_session(notes)
    assert notes.exists()
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(SessionError, match="not a regular file"):
        delete_session("folder.json", force=True)
    assert (tmp_path / "folder.json").is_dir()
    assert delete_session("package.json", force=True) == Path("package.json")
    assert delete_session(notes, force=True) == notes
    assert not package.exists() and not notes.exists()


def test_delete_prefers_the_sessions_folder_for_name_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stored = saved_elsewhere("work")
    local = tmp_path / "work.json"
    Session(path=local, messages=[Message.user("local")]).save()
    assert delete_session("work.json") == stored
    assert not stored.exists() and local.exists()
    assert delete_session("work.json") == Path("work.json")  # none left there: the local file
    assert not local.exists()
    with pytest.raises(SessionError, match="no session 'work'"):
        delete_session("work.json")


def test_delete_corrupt_and_newer_sessions():
    folder = sessions_dir()
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text("{nope")
    with pytest.raises(SessionError, match="not deleted") as info:
        delete_session("broken")
    assert f"allos sessions rm --force {folder / 'broken.json'}" in info.value.hint
    assert delete_session("broken", force=True) == folder / "broken.json"
    future = folder / "future.json"
    future.write_text(json.dumps({"format": FORMAT, "version": VERSION + 1, "messages": []}))
    assert delete_session("future") == future  # an Allos session, even if too new to read
    assert list_sessions() == []
