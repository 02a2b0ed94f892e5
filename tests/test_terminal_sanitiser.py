"""The terminal shows the truth: escape sequences, control characters, bidi overrides,
zero-width characters and rich markup from a model, a tool, a file or a session are shown as
visible text, never obeyed; `--json` stays exact."""

from __future__ import annotations

import io
import json

import pytest
from test_cli_render import DIFF, call, console, renderer, request

from allos_core import events as ev
from allos_core.cli.prompt import PermissionPrompter
from allos_core.messages import Message
from allos_core.terminal import neutralise, neutralised, safe_markup
from allos_core.tools import ToolResult

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # write the clipboard
OSC8 = "\x1b]8;;https://evil.example\x1b\\docs\x1b]8;;\x1b\\"  # a hidden link
CURSOR_UP = "\x1b[1A"
ERASE_LINE = "\x1b[2K"
RLO = "\u202e"
ZWSP = "\u200b"
ATTACKS = [OSC52, OSC8, CURSOR_UP, ERASE_LINE, RLO, ZWSP, "\r", "\x9b2K", "\x08", "\u2066"]
#: what may never reach the terminal raw
RAW = ["\x1b", "\x07", "\x9b", "\x08", RLO, ZWSP, "\u2066", "\r"]


def assert_inert(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"


@pytest.mark.parametrize("attack", ATTACKS)
def test_every_attack_form_is_shown_visibly(attack):
    shown = neutralise(f"git status{attack}touch pwned")
    assert_inert(shown)
    assert shown.startswith("git status") and shown.endswith("touch pwned")


def test_escapes_read_like_their_source():
    assert neutralise(ERASE_LINE) == "\\x1b[2K"
    assert neutralise(OSC52) == "\\x1b]52;c;cm0gLXJmIH4=\\x07"
    assert neutralise(f"a{RLO}b{ZWSP}c") == "a<U+202E>b<U+200B>c"
    assert neutralise("line\r\nnext\ttab") == "line\nnext\ttab"  # CRLF, LF and TAB are fine
    assert neutralise("plain text, ünïcödé, emoji 🙂") == "plain text, ünïcödé, emoji 🙂"


def test_neutralised_says_whether_anything_changed():
    assert neutralised("ok\r\n") == ("ok\n", False)
    assert neutralised(f"x{ERASE_LINE}") == ("x\\x1b[2K", True)


def test_markup_is_escaped_not_interpreted():
    out, buffer = console()
    out.print(f"→ {safe_markup('[bold red]FAKE[/] [link=https://x]y[/link]')}")
    assert buffer.getvalue() == "→ [bold red]FAKE[/] [link=https://x]y[/link]\n"


def test_model_text_tool_calls_and_results_reach_the_terminal_inert():
    r, out, err = renderer(live_answer=False)
    evil = f"{OSC52}[bold]x[/]{RLO}{ZWSP}{CURSOR_UP}{ERASE_LINE}"
    shell = call("shell_exec", command=f"git status{ERASE_LINE}\rtouch pwned")
    r(ev.AssistantMessage(Message.assistant(f"thinking {evil}", [shell])))
    r(ev.ToolCallRequested(shell))
    r(ev.ToolResultEvent(shell, ToolResult(f"out {evil}", metadata={"exit_code": 0})))
    read = call("read_file", path="a")
    r.verbose = True
    r(ev.ToolResultEvent(read, ToolResult(f"file {evil}")))
    r(ev.ToolResultEvent(read, ToolResult.error(f"failed {evil}")))
    text = err.getvalue()
    assert_inert(text)
    assert "touch pwned" in text and "\\x1b[2K" in text and "<U+202E>" in text
    assert "[bold]x[/]" in text  # shown as written, not applied


def test_a_diff_cannot_hide_an_added_line():
    r, _out, err = renderer()
    hidden = "--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n ok\n+evil()" + CURSOR_UP + ERASE_LINE + "\n"
    edit = call("edit_file", path="x", old_text="a", new_text="b")
    r(ev.ToolResultEvent(edit, ToolResult("Edited x", metadata={"diff": hidden})))
    text = err.getvalue()
    assert_inert(text)
    assert "+evil()\\x1b[1A\\x1b[2K" in text


def test_answer_to_a_terminal_is_inert_to_a_file_exact():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    r, _out, _err = renderer(live_answer=False)
    r.out = tty
    r.write_answer(f"done {OSC8}")
    assert_inert(tty.getvalue())
    r, out, _err = renderer(live_answer=False)
    r.write_answer(f"done {OSC8}")
    assert out.getvalue() == f"done {OSC8}\n"  # redirected: the exact bytes


def test_streamed_deltas_are_inert_even_split_mid_sequence():
    r, out, _err = renderer(live_answer=True)
    for piece in ("a\x1b", "[2K", RLO, "b"):
        r(ev.TextDelta(piece))
    assert out.getvalue() == "a\\x1b[2K<U+202E>b"


def test_json_lines_stay_exact():
    r, out, _err = renderer(json_lines=True)
    evil = f"{OSC52}{RLO}{ZWSP}[bold]"
    r(ev.TextDelta(evil))
    line = out.getvalue()
    assert "\x1b" not in line  # JSON escaping already makes it inert
    assert json.loads(line)["text"] == evil


def test_approval_prompt_shows_the_exact_command_and_says_it_neutralised_it():
    out, buffer = console()
    command = f"git status{ERASE_LINE}\r[bold]touch pwned{RLO}"
    asked = request(
        call=call("shell_exec", command=command),
        arguments={"command": command, "note": f"x{ZWSP}"},
        subject=command,
        preview=f"$ {command}",
        always_rule=f"shell_exec({command})",
    )
    PermissionPrompter(console=out, input=io.StringIO("n\n"))(asked)
    text = buffer.getvalue()
    assert_inert(text)
    assert "git status\\x1b[2K\\r[bold]touch pwned<U+202E>" in text
    assert '"note": "x<U+200B>"' in text
    assert "warning: this call contains control, escape or invisible characters" in text


def test_approval_prompt_diff_shows_a_hidden_line_and_warns():
    out, buffer = console()
    diff = DIFF + f"+harmless(){CURSOR_UP}{ERASE_LINE}\r+evil()\n"
    edit = request(
        call=call("edit_file", path="x.py", old_text="old", new_text="new"),
        tool_name="edit_file",
        arguments={"path": "x.py", "old_text": "old", "new_text": "new"},
        subject="x.py",
        preview=diff,
    )
    PermissionPrompter(console=out, input=io.StringIO("n\n"))(edit)
    text = buffer.getvalue()
    assert_inert(text)
    assert "+harmless()\\x1b[1A\\x1b[2K\\r+evil()" in text
    assert "warning:" in text


def test_a_plain_prompt_has_no_warning():
    out, buffer = console()
    PermissionPrompter(console=out, input=io.StringIO("n\n"))(request())
    assert "warning" not in buffer.getvalue()


def test_sessions_show_prints_a_crafted_session_inert(tmp_path):
    from cli_support import invoke

    from allos_core.messages import ToolCallPart
    from allos_core.sessions import Session

    evil = f"{OSC52}{RLO}{ERASE_LINE}[bold]"
    shell = ToolCallPart(id="c1", name="shell_exec", arguments={"command": f"ls{evil}"})
    messages = [
        Message.user(f"task {evil}"),
        Message.assistant(f"answer {evil}", [shell]),
    ]
    path = tmp_path / "evil.json"
    Session(path=path, messages=messages).save()
    result = invoke("sessions", "show", str(path))
    assert result.exit_code == 0, result.stderr
    assert_inert(result.stdout)
    assert "\\x1b]52" in result.stdout and "[bold]" in result.stdout
