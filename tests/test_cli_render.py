"""The event renderer and the permission prompt, fed events directly."""

from __future__ import annotations

import io
import json

from rich.console import Console

from allos_core import events as ev
from allos_core.cli.prompt import PermissionPrompter
from allos_core.cli.render import Renderer, colour_diff_lines, format_call, shorten
from allos_core.messages import Message, ToolCallPart, Usage
from allos_core.permissions import PermissionDecision, PermissionRequest
from allos_core.tools import ToolResult

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new\n"


def console(*, terminal: bool = False, color: bool = False) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return (
        Console(
            file=buffer,
            force_terminal=terminal,
            no_color=not color,
            color_system="standard" if color else None,
            width=200,
            highlight=False,
            soft_wrap=True,
        ),
        buffer,
    )


def renderer(**kwargs) -> tuple[Renderer, io.StringIO, io.StringIO]:
    err, err_buffer = console()
    out = io.StringIO()
    return Renderer(out=out, console=err, **kwargs), out, err_buffer


def call(name: str = "read_file", **arguments) -> ToolCallPart:
    return ToolCallPart(id="call_1", name=name, arguments=arguments)


def test_shorten_keeps_short_values_and_cuts_long_ones_in_the_middle():
    assert shorten("abc") == '"abc"'
    assert shorten(12) == "12"
    long = shorten("x" * 500, 60)
    assert len(long) < 80 and "chars)" in long
    assert format_call("grep", {"pattern": "a\nb", "n": 3}) == 'grep(pattern="a\\nb", n=3)'


def test_diff_lines_are_styled():
    styles = dict(colour_diff_lines(DIFF))
    assert styles["-old"] == "red" and styles["+new"] == "green"
    assert styles["@@ -1 +1 @@"] == "cyan" and styles["+++ b/x.py"] == "bold"


def test_streamed_answer_goes_to_stdout_once_when_live():
    r, out, err = renderer(live_answer=True)
    r(ev.ModelRequestStarted(1, 2, 100))
    r(ev.TextDelta("Hello "))
    r(ev.TextDelta("world"))
    r(ev.AssistantMessage(Message.assistant("Hello world")))
    assert out.getvalue() == "Hello world\n"
    assert r.answer_printed
    assert "Hello" not in err.getvalue()


def test_answer_written_whole_when_stdout_is_not_a_terminal():
    r, out, err = renderer(live_answer=False)
    r(ev.TextDelta("Let me "))
    r(ev.TextDelta("look."))
    r(ev.AssistantMessage(Message.assistant("Let me look.", [call(path="a")])))
    assert out.getvalue() == ""  # not the answer: it asked for a tool
    assert "Let me look." in err.getvalue()
    r(ev.TextDelta("Done."))
    r(ev.AssistantMessage(Message.assistant("Done.")))
    assert out.getvalue() == "Done.\n"


def test_tool_call_decisions_and_results():
    r, _out, err = renderer()
    edit = call("edit_file", path="x.py", old_text="old", new_text="new")
    r(ev.ToolCallRequested(edit))
    r(ev.PermissionDecided(edit, PermissionDecision.allow("rule edit_file(*.py)", "user rules")))
    r(ev.ToolResultEvent(edit, ToolResult("Edited x.py", metadata={"diff": DIFF})))
    shell = ToolCallPart(id="call_2", name="shell_exec", arguments={"command": "rm -rf build"})
    r(ev.ToolCallRequested(shell))
    r(ev.PermissionDecided(shell, PermissionDecision.deny("rule shell_exec(rm *)", "user rules")))
    r(ev.ToolResultEvent(shell, ToolResult.error("denied: rule shell_exec(rm *)")))
    text = err.getvalue()
    assert 'edit_file(path="x.py", old_text="old", new_text="new")' in text
    assert "allowed by rule edit_file(*.py)" in text
    assert "  -old" in text and "  +new" in text
    assert "denied by rule shell_exec(rm *)" in text
    assert text.count("rm *") == 1  # the denial is not repeated as an error result


def test_shell_output_is_summarised():
    r, _out, err = renderer()
    shell = call("shell_exec", command="seq 100")
    content = "exit code: 0\nstdout:\n" + "\n".join(str(i) for i in range(1, 101))
    r(ev.ToolResultEvent(shell, ToolResult(content, metadata={"exit_code": 0, "duration": 1.5})))
    text = err.getvalue()
    assert "exit 0 · 100 lines of output · 1.5s" in text
    assert "1\n" in text and "100\n" in text and "… 94 more lines" in text
    assert "50\n" not in text


def test_usage_line_and_interruption():
    r, _out, err = renderer()
    usage = Usage(input_tokens=1234, output_tokens=56, requests=2)
    r(ev.RunStopped("interrupted", None, usage, 2))
    text = err.getvalue()
    assert "interrupted" in text
    assert "1,234 tokens in · 56 out · 2 turns" in text


def test_json_lines_mode_prints_only_events():
    r, out, err = renderer(json_lines=True)
    r(ev.RunStarted("task", "scripted", "m"))
    r(ev.TextDelta("hi"))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"type": "run_started", "task": "task", "provider": "scripted", "model": "m"},
        {"type": "text_delta", "text": "hi"},
    ]
    assert err.getvalue() == ""


def test_no_spinner_or_colour_off_a_terminal():
    r, _out, _err = renderer()
    assert not r.spinner_enabled
    r.spin("thinking")  # does nothing
    assert r._status is None


def request(**overrides) -> PermissionRequest:
    fields = {
        "call": call("shell_exec", command="pytest -q"),
        "tool_name": "shell_exec",
        "arguments": {"command": "pytest -q", "timeout": 120},
        "subject": "pytest -q",
        "reason": "default for shell_exec",
        "preview": "$ pytest -q",
        "always_rule": "shell_exec(pytest -q)",
    }
    fields.update(overrides)
    return PermissionRequest(**fields)


def test_prompt_shows_the_command_and_reads_answers():
    out, buffer = console()
    answers = io.StringIO("maybe\na\n")
    prompter = PermissionPrompter(console=out, input=answers)
    assert prompter(request()) == "always"
    text = buffer.getvalue()
    assert "shell_exec wants to run:" in text
    assert "    pytest -q" in text
    assert '"timeout": 120' in text
    assert "please answer y, n or a" in text
    assert "always (shell_exec(pytest -q), this session)" in text
    assert text.count("pytest -q") == 3  # subject, always-rule, and once more in the re-ask


def test_prompt_end_of_input_is_no_and_edits_show_the_diff():
    out, buffer = console()
    edit = request(
        call=call("edit_file", path="x.py", old_text="old", new_text="new"),
        tool_name="edit_file",
        arguments={"path": "x.py", "old_text": "old", "new_text": "new"},
        subject="x.py",
        preview=DIFF,
        reason="rule edit_file(*.py)",
    )
    prompter = PermissionPrompter(console=out, input=io.StringIO(""))
    assert prompter(edit) == "no"
    text = buffer.getvalue()
    assert "+new" in text and "-old" in text
    assert "old_text" not in text  # the diff shows it
    assert "asking because of rule edit_file(*.py)" in text


def test_prompt_marks_previewed_calls_for_the_renderer():
    r, _out, _err = renderer()
    out, _buffer = console()
    edit = request(
        call=call("write_file", path="x.py", content="new"), preview=DIFF, subject="x.py"
    )
    assert PermissionPrompter(r, console=out, input=io.StringIO("y\n"))(edit) == "yes"
    assert "call_1" in r.previewed
