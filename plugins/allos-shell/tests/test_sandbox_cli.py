"""The sandbox as a user meets it: `allos run` with the scripted provider, `allos sandbox status`,
the `--sandbox` flag, `[sandbox] auto_allow`, and the permission hook."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import allos_shell
import pytest
from allos_shell.sandbox import landlock
from cli_support import call, invoke, write_script

from allos_core.messages import ToolCallPart
from allos_core.permissions import PermissionRules, decide_permission
from allos_core.tools import ToolContext

needs_landlock = pytest.mark.skipif(landlock.abi_version() < 4, reason="needs Landlock ABI 4")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (tmp_path / "outside").mkdir()
    return folder


@pytest.fixture
def user_config(tmp_path: Path) -> Path:
    return tmp_path / "user-config.toml"


def run(workspace: Path, user_config: Path, command: str, *args: str, env=None):
    script = write_script(
        workspace.parent, [{"tool_calls": [call("shell_exec", command=command)]}, "done"]
    )
    environment = {"ALLOS_CONFIG_FILE": str(user_config), **(env or {})}
    argv = ["run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), *args, "go"]
    return invoke(*argv, env=environment)


# -- through allos run ----------------------------------------------------------------------------


@needs_landlock
def test_run_header_says_once_what_the_sandbox_enforces(workspace, user_config):
    result = run(workspace, user_config, "true", "-y", "-v")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("notice: sandbox workspace-write (Landlock ABI") == 1
    assert "no network" in result.stderr


@needs_landlock
def test_sandboxed_command_cannot_write_outside(workspace, user_config, tmp_path):
    target = tmp_path / "outside" / "pwned"
    result = run(workspace, user_config, f"echo x > {target}", "-y")
    assert result.exit_code == 0, result.stderr
    assert not target.exists()


def test_sandbox_off_flag_warns_and_does_not_confine(workspace, user_config, tmp_path):
    target = tmp_path / "outside" / "made"
    result = run(workspace, user_config, f"touch {target}", "-y", "--sandbox", "off")
    assert result.exit_code == 0, result.stderr
    assert "warning: sandbox off" in result.stderr
    assert target.exists()


@needs_landlock
def test_untrusted_workspace_cannot_switch_the_sandbox_off(workspace, user_config, tmp_path):
    (workspace / "allos.toml").write_text('[sandbox]\nmode = "off"\n', encoding="utf-8")
    target = tmp_path / "outside" / "pwned"
    result = run(workspace, user_config, f"touch {target}", "-y", "-v")
    assert "notice: sandbox workspace-write" in result.stderr
    assert not target.exists()


def test_api_key_never_reaches_the_conversation(workspace, user_config, tmp_path):
    session = tmp_path / "s.json"
    result = run(
        workspace, user_config, 'echo "k=$ANTHROPIC_API_KEY"', "-y", "-v", "-s", str(session),
        env={"ANTHROPIC_API_KEY": "sk-ant-e2e-secret"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "sk-ant-e2e-secret" not in result.stdout + result.stderr
    assert "sk-ant-e2e-secret" not in session.read_text()
    assert "secret variable(s) withheld from commands" in result.stderr


@needs_landlock
def test_auto_allow_runs_confined_commands_without_a_prompt(workspace, user_config):
    user_config.write_text("[sandbox]\nauto_allow = true\n", encoding="utf-8")
    result = run(workspace, user_config, "touch made")  # no -y, no terminal to ask
    assert result.exit_code == 0, result.stderr
    assert (workspace / "made").exists()
    assert "sandboxed" in result.stderr


@needs_landlock
def test_auto_allow_never_beats_a_deny_rule(workspace, user_config):
    user_config.write_text("[sandbox]\nauto_allow = true\n", encoding="utf-8")
    result = run(workspace, user_config, "touch made", "--deny", "shell_exec(touch *)")
    assert not (workspace / "made").exists()
    assert "denied by rule shell_exec(touch *)" in result.stderr


def test_sandbox_status_command(workspace, user_config):
    result = invoke("sandbox", "status", "--workspace", str(workspace),
                    env={"ALLOS_CONFIG_FILE": str(user_config), "GH_TOKEN": "x"})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for label in ("mode", "landlock", "file writes", "network", "protected", "environment"):
        assert label in result.stdout
    assert "GH_TOKEN" in result.stdout and "x" not in result.stdout.split("GH_TOKEN")[1][:3]


# -- the permission hook ---------------------------------------------------------------------------


def decision(tmp_path: Path, command: str, sandbox: dict, rules=None, abi=None, monkeypatch=None):
    from allos_core.plugins import create_plugin_manager

    manager = create_plugin_manager([allos_shell])
    tool = manager.get_tool("shell_exec")
    context = ToolContext(workspace=tmp_path, settings={"sandbox": sandbox})
    call_part = ToolCallPart(id="c", name="shell_exec", arguments={"command": command})
    args = tool.validate({"command": command})
    return decide_permission(tool, call_part, args, context, rules=rules, plugin_manager=manager)


@needs_landlock
def test_hook_allows_confined_commands_when_opted_in(tmp_path):
    answer = decision(tmp_path, "make build", {"auto_allow": True})
    assert answer.decision == "allow" and answer.reason.startswith("sandboxed")


@needs_landlock
def test_hook_still_asks_for_unknown_programs_when_a_deny_rule_exists(tmp_path):
    rules = PermissionRules.from_lists(deny=["shell_exec(rm *)"])
    answer = decision(tmp_path, "$X -rf build", {"auto_allow": True}, rules)
    assert answer.decision == "deny"


def test_hook_does_not_auto_allow_without_a_sandbox(tmp_path, monkeypatch):
    from allos_shell.sandbox import policy

    monkeypatch.setattr(policy, "landlock_abi", lambda: 0)
    answer = decision(tmp_path, "make build", {"auto_allow": True})
    assert answer.decision == "ask"


def test_hook_does_not_auto_allow_when_off(tmp_path):
    answer = decision(tmp_path, "make build", {"auto_allow": True, "mode": "off"})
    assert answer.decision == "ask"


def test_default_denies_beat_auto_allow(tmp_path):
    answer = decision(tmp_path, "rm -rf ~", {"auto_allow": True})
    assert answer.decision == "deny"


# -- the installed command, as a user runs it ------------------------------------------------------


@needs_landlock
def test_installed_allos_confines_a_hostile_script_end_to_end(workspace, tmp_path):
    # given a scripted model that tries to escape, plant a hook, read the key and phone home
    from cli_support import run_allos, subprocess_env

    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    outside = tmp_path / "outside" / "pwned"
    hook = workspace / ".git" / "hooks" / "post-checkout"
    connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), 3)"
    commands = [
        f"touch {outside}",
        f"printf '#!/bin/sh\\ntouch {outside}\\n' > {hook} && chmod +x {hook}",
        'echo "key=[$ANTHROPIC_API_KEY]"',
        f'{sys.executable} -c "{connect}" && echo connected',
    ]
    turns = [{"tool_calls": [call("shell_exec", command=c) for c in commands]}, "done"]
    script = write_script(tmp_path, turns)
    env = subprocess_env(tmp_path, ANTHROPIC_API_KEY="sk-ant-e2e-hostile")
    try:
        # when it runs with every command approved (-y)
        result = run_allos(
            "run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace),
            "-y", "--json", "go", env=env,
        )  # fmt: skip
    finally:
        server.close()
    # then nothing escaped
    assert result.returncode == 0, result.stderr
    assert not outside.exists() and not hook.exists()
    assert "sk-ant-e2e-hostile" not in result.stdout + result.stderr
    results = [json.loads(line) for line in result.stdout.splitlines() if '"tool_result"' in line]
    texts = [str(r) for r in results]
    assert any("Permission denied" in t for t in texts)
    assert any("put back" in t or "Read-only file system" in t for t in texts)
    assert any("key=[]" in t for t in texts)
    assert any("PermissionError" in t for t in texts)
    assert not any("stdout:\\nconnected" in t for t in texts)


def test_missing_sandbox_is_said_once_and_commands_keep_asking(workspace, user_config, monkeypatch):
    # given a machine without Landlock and a user who opted in to auto_allow
    from allos_shell.sandbox import policy

    monkeypatch.setattr(policy, "landlock_abi", lambda: 0)
    user_config.write_text("[sandbox]\nauto_allow = true\n", encoding="utf-8")
    # when a command is run without -y and without a terminal
    result = run(workspace, user_config, "touch made")
    # then the run says once that there is no sandbox, and the command was not auto-allowed
    assert result.stderr.count("warning: no sandbox for commands") == 1
    assert not (workspace / "made").exists()


# -- the red-team corpus of issue #9, through allos run --------------------------------------------


def test_hidden_substitution_is_not_allowed_by_an_allow_rule(workspace, user_config):
    result = run(
        workspace, user_config, "git status ~$(touch X)", "--allow", "shell_exec(git status*)"
    )
    assert not (workspace / "X").exists()
    assert "denied" in result.stderr


@pytest.mark.parametrize(
    "command",
    ["rm -rf ${HOME%/}", "{rm,-rf,~}", "bash -c -- 'rm -rf ~'", "find -L ~ -delete",
     "echo ~ | xargs rm -rf", "cd && rm -rf *"],
)  # fmt: skip
def test_default_denies_hold_under_yes_through_allos_run(workspace, user_config, tmp_path, command):
    home = tmp_path / "home"
    (home / "keep").mkdir(parents=True)
    result = run(workspace, user_config, command, "-y", env={"HOME": str(home)})
    assert (home / "keep").is_dir()
    assert "blocked by allos-shell's default deny rules" in result.stderr


@pytest.mark.parametrize(
    "command",
    ["command rm README", "/bin/rm README", "\\rm README", "r''m README", "env rm README",
     "echo README | xargs rm", 'bash -c "rm README"', "X=rm; $X README"],
)  # fmt: skip
def test_user_deny_rule_holds_through_allos_run(workspace, user_config, command):
    (workspace / "README").write_text("keep me\n")
    result = run(workspace, user_config, command, "-y", "--deny", "shell_exec(rm *)")
    assert (workspace / "README").exists(), result.stderr
    assert "denied by rule shell_exec(rm *)" in result.stderr
