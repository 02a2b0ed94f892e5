"""`allos chat`: driven through a pseudo-terminal (pexpect) like a person at a keyboard, and
through click's runner for the slash commands and multi-line input."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path

import pytest
from cli_support import ALLOS, call, invoke, subprocess_env, write_script

from allos_core.sessions import Session

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

#: prompt_toolkit draws the prompt with cursor moves on a real terminal: match the mark alone
PROMPT = "›"
TIMEOUT = 30  # a safety net for expect(); every step normally takes milliseconds


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def spawn_chat(tmp_path: Path, workspace: Path, script: Path, *args: str):
    env = subprocess_env(tmp_path, TERM="dumb")
    child = pexpect.spawn(
        ALLOS,
        ["chat", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), *args],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 200),
    )
    return child


def test_prompt_tool_approval_and_exit_through_a_terminal(tmp_path, workspace):
    script = write_script(
        tmp_path,
        [
            {
                "text": "I'll write it.",
                "tool_calls": [call("write_file", path="notes.txt", content="from chat\n")],
            },
            "Wrote notes.txt for you.",
        ],
    )
    child = spawn_chat(tmp_path, workspace, script, "-s", "pty")
    try:
        child.expect_exact("allos chat")
        child.expect_exact("› ")
        child.sendline("please write notes.txt")
        child.expect_exact("write_file wants to run:")
        child.expect_exact("notes.txt")
        child.expect_exact("+from chat")  # the preview diff
        child.expect_exact("Allow? yes / no / always")
        child.sendline("y")
        child.expect_exact("Wrote notes.txt for you.")
        child.expect_exact("› ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert (workspace / "notes.txt").read_text() == "from chat\n"
    assert Path(tmp_path / "home" / "sessions" / "pty.json").exists()


def test_no_at_the_prompt_denies_and_ctrl_c_at_the_prompt_stays(tmp_path, workspace):
    script = write_script(
        tmp_path,
        [
            {"tool_calls": [call("shell_exec", command="touch nope")]},
            "Understood, I did not run it.",
        ],
    )
    child = spawn_chat(tmp_path, workspace, script)
    try:
        child.expect_exact("› ")
        child.sendintr()  # Ctrl-C at the prompt: a fresh prompt, not an exit
        child.expect_exact("› ")
        child.sendline("run touch")
        child.expect_exact("touch nope")
        child.expect_exact("Allow?")
        child.sendline("n")
        child.expect_exact("denied")
        child.expect_exact("Understood, I did not run it.")
        child.expect_exact("› ")
        child.sendeof()  # Ctrl-D leaves
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert not (workspace / "nope").exists()


def test_ctrl_c_stops_the_turn_but_not_the_chat(tmp_path, workspace):
    from fakes.openai_server import FakeOpenAIServer

    env = subprocess_env(tmp_path, TERM="xterm-256color", OPENAI_API_KEY="sk-test")
    with FakeOpenAIServer() as server:
        server.queue_hang()
        server.queue_text("the second answer")
        child = pexpect.spawn(
            ALLOS,
            ["chat", "-p", "openai", "--base-url", server.openai_base_url]
            + ["--workspace", str(workspace), "-s", "cut"],
            env=env,
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(40, 200),
        )
        transcript = io.StringIO()
        child.logfile_read = transcript
        try:
            child.expect(PROMPT)
            child.sendline("a slow question")
            deadline = time.monotonic() + TIMEOUT
            while not server.chat_requests:  # wait until the request is in flight
                assert time.monotonic() < deadline, "the request never arrived"
                time.sleep(0.01)
            child.sendintr()
            child.expect_exact("interrupted")
            child.expect(PROMPT)
            server.release()
            child.sendline("a quick one")
            child.expect_exact("the second answer")
            child.expect(PROMPT)
            child.sendline("/exit")
            child.expect(pexpect.EOF)
        finally:
            server.release()
            child.close()
    assert child.exitstatus == 0
    output = transcript.getvalue()
    assert "thinking" in output  # a terminal: the spinner shows while waiting
    assert not re.search(r"\x1b\[[0-9;]*(3\d|38;)", output)  # NO_COLOR: no colour codes
    users = [
        m.text
        for m in Session.load(Path(env["ALLOS_SESSIONS_DIR"]) / "cut.json").messages
        if m.role == "user"
    ]
    assert users == ["a slow question", "a quick one"]


# -- through click's runner (stdin is not a terminal: no prompts) ---------------------------------


def chat_args(workspace: Path, script: Path, *extra: str) -> list[str]:
    return ["chat", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), *extra]


def test_slash_commands_and_multiline_input(tmp_path, workspace):
    script = write_script(tmp_path, ["first answer", "second answer"])
    other = write_script(tmp_path, ["from the other script"], name="other.json")
    lines = [
        "/help",
        "/tools",
        "line one \\",
        "line two",
        "/session",
        '"""',
        "block one",
        "block two",
        '"""',
        "/model " + str(other),
        "/model",
        "third",
        "/nonsense",
        "/clear",
        "/exit",
    ]
    result = invoke(*chat_args(workspace, script, "-s", "multi"), input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    err = result.stderr
    assert "/compact" in err  # the help
    assert "read_file" in err and "shell_exec" in err  # /tools
    assert "session multi" in err
    assert "now using scripted" in err
    assert "unknown command /nonsense" in err
    assert "conversation cleared" in err
    assert "first answer" in result.stdout
    assert "second answer" in result.stdout
    assert "from the other script" in result.stdout
    session = Session.load("multi")
    turns = [t["model"] for t in session.turns]
    assert turns[-1] == str(other)  # the switch reached the session
    assert [m.role for m in session.messages] == ["system"]  # /clear emptied it (and saved)


def test_chat_saves_every_turn_and_resumes(tmp_path, workspace):
    script = write_script(tmp_path, ["Noted.", "You said kiwi."])
    result = invoke(*chat_args(workspace, script, "-s", "fruit"), input="remember kiwi\n")
    assert result.exit_code == 0, result.stderr
    assert " chat -s fruit)" in result.stderr  # resume: allos (or uv run allos, ...) chat -s fruit
    resumed = invoke(*chat_args(workspace, script, "-s", "fruit"), input="what fruit?\n")
    assert "(2 messages)" in resumed.stderr
    users = [m.text for m in Session.load("fruit").messages if m.role == "user"]
    assert users == ["remember kiwi", "what fruit?"]


def test_chat_without_session_name_gets_one(tmp_path, workspace):
    script = write_script(tmp_path, ["hi"])
    result = invoke(*chat_args(workspace, script), input="hello\n")
    assert result.exit_code == 0
    listed = json.loads(invoke("sessions", "list", "--json").stdout)["sessions"]
    assert len(listed) == 1 and listed[0]["name"].startswith("chat-")


def test_chat_turn_error_keeps_the_chat_going(tmp_path, workspace):
    script = write_script(tmp_path, ["only one"])
    result = invoke(*chat_args(workspace, script), input="one\ntwo\n/exit\n")
    assert result.exit_code == 0
    assert "only one" in result.stdout
    assert "the script has no turn left" in result.stderr


def test_chat_tool_denied_without_terminal(tmp_path, workspace):
    script = write_script(tmp_path, [{"tool_calls": [call("shell_exec", command="touch x")]}, "ok"])
    result = invoke(*chat_args(workspace, script), input="go\n")
    assert result.exit_code == 0
    assert "no one to ask" in result.stderr
    assert not (workspace / "x").exists()
