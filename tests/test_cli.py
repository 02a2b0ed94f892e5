"""`allos run`, `allos sessions`, `allos config` through click's runner: options, output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import ANSI, NO_PROVIDER_ENV, call, invoke, write_script

from allos_core.sessions import Session


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "README.md").write_text("# Demo\nHello from the readme.\n", encoding="utf-8")
    return folder


def scripted(workspace: Path, turns: list, *args: str) -> list[str]:
    script = write_script(workspace.parent, turns)
    return ["run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), *args]


# -- answers and progress ------------------------------------------------------------------------


def test_answer_goes_to_stdout_and_progress_to_stderr(workspace):
    turns = [
        {"text": "Let me look.", "tool_calls": [call("read_file", path="README.md")]},
        "The README says hello.",
    ]
    result = invoke(*scripted(workspace, turns), "what does the readme say?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "The README says hello.\n"
    assert 'read_file(path="README.md")' in result.stderr
    assert "Let me look." in result.stderr
    assert "2 turns" in result.stderr and "tokens in" in result.stderr
    assert not ANSI.search(result.stderr + result.stdout)  # not a terminal: no colour codes


def test_no_stream_prints_the_answer_once(workspace):
    result = invoke(*scripted(workspace, ["Just one answer."]), "--no-stream", "hi")
    assert result.exit_code == 0
    assert result.stdout == "Just one answer.\n"


def test_task_from_stdin(workspace):
    result = invoke(*scripted(workspace, ["got it"]), "-", input="a task from a pipe\n")
    assert result.exit_code == 0
    assert result.stdout == "got it\n"


def test_missing_task_is_a_usage_error(workspace):
    result = invoke(*scripted(workspace, ["x"]), input="")
    assert result.exit_code == 2
    assert "give a task" in result.stderr


def test_write_file_allowed_by_rule_shows_the_diff(workspace):
    turns = [
        {"tool_calls": [call("write_file", path="notes.txt", content="first line\nsecond\n")]},
        "Wrote notes.txt.",
    ]
    result = invoke(*scripted(workspace, turns), "--allow", "write_file(notes.txt)", "write notes")
    assert result.exit_code == 0, result.stderr
    assert (workspace / "notes.txt").read_text() == "first line\nsecond\n"
    assert "allowed by rule write_file(notes.txt)" in result.stderr
    assert "+first line" in result.stderr
    assert result.stdout == "Wrote notes.txt.\n"


def test_ask_without_a_terminal_becomes_a_denial_that_says_how_to_allow(workspace):
    turns = [
        {"tool_calls": [call("shell_exec", command="touch made-by-shell")]},
        "I could not run it.",
    ]
    result = invoke(*scripted(workspace, turns), "run touch")
    assert result.exit_code == 0
    assert not (workspace / "made-by-shell").exists()
    assert "denied" in result.stderr
    assert "--allow 'shell_exec(touch*)'" in result.stderr


def test_yes_approves_asks_but_deny_rules_win(workspace):
    turns = [
        {
            "tool_calls": [
                call("shell_exec", command="touch approved"),
                call("shell_exec", command="rm README.md"),
            ]
        },
        "Done.",
    ]
    result = invoke(*scripted(workspace, turns), "-y", "--deny", "shell_exec(rm *)", "go")
    assert result.exit_code == 0, result.stderr
    assert (workspace / "approved").exists()
    assert (workspace / "README.md").exists()
    assert "denied by rule shell_exec(rm *)" in result.stderr
    assert "exit 0" in result.stderr  # the shell summary of the approved command


def test_tool_option_restricts_tools(workspace):
    turns = [{"tool_calls": [call("list_directory", path=".")]}, "ok"]
    result = invoke(*scripted(workspace, turns), "-t", "read_file", "list")
    assert result.exit_code == 0
    assert "unknown tool 'list_directory'" in result.stderr
    assert "available tools: read_file" in result.stderr


def test_json_lines_only_on_stdout(workspace):
    turns = [{"tool_calls": [call("read_file", path="README.md")]}, "Hello."]
    result = invoke(*scripted(workspace, turns), "--json", "read it")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "run_started"
    assert types[-1] == "stop"
    assert {"model_request", "text_delta", "tool_call", "permission", "tool_result"} <= set(types)
    assert events[-1]["reason"] == "answered"
    assert "Hello." not in result.stderr


def test_verbose_shows_requests_and_default_decisions(workspace):
    turns = [{"tool_calls": [call("read_file", path="README.md")]}, "Hello."]
    result = invoke(*scripted(workspace, turns), "-v", "read it")
    assert result.exit_code == 0
    assert "request 1:" in result.stderr
    assert "allowed" in result.stderr  # read_file's default allow, shown only with -v
    assert "Hello from the readme." in result.stderr  # tool output shown in full


# -- sessions ------------------------------------------------------------------------------------


def test_session_saved_then_resumed(workspace):
    first = invoke(*scripted(workspace, ["Noted: blue."]), "-s", "colours", "remember blue")
    assert first.exit_code == 0
    assert "session" in first.stderr and "colours.json" in first.stderr
    second = invoke(*scripted(workspace, ["You said blue."]), "-s", "colours", "what colour?")
    assert second.exit_code == 0
    session = Session.load("colours")
    users = [m.text for m in session.messages if m.role == "user"]
    assert users == ["remember blue", "what colour?"]

    listed = invoke("sessions", "list", "--json")
    assert [s["name"] for s in json.loads(listed.stdout)["sessions"]] == ["colours"]
    table = invoke("sessions", "list")
    assert "colours" in table.stdout and "remember blue" in table.stdout

    shown = invoke("sessions", "show", "colours")
    assert shown.exit_code == 0
    assert "remember blue" in shown.stdout and "You said blue." in shown.stdout
    as_json = json.loads(invoke("sessions", "show", "colours", "--json").stdout)
    assert as_json["name"] == "colours"
    assert [m["role"] for m in as_json["messages"]][-1] == "assistant"

    removed = invoke("sessions", "rm", "colours")
    assert removed.exit_code == 0 and "deleted" in removed.stderr
    again = invoke("sessions", "rm", "colours")
    assert again.exit_code == 1
    assert "no session 'colours'" in again.stderr


def test_sessions_list_when_empty():
    result = invoke("sessions", "list")
    assert result.exit_code == 0
    assert "no sessions" in result.stderr


def test_corrupt_session_is_an_error_without_traceback_unless_verbose(workspace, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = invoke(*scripted(workspace, ["x"]), "-s", str(bad), "hi")
    assert result.exit_code == 1
    assert "is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    verbose = invoke(*scripted(workspace, ["x"]), "-s", str(bad), "-v", "hi")
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.stderr
    assert bad.read_text() == "{not json"  # never overwritten


# -- exit codes ----------------------------------------------------------------------------------


def test_iteration_limit_exits_3(workspace):
    turns = [{"tool_calls": [call("read_file", path="README.md")]}] * 3 + ["never"]
    result = invoke(*scripted(workspace, turns), "--max-iterations", "2", "loop")
    assert result.exit_code == 3
    assert "--max-iterations" in result.stderr


def test_usage_limit_exits_3(workspace):
    turns = [{"tool_calls": [call("read_file", path="README.md")]}, "never"]
    result = invoke(*scripted(workspace, turns), "--max-total-tokens", "5", "spend")
    assert result.exit_code == 3
    assert "token limit" in result.stderr


def test_provider_error_exits_1_with_message_and_hint(workspace):
    result = invoke(*scripted(workspace, []), "hi")
    assert result.exit_code == 1
    assert "error: the script has no turn left" in result.stderr
    assert "hint: add turns to the script" in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupt_exits_130(workspace, monkeypatch):
    from allos_core.testing import ScriptedProvider

    async def interrupted(self, request):
        raise KeyboardInterrupt

    monkeypatch.setattr(ScriptedProvider, "complete", interrupted)
    result = invoke(*scripted(workspace, ["x"]), "-s", "cut", "hi")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert Session.load("cut").messages[-1].role == "user"  # saved, consistent


def test_unknown_provider_is_a_usage_error():
    result = invoke("run", "-p", "nope", "hi")
    assert result.exit_code == 2
    assert "unknown provider 'nope'" in result.stderr
    assert "scripted" in result.stderr  # lists what is installed


def test_unknown_tool_is_a_usage_error(workspace):
    result = invoke(*scripted(workspace, ["x"]), "-t", "teleport", "hi")
    assert result.exit_code == 2
    assert "unknown tool 'teleport'" in result.stderr
    assert "read_file" in result.stderr


def test_bad_option_is_a_usage_error():
    assert invoke("run", "--max-iterations", "0", "hi").exit_code == 2
    assert invoke("run", "--no-such-option", "hi").exit_code == 2


def test_invalid_rule_is_a_usage_error(workspace):
    result = invoke(*scripted(workspace, ["x"]), "--allow", "shell_exec(oops", "hi")
    assert result.exit_code == 2
    assert "--allow 'shell_exec(oops'" in result.stderr


def test_no_provider_configured_says_how_to_configure_each_and_the_demo(workspace):
    result = invoke("run", "--workspace", str(workspace), "hi", env=NO_PROVIDER_ENV)
    assert result.exit_code == 2
    assert "no model provider is configured" in result.stderr
    for needle in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ollama serve", "allos demo"):
        assert needle in result.stderr


def test_provider_from_environment_and_config(workspace, tmp_path, monkeypatch):
    script = write_script(tmp_path, ["from the config"])
    (workspace / "allos.toml").write_text(
        f'provider = "scripted"\nmodel = "{script}"\n', encoding="utf-8"
    )
    trusted = ("run", "--workspace", str(workspace), "--trust-workspace", "hi")
    result = invoke(*trusted, env=NO_PROVIDER_ENV)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "from the config\n"
    # the environment beats the files
    result = invoke(*trusted, env={**NO_PROVIDER_ENV, "ALLOS_PROVIDER": "x"})
    assert result.exit_code == 2
    assert "unknown provider 'x'" in result.stderr


def test_bad_config_file_names_file_line_and_key(workspace):
    config = workspace / "allos.toml"
    config.write_text('provider = "scripted"\n\n[permissions]\nalow = ["x"]\n', encoding="utf-8")
    result = invoke("run", "--workspace", str(workspace), "hi")
    assert result.exit_code == 2
    assert f"error: {config}:4: unknown key 'permissions.alow'" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_rules_apply(workspace, tmp_path):
    (workspace / "allos.toml").write_text(
        '[permissions]\nallow = ["shell_exec(touch *)"]\n', encoding="utf-8"
    )
    turns = [{"tool_calls": [call("shell_exec", command="touch from-config")]}, "done"]
    # the allow rules of a workspace file apply once the workspace is trusted
    result = invoke(*scripted(workspace, turns), "--trust-workspace", "go")
    assert result.exit_code == 0
    assert (workspace / "from-config").exists()


# -- config --------------------------------------------------------------------------------------


def test_config_show_lists_values_with_sources_and_masks_secrets(workspace, monkeypatch, tmp_path):
    user = Path(__import__("os").environ["ALLOS_CONFIG_FILE"])
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(
        'provider = "openai"\n[providers.openai]\napi_key = "sk-test-secret"\n', encoding="utf-8"
    )
    (workspace / "allos.toml").write_text("max_iterations = 7\n", encoding="utf-8")
    result = invoke(
        "config", "show", "--workspace", str(workspace), env={"ALLOS_MODEL": "gpt-test"}
    )
    assert result.exit_code == 0
    out = result.stdout
    assert "sk-test-secret" not in out
    assert "****" in out
    assert "env ALLOS_MODEL" in out
    assert f"workspace file {workspace / 'allos.toml'}" in out
    assert f"user file {user}" in out
    data = json.loads(invoke("config", "show", "--json", "--workspace", str(workspace)).stdout)
    assert data["max_iterations"] == 7
    assert data["providers"]["openai"]["api_key"] == "****"
    assert data["sources"]["provider"] == f"user file {user}"


def test_config_path(workspace):
    result = invoke("config", "path", "--workspace", str(workspace))
    assert result.exit_code == 0
    assert f"workspace: {workspace / 'allos.toml'} (not found)" in result.stdout
    assert "from ALLOS_CONFIG_FILE" in result.stdout


def test_config_show_reports_a_broken_file(workspace):
    (workspace / "allos.toml").write_text("model = \n", encoding="utf-8")
    result = invoke("config", "show", "--workspace", str(workspace))
    assert result.exit_code == 2
    assert f"{workspace / 'allos.toml'}:1: invalid TOML" in result.stderr


# -- startup -------------------------------------------------------------------------------------


def test_help_lists_the_commands():
    result = invoke("--help")
    for command in ("run", "chat", "demo", "sessions", "config", "plugins", "providers", "tools"):
        assert command in result.stdout
    run_help = invoke("run", "--help").stdout
    for option in (
        "--provider",
        "--allow",
        "--deny",
        "--yes",
        "--session",
        "--json",
        "--workspace",
    ):
        assert option in run_help


def test_sessions_list_marks_unreadable_files_and_show_reports_missing(tmp_path):
    import os

    folder = Path(os.environ["ALLOS_SESSIONS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.json").write_text("{oops", encoding="utf-8")
    listed = invoke("sessions", "list")
    assert listed.exit_code == 0
    assert "broken" in listed.stdout and "unreadable" in listed.stdout
    data = json.loads(invoke("sessions", "list", "--json").stdout)
    assert data["sessions"][0]["error"].startswith("unreadable")
    missing = invoke("sessions", "show", "nothing-here")
    assert missing.exit_code == 1
    assert "no session 'nothing-here'" in missing.stderr
    assert "allos sessions list" in missing.stderr


def test_sessions_rm_keeps_files_that_are_not_sessions(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    package = tmp_path / "package.json"
    package.write_text('{"name": "app"}', encoding="utf-8")
    refused = invoke("sessions", "rm", "package.json")
    assert refused.exit_code == 1
    assert "is not an Allos session file; not deleted" in refused.stderr
    assert "--force" in refused.stderr and package.exists()
    forced = invoke("sessions", "rm", "--force", "package.json")
    assert forced.exit_code == 0 and "deleted package.json" in forced.stderr
    assert not package.exists()

    folder = Path(os.environ["ALLOS_SESSIONS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.json").write_text("{oops", encoding="utf-8")
    assert invoke("sessions", "rm", "broken").exit_code == 1
    assert (folder / "broken.json").exists()
    assert invoke("sessions", "rm", "broken", "--force").exit_code == 0
    assert not (folder / "broken.json").exists()
    assert "--force" in invoke("sessions", "rm", "--help").stdout


def test_sessions_show_and_rm_find_name_json_in_the_sessions_folder(tmp_path, monkeypatch):
    from allos_core.messages import Message

    monkeypatch.chdir(tmp_path)
    Session("notes", messages=[Message.user("stored task")]).save()
    shown = invoke("sessions", "show", "notes.json")
    assert shown.exit_code == 0 and "stored task" in shown.stdout
    removed = invoke("sessions", "rm", "notes.json")
    assert removed.exit_code == 0
    assert not Session.open("notes").path.exists()
