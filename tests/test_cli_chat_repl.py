"""`allos chat` as a REPL at a real terminal (prompt_toolkit): history across chats, completion,
`@path` attachments, /add and /undo — driven through a pseudo-terminal like a person."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_support import ALLOS, call, invoke, subprocess_env, write_script

from allos_core.sessions import Session

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

PROMPT = "›"
TIMEOUT = 30
UP, TAB = "\x1b[A", "\t"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes_for_the_model.txt").write_text("the secret word is tangerine\n")
    return folder


def spawn(tmp_path: Path, workspace: Path, script: Path, *args: str):
    # a real terminal type (prompt_toolkit), without cursor-position requests pexpect can't answer
    env = subprocess_env(tmp_path, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    return pexpect.spawn(
        ALLOS,
        ["chat", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), *args],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 200),
    )


def user_messages(tmp_path: Path, name: str) -> list[str]:
    session = Session.load(tmp_path / "home" / "sessions" / f"{name}.json")
    return [m.text for m in session.messages if m.role == "user"]


def test_history_is_kept_across_chats(tmp_path, workspace):
    script = write_script(tmp_path, ["one", "two"])
    first = spawn(tmp_path, workspace, script, "-s", "h1")
    first.expect(PROMPT)
    first.sendline("remember this line")
    first.expect_exact("one")
    first.expect(PROMPT)
    first.sendeof()
    first.expect(pexpect.EOF)
    first.close()
    second = spawn(tmp_path, workspace, script, "-s", "h2")
    second.expect(PROMPT)
    second.send(UP)  # the previous chat's input comes back
    second.send("\r")
    second.expect_exact("one")
    second.expect(PROMPT)
    second.sendeof()
    second.expect(pexpect.EOF)
    second.close()
    assert user_messages(tmp_path, "h2") == ["remember this line"]


def test_tab_completes_slash_commands_and_at_paths_and_the_file_is_attached(tmp_path, workspace):
    script = write_script(tmp_path, ["it says tangerine"])
    child = spawn(tmp_path, workspace, script, "-s", "c1")
    child.expect(PROMPT)
    child.send("/und" + TAB)
    child.expect_exact("do")  # completed to /undo on screen
    child.send("\r")
    child.expect_exact("nothing to undo")
    child.expect(PROMPT)
    child.send("what does @notes_f" + TAB)
    child.expect_exact("or_the_model.txt")  # the rest of the name, completed
    child.send(" say?\r")
    child.expect_exact("it says tangerine")
    child.expect(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    [message] = user_messages(tmp_path, "c1")
    assert message.startswith("what does @notes_for_the_model.txt say?")
    assert '<file path="notes_for_the_model.txt">' in message
    assert "tangerine" in message


def test_undo_in_chat_restores_the_file_and_drops_the_turn(tmp_path, workspace):
    target = workspace / "notes_for_the_model.txt"
    script = write_script(
        tmp_path,
        [{"tool_calls": [call("write_file", path=target.name, content="overwritten\n")]}, "done"],
    )
    child = spawn(tmp_path, workspace, script, "-s", "u1", "-y")
    child.expect(PROMPT)
    child.sendline("overwrite the notes")
    child.expect_exact("done")
    child.expect(PROMPT)
    assert target.read_text() == "overwritten\n"
    child.sendline("/undo")
    child.expect_exact("restored notes_for_the_model.txt")
    child.expect(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert target.read_text() == "the secret word is tangerine\n"
    assert user_messages(tmp_path, "u1") == []


# -- through click's runner (no terminal: plain lines) ---------------------------------------------


def test_a_mention_of_a_denied_file_is_not_sent(tmp_path, workspace):
    (workspace / ".env").write_text("API_KEY=hunter2\n")
    script = write_script(tmp_path, ["should never be asked"])
    result = invoke(
        "chat", "-p", "scripted", "-m", str(script), "--workspace", str(workspace),
        "--deny", "read_file(.env)", "-s", "d1",
        input="show me @.env\n/exit\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "cannot attach .env" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert user_messages_at(result, tmp_path) == []


def user_messages_at(result, tmp_path: Path) -> list[str]:
    import os

    path = Path(os.environ["ALLOS_SESSIONS_DIR"]) / "d1.json"
    if not path.exists():
        return []
    return [m.text for m in Session.load(path).messages if m.role == "user"]


def test_a_mention_outside_the_workspace_is_refused(tmp_path, workspace):
    (tmp_path / "outside.txt").write_text("private\n")
    script = write_script(tmp_path, ["never"])
    result = invoke(
        "chat", "-p", "scripted", "-m", str(script), "--workspace", str(workspace),
        input="read @../outside.txt\n/exit\n",
    )  # fmt: skip
    assert "cannot attach ../outside.txt" in result.stderr
    assert "private" not in result.stdout + result.stderr


def test_add_attaches_to_the_next_message_and_cost_and_session_counts_agree(tmp_path, workspace):
    script = write_script(tmp_path, ["got it"])
    result = invoke(
        "chat", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), "-s", "a1",
        input="/add notes_for_the_model.txt\nsummarise\n/cost\n/session\n/exit\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "added notes_for_the_model.txt" in result.stderr
    assert "tokens in" in result.stderr
    listed = invoke("sessions", "list", "--json")
    import json

    [entry] = [s for s in json.loads(listed.stdout)["sessions"] if s["name"] == "a1"]
    assert f"{entry['messages']} messages" in result.stderr  # /session agrees with sessions list
    import os

    session = Session.load(Path(os.environ["ALLOS_SESSIONS_DIR"]) / "a1.json")
    [message] = [m.text for m in session.messages if m.role == "user"]
    assert "tangerine" in message
