"""First-run friction found on a fresh machine (issue 14): each point as a user meets it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import NO_PROVIDER_ENV, call, invoke, write_script


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "README.md").write_text("# Demo\n", encoding="utf-8")
    return folder


def test_a_missing_api_key_is_a_configuration_error_exit_2(workspace):
    # given openai chosen with no key and the official endpoint
    result = invoke("run", "-p", "openai", "--workspace", str(workspace), "hi", env=NO_PROVIDER_ENV)
    # then it is reported like "no provider configured": exit 2, naming the variable
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_script_tool_call_without_a_name_is_one_line_naming_the_turn(workspace):
    script = write_script(workspace.parent, ["ok", {"tool_calls": [{"arguments": {}}]}])
    result = invoke("run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), "x")
    assert result.exit_code == 2
    assert "turn 2: tool call 1: needs a 'name'" in result.stderr
    assert "docs/cli.md" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        ([42], "turn 1: must be text or a mapping"),
        ([{"txt": "typo"}], "turn 1: unknown key 'txt'"),
        ([{"tool_calls": {"name": "x"}}], "turn 1: 'tool_calls' must be a list"),
        ([{"tool_calls": ["read_file"]}], "turn 1: tool call 1: must be a mapping"),
        ([{"tool_calls": [{"name": "a", "arguments": "{}"}]}], "'arguments' must be a mapping"),
        (["a", {"usage": {"input_tokens": "many"}}], "turn 2: 'usage' must map"),
    ],
)
def test_every_malformed_script_is_refused_before_the_run(workspace, turns, problem):
    script = write_script(workspace.parent, turns)
    result = invoke("run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), "x")
    assert result.exit_code == 2
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_run_help_points_at_the_script_format():
    result = invoke("run", "--help")
    assert "docs/cli.md" in result.stdout


def _loop(workspace: Path) -> list[str]:
    turns = [{"tool_calls": [call("read_file", path="README.md")]}] * 3 + ["never"]
    script = write_script(workspace.parent, turns)
    return ["run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace)]


def test_iteration_limit_without_a_session_says_how_to_rerun_with_one(workspace):
    result = invoke(*_loop(workspace), "--max-iterations", "2", "loop")
    assert result.exit_code == 3
    assert "resume" not in result.stderr.split("add -s NAME")[0]
    assert "add -s NAME" in result.stderr


def test_iteration_limit_with_a_session_says_how_to_resume_it(workspace):
    result = invoke(*_loop(workspace), "-s", "looping", "--max-iterations", "2", "loop")
    assert result.exit_code == 3
    assert "allos run -s looping --max-iterations N" in result.stderr


# -- the demo ------------------------------------------------------------------------------------


def test_demo_with_a_missing_provider_plugin_copies_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "allos-anthropic")
    folder = tmp_path / "d"
    result = invoke("demo", "-p", "anthropic", "--dir", str(folder))
    assert result.exit_code == 2
    assert "anthropic" in result.stderr
    assert not folder.exists()


def test_demo_that_cannot_start_removes_its_copy(tmp_path):
    # given anthropic installed but no key: the run fails before the model answers
    folder = tmp_path / "d"
    env = {**NO_PROVIDER_ENV, "TMPDIR": str(tmp_path)}
    result = invoke("demo", "-p", "anthropic", "--dir", str(folder), env=env)
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.stderr
    assert folder.is_dir() and not any(folder.iterdir())  # --dir folders are kept, emptied


def test_demo_next_steps_are_commands_the_user_can_run(tmp_path, monkeypatch):
    # given the demo started with uv installed into a venv: ENV/bin/python -m uv run allos demo
    monkeypatch.chdir(tmp_path)
    fake_uv_bin = tmp_path / ".uv" / "bin"
    fake_uv_bin.mkdir(parents=True)
    (fake_uv_bin / "python").write_text("")
    monkeypatch.setenv("UV", str(fake_uv_bin / "uv"))
    result = invoke("demo", "--dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.stderr
    assert ".uv/bin/python -m uv run allos sessions show" in result.stderr
    assert ".uv/bin/python -m uv run allos demo -p openai" in result.stderr
    assert "\n  allos " not in result.stderr


def test_allos_command_forms(tmp_path):
    from allos_core.cli.invocation import allos_command

    standalone = tmp_path / "standalone"
    standalone.mkdir()
    assert allos_command({"UV": str(standalone / "uv")}) == "uv run allos"
    with_python = tmp_path / "py" / "bin"
    with_python.mkdir(parents=True)
    (with_python / "python3").write_text("")
    (with_python / "python3").chmod(0o755)
    on_path = {"UV": str(with_python / "uv"), "PATH": str(with_python)}
    assert allos_command(on_path) == "python3 -m uv run allos"
    # another environment's python on PATH is a link to the same binary, but has no uv
    other = tmp_path / "venv" / "bin"
    other.mkdir(parents=True)
    (other / "python3").symlink_to(with_python / "python3")
    linked = {"UV": str(with_python / "uv"), "PATH": str(other)}
    assert allos_command(linked) == f"{with_python / 'python3'} -m uv run allos"
    elsewhere = {"UV": str(with_python / "uv"), "PATH": ""}
    assert allos_command(elsewhere) == f"{with_python / 'python3'} -m uv run allos"
    script = tmp_path / "allos"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert allos_command({"PATH": str(tmp_path)}, argv0=str(script)) == "allos"
    assert allos_command({"PATH": ""}, argv0="/elsewhere/allos").endswith(" -m allos_core")


def test_python_m_allos_core_runs_the_cli():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "allos_core", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "allos" in done.stdout.lower()


def test_demo_run_from_a_venv_not_on_path_prints_a_runnable_command(tmp_path):
    # given allos started by its full path (its folder is not on the user's PATH)
    import subprocess
    import sys

    from cli_support import ALLOS, subprocess_env

    env = subprocess_env(tmp_path, PATH="/usr/bin:/bin")
    env.pop("UV", None)
    done = subprocess.run(
        [ALLOS, "demo", "--dir", str(tmp_path / "d")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # then the next steps name this interpreter, not a bare `allos` the shell cannot find
    assert f"{sys.executable} -m allos_core demo -p openai" in done.stderr
    assert "\n  allos " not in done.stderr


def test_under_uv_run_the_projects_own_python_on_path_is_not_the_users(tmp_path, monkeypatch):
    # given `uv run` put the project's venv first on PATH, and uv lives in that venv (README)
    import sys
    from pathlib import Path

    from allos_core.cli.invocation import allos_command

    ours = Path(sys.executable).parent
    monkeypatch.chdir(ours.parent.parent)
    command = allos_command({"UV": str(ours / "uv"), "PATH": f"{ours}:/usr/bin"})
    # then the command names that venv's python, which the user's shell can run
    assert command.endswith("-m uv run allos")
    assert command.split()[0] in (
        f"{ours.parent.name}/bin/python3",
        f"{ours.parent.name}/bin/python",
    )
