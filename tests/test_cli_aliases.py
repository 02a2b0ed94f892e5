"""The plan's short forms: `allos "TASK"`, `allos -i`, `--auto-approve` — beside today's commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import call, invoke, run_allos, subprocess_env, write_script

from allos_core.cli.aliases import expand_aliases

COMMANDS = ["run", "chat", "demo", "sessions", "config", "plugins", "providers", "tools"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def scripted(tmp_path: Path, workspace: Path, turns: list) -> list[str]:
    script = write_script(tmp_path, turns)
    return ["-p", "scripted", "-m", str(script), "--workspace", str(workspace)]


def test_a_quoted_task_is_run(tmp_path, workspace):
    result = invoke("say hello", *scripted(tmp_path, workspace, ["Hello!"]))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Hello!\n"


def test_options_may_come_before_the_task(tmp_path, workspace):
    result = invoke(*scripted(tmp_path, workspace, ["Done."]), "fix the tests")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Done.\n"


def test_auto_approve_is_yes(tmp_path, workspace):
    turns = [{"tool_calls": [call("write_file", path="a.txt", content="x")]}, "Wrote it."]
    refused = invoke("write a.txt", *scripted(tmp_path, workspace, turns))
    assert not (workspace / "a.txt").exists() and "no one to ask" in refused.stderr

    approved = invoke("write a.txt", "--auto-approve", *scripted(tmp_path, workspace, turns))
    assert approved.exit_code == 0, approved.stderr
    assert (workspace / "a.txt").read_text() == "x"


def test_auto_approve_on_run_and_chat_help():
    assert "--auto-approve" in invoke("run", "--help").stdout
    assert "--auto-approve" in invoke("chat", "--help").stdout


@pytest.mark.parametrize("flag", ["-i", "--interactive"])
def test_interactive_flag_opens_a_chat(tmp_path, workspace, flag):
    result = invoke(flag, *scripted(tmp_path, workspace, ["Hi, chat here."]), input="hello\n")
    assert result.exit_code == 0, result.stderr
    assert "Hi, chat here." in result.stdout
    assert "allos chat -s chat-" in result.stderr  # how to resume: it was a chat


def test_help_still_lists_the_commands_and_names_the_short_forms():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "chat", "sessions", "providers"):
        assert f"  {command} " in result.stdout
    assert 'allos "TASK"' in result.stdout and "allos -i" in result.stdout


def test_commands_keep_their_meaning():
    assert invoke("sessions", "list").exit_code == 0
    assert invoke("providers", "list", "--json").stdout.lstrip().startswith("{")


@pytest.mark.parametrize("word", ["sesions", "nope"])
def test_a_single_unknown_word_is_not_sent_to_a_model(word):
    result = invoke(word, "list")
    assert result.exit_code == 2
    assert f"No such command '{word}'" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fix the tests", "-p", "openai"], ["run", "fix the tests", "-p", "openai"]),
        (["-p", "openai", "fix"], ["run", "-p", "openai", "fix"]),
        (["refactor"], ["refactor"]),  # one word reads as a command name
        (["refactor it"], ["run", "refactor it"]),
        (["Refactor"], ["run", "Refactor"]),
        (["-"], ["run", "-"]),
        (["-i", "-p", "ollama"], ["chat", "-p", "ollama"]),
        (["-p", "ollama", "--interactive"], ["chat", "-p", "ollama"]),
        (["run", "x"], ["run", "x"]),
        (["--help"], ["--help"]),
        (["--version"], ["--version"]),
        (["sesions"], ["sesions"]),
        (["--", "-i is a task"], ["run", "--", "-i is a task"]),
    ],
)
def test_expand_aliases(args, expected):
    assert expand_aliases(args, COMMANDS) == expected


def test_installed_command_runs_a_quoted_task(tmp_path, workspace):
    script = write_script(tmp_path, ["From the real command."])
    env = subprocess_env(tmp_path)
    result = run_allos(
        "what is here?",
        "-p",
        "scripted",
        "-m",
        str(script),
        "--workspace",
        str(workspace),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "From the real command.\n"
