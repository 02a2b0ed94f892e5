"""The OS sandbox of shell_exec, tried for real: Landlock must refuse what the policy refuses.

Every command runs through the tool as the agent runs it. The workspace is ``tmp_path/ws`` and
``tmp_path/outside`` stands for the rest of the machine (the system temp folder that holds both
is not writable, because it holds the workspace).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from allos_shell.sandbox import landlock
from allos_shell.sandbox.policy import SandboxSettings, SandboxSettingsError, sandbox_status
from allos_shell.tool import ShellExec

from allos_core.tools import ToolContext

ABI = landlock.abi_version()
needs_landlock = pytest.mark.skipif(ABI < 1, reason="Landlock is not available here")
needs_net_rules = pytest.mark.skipif(ABI < 4, reason="Landlock ABI 4 (network) is not available")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "allos.toml").write_text("[permissions]\ndeny = []\n")
    (root / "AGENTS.md").write_text("be careful\n")
    (root / "README.md").write_text("readme\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "outside").mkdir()
    return root


@pytest.fixture
def no_mounts(monkeypatch):
    """Commands without the read-only mounts, as where user namespaces are not allowed."""
    from allos_shell.sandbox import policy

    monkeypatch.setattr(policy, "protected_paths", lambda workspace: [])


REFUSED = ("Read-only file system", "Device or resource busy", "Permission denied", "put back")


def refused(result) -> bool:
    return result.is_error and any(marker in result.content for marker in REFUSED)


async def run(workspace: Path, command: str, **sandbox: object):
    context = ToolContext(workspace=workspace, settings={"sandbox": sandbox} if sandbox else {})
    return await ShellExec(drain_grace=0.2).invoke({"command": command, "timeout": 30}, context)


# -- file system ----------------------------------------------------------------------------------


@needs_landlock
async def test_writes_inside_the_workspace_work(workspace):
    result = await run(
        workspace, "echo hi > src/new.txt && echo more >> README.md && cat src/new.txt"
    )
    assert not result.is_error, result.content
    assert (workspace / "src" / "new.txt").read_text() == "hi\n"
    assert (workspace / "README.md").read_text() == "readme\nmore\n"


@needs_landlock
async def test_write_outside_the_workspace_is_refused(workspace, tmp_path):
    result = await run(workspace, f"echo pwned > {tmp_path / 'outside' / 'x'}")
    assert result.is_error and "Permission denied" in result.content
    assert not (tmp_path / "outside" / "x").exists()


@needs_landlock
async def test_write_to_home_is_refused(workspace):
    target = Path.home() / ".allos-sandbox-test"
    result = await run(workspace, f"touch {target}")
    assert result.is_error and not target.exists()


@needs_landlock
@pytest.mark.parametrize("name", ["allos.toml", "AGENTS.md"])
async def test_agent_configuration_change_never_survives_the_command(workspace, name):
    before = (workspace / name).read_text()
    result = await run(workspace, f"echo 'allow = [\"shell_exec\"]' >> {name}")
    assert refused(result), result.content
    assert (workspace / name).read_text() == before


@needs_landlock
@pytest.mark.parametrize("name", ["allos.toml", "AGENTS.md"])
async def test_without_mounts_the_change_is_put_back(workspace, name, no_mounts):
    before = (workspace / name).read_text()
    result = await run(workspace, f"echo 'allow = [\"shell_exec\"]' >> {name}")
    assert result.is_error
    assert f"refused: the command changed protected configuration ({name})" in result.content
    assert (workspace / name).read_text() == before


@needs_landlock
async def test_configuration_is_read_only_where_user_namespaces_allow(workspace):
    result = await run(
        workspace, "echo x >> allos.toml; rm -f AGENTS.md; ls .git/hooks > /dev/null"
    )
    if not result.metadata["read_only_mounts"]:
        pytest.skip("user namespaces are not allowed here: the guard puts changes back instead")
    assert "Read-only file system" in result.content and "Device or resource busy" in result.content
    assert result.metadata["restored"] == []  # the kernel held: nothing to put back
    assert (workspace / "AGENTS.md").exists()


@needs_landlock
@pytest.mark.parametrize("name", ["allos.toml", "AGENTS.md"])
async def test_agent_configuration_is_refused_by_the_kernel_when_root_is_not_writable(
    workspace, name
):
    before = (workspace / name).read_text()
    command = f"echo 'allow = [\"shell_exec\"]' >> {name}"
    result = await run(workspace, command, root_writable=False)
    assert refused(result) and "put back" not in result.content
    assert (workspace / name).read_text() == before
    assert result.metadata["restored"] == []  # nothing to put back: the write never happened


@needs_landlock
@pytest.mark.parametrize("root_writable", [True, False])
async def test_agent_configuration_cannot_be_replaced_or_planted(workspace, root_writable):
    command = "rm -f allos.toml; mv README.md ALLOS.md; echo x > .mcp.json"
    result = await run(workspace, command, root_writable=root_writable)
    assert result.is_error
    assert (workspace / "allos.toml").exists() and not (workspace / "ALLOS.md").exists()
    assert not (workspace / ".mcp.json").exists()


@needs_landlock
@pytest.mark.parametrize("mounts", [True, False])
async def test_planted_git_hook_does_not_survive_the_command(workspace, monkeypatch, mounts):
    if not mounts:
        monkeypatch.setattr("allos_shell.sandbox.policy.protected_paths", lambda workspace: [])
    hook = workspace / ".git" / "hooks" / "pre-commit"
    command = f"printf '#!/bin/sh\\ntouch /tmp/owned\\n' > {hook}; chmod +x {hook}"
    result = await run(workspace, command)
    assert not hook.exists()
    assert refused(result), result.content
    if not mounts:
        assert ".git/hooks/pre-commit" in result.content and "put back" in result.content


@needs_landlock
@pytest.mark.parametrize("mounts", [True, False])
async def test_git_config_change_never_survives(workspace, monkeypatch, mounts):
    if not mounts:
        monkeypatch.setattr("allos_shell.sandbox.policy.protected_paths", lambda workspace: [])
    config = workspace / ".git" / "config"
    before = config.read_bytes()
    result = await run(workspace, "git config core.fsmonitor 'touch /tmp/owned'")
    assert config.read_bytes() == before
    assert refused(result), result.content
    if not mounts:
        assert result.metadata["restored"] == [".git/config"]


@needs_landlock
async def test_git_still_commits_inside_the_sandbox(workspace):
    command = (
        "git add src README.md && git -c user.name=a -c user.email=a@b commit -qm first "
        "&& git log --oneline | wc -l"
    )
    result = await run(workspace, command)
    assert not result.is_error, result.content
    assert "stdout:\n1" in result.content


@needs_landlock
async def test_new_top_level_entries_are_refused_when_root_is_not_writable(workspace):
    # the documented price: Landlock rules cover whole trees, so the root gets none
    result = await run(workspace, "mkdir build", root_writable=False)
    assert result.is_error and not (workspace / "build").exists()
    assert "sandbox" in result.content  # the result explains the refusal


@needs_landlock
async def test_new_top_level_entries_work_by_default(workspace):
    result = await run(workspace, "mkdir build && touch ran.txt && echo x >> allos.toml")
    assert (workspace / "build").is_dir() and (workspace / "ran.txt").exists()
    assert (workspace / "allos.toml").read_text() == "[permissions]\ndeny = []\n"
    assert refused(result)


@needs_landlock
async def test_temp_folder_is_writable(workspace):
    result = await run(workspace, 'f=$(mktemp) && echo ok > "$f" && cat "$f"')
    assert not result.is_error and "ok" in result.content


@needs_landlock
async def test_read_only_mode_refuses_workspace_writes(workspace):
    result = await run(workspace, "echo x > src/a.txt", mode="read-only")
    assert result.is_error and not (workspace / "src" / "a.txt").exists()
    read = await run(workspace, "cat README.md > /dev/null && echo read", mode="read-only")
    assert not read.is_error


async def test_off_mode_does_not_confine(workspace, tmp_path):
    target = tmp_path / "outside" / "x"
    result = await run(workspace, f"echo x > {target}", mode="off")
    assert not result.is_error and target.exists()


# -- network --------------------------------------------------------------------------------------


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server.getsockname()[1]
    server.close()


def connect_command(port: int) -> str:
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), 5); print('connected')"
    return f'{sys.executable} -c "{code}"'


@needs_net_rules
async def test_connecting_to_a_local_listener_is_refused(workspace, listener):
    result = await run(workspace, connect_command(listener))
    assert result.is_error and "PermissionError" in result.content
    assert "connected" not in result.content


@needs_net_rules
async def test_network_true_allows_connecting(workspace, listener):
    result = await run(workspace, connect_command(listener), network=True)
    assert not result.is_error and "connected" in result.content


# -- status and settings -------------------------------------------------------------------------


def test_bad_mode_is_refused():
    with pytest.raises(SandboxSettingsError, match="not a sandbox mode"):
        SandboxSettings.from_settings({"sandbox": {"mode": "yolo"}})


async def test_bad_setting_refuses_the_command(workspace):
    result = await run(workspace, "echo hi", mode="yolo")
    assert result.is_error and "not run" in result.content and "hi" not in result.content


def test_status_never_claims_what_is_not_there(monkeypatch):
    from allos_shell.sandbox import policy

    monkeypatch.setattr(policy, "landlock_abi", lambda: 0)
    status = sandbox_status(SandboxSettings())
    assert not status.filesystem and not status.network and not status.confines
    assert "no sandbox" in status.summary() and "asks" in status.summary()


def test_restrict_self_without_landlock_raises():
    with pytest.raises(landlock.LandlockUnavailable):
        landlock.restrict_self([], block_tcp=True, abi=0)


@needs_landlock
async def test_symlink_out_of_the_workspace_does_not_carry_writes(workspace, tmp_path):
    target = tmp_path / "outside" / "victim"
    target.write_text("safe\n")
    result = await run(workspace, f"ln -s {target} src/link && echo pwned >> src/link")
    assert result.is_error and target.read_text() == "safe\n"


@needs_landlock
async def test_hard_link_to_an_outside_file_is_refused(workspace, tmp_path):
    target = tmp_path / "outside" / "victim"
    target.write_text("safe\n")
    result = await run(workspace, f"ln {target} src/hard && echo pwned >> src/hard")
    assert result.is_error and target.read_text() == "safe\n"


@needs_landlock
async def test_swapping_git_for_a_symlink_does_not_turn_the_guard_against_you(workspace, tmp_path):
    # given a folder outside the workspace that looks like a git folder
    decoy = tmp_path / "outside" / "decoy"
    (decoy / "hooks").mkdir(parents=True)
    (decoy / "hooks" / "precious").write_text("mine\n")
    (decoy / "config").write_text("my config\n")
    # when a command moves .git away and puts a symlink to the decoy in its place
    result = await run(workspace, f"mv .git .gx && ln -s {decoy} .git")
    # then the guard (which runs outside the sandbox) never writes or removes through the link
    assert (decoy / "hooks" / "precious").read_text() == "mine\n"
    assert (decoy / "config").read_text() == "my config\n"
    git = workspace / ".git"
    assert git.is_dir() and not git.is_symlink()
    assert ".git" in result.metadata["restored"]


@needs_landlock
async def test_planted_symlink_cannot_redirect_a_put_back(workspace, tmp_path):
    victim = tmp_path / "outside" / "victim"
    victim.write_text("safe\n")
    command = f"for n in .allos.toml.allos-restore .allos.toml.tmp; do ln -s {victim} $n; done; echo x >> allos.toml"
    await run(workspace, command)
    assert victim.read_text() == "safe\n"
    assert (workspace / "allos.toml").read_text() == "[permissions]\ndeny = []\n"


@needs_landlock
async def test_readonly_mounts_can_be_switched_off(workspace):
    result = await run(workspace, "echo x >> allos.toml", readonly_mounts=False)
    assert result.metadata["read_only_mounts"] == 0
    assert "put back" in result.content
    assert (workspace / "allos.toml").read_text() == "[permissions]\ndeny = []\n"
