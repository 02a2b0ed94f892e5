"""Red-team pass on shell_exec: ways a command could plant code git runs later outside the
sandbox, and read the agent's own environment (its provider keys) through /proc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from allos_shell.sandbox import landlock
from allos_shell.tool import ShellExec

from allos_core.tools import ToolContext

needs_landlock = pytest.mark.skipif(landlock.abi_version() < 1, reason="no Landlock here")
GIT = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "a").write_text("a")
    env = {**os.environ, **GIT}
    subprocess.run(["git", "-C", str(root), "add", "a"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "i"], check=True, env=env)
    return root


async def run(workspace: Path, command: str, **sandbox: object):
    context = ToolContext(workspace=workspace, settings={"sandbox": sandbox} if sandbox else {})
    return await ShellExec(drain_grace=0.2).invoke({"command": command, "timeout": 30}, context)


def users_git_status_runs_planted_code(repo: Path, marker: Path) -> bool:
    """The user's own `git status` afterwards, outside any sandbox: did it run the marker?"""
    subprocess.run(["git", "-C", str(repo), "status", "--short"], capture_output=True,
                   env={**os.environ, **GIT})  # fmt: skip
    return marker.exists()


@needs_landlock
@pytest.mark.parametrize("mounts", [True, False])
@pytest.mark.parametrize(
    "plant",
    [
        # .git/commondir sends git to another folder for its config and hooks
        "mkdir evil && cp -r .git/* evil/ && git config -f evil/config core.fsmonitor "
        "'touch {marker}; false' && echo ../evil > .git/commondir",
        # config.worktree is read once the (protected) config enables it: plant it for later
        "git config -f .git/config.worktree core.fsmonitor 'touch {marker}; false' && "
        "cp .git/config .git/c2 && git config -f .git/c2 extensions.worktreeConfig true && "
        "cat .git/c2 > .git/config",
    ],
    ids=["commondir", "config.worktree"],
)
async def test_a_command_cannot_plant_git_config_outside_dot_git_config(
    repo, tmp_path, monkeypatch, mounts, plant
):
    # given: a sandboxed command (with or without the read-only mounts)
    if not mounts:
        monkeypatch.setattr("allos_shell.sandbox.policy.protected_paths", lambda workspace: [])
    marker = tmp_path / "pwned"
    # when: it redirects git to configuration of its own
    await run(repo, plant.format(marker=marker))
    # then: the user's next git command outside the sandbox runs nothing it planted
    assert not users_git_status_runs_planted_code(repo, marker)
    assert not (repo / ".git" / "commondir").exists()
    assert not (repo / ".git" / "config.worktree").exists()


HIDE = """
import os, sys
sys.path.insert(0, {plugin!r})
from allos_shell.sandbox.undumpable import hide_agent_process
assert hide_agent_process()
pid = os.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", "cat /proc/{{}}/environ".format(os.getppid())])
_, status = os.waitpid(pid, 0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_command_cannot_read_the_agents_environment_through_proc(tmp_path):
    # given: an agent process holding a key, run as an ordinary user (root reads every process)
    plugin = str(Path(__file__).resolve().parents[1])
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    script = tmp_path / "agent.py"
    script.write_text(HIDE.format(plugin=plugin))
    script.chmod(0o644)
    tmp_path.chmod(0o755)
    # when: a command it started reads its parent's /proc/PID/environ
    done = subprocess.run(
        [*prefix, "/usr/bin/env", "-i", "OPENAI_API_KEY=sk-agent-SECRET", sys.executable, "-I",
         "-S", str(script)],
        capture_output=True, text=True, cwd="/",
    )  # fmt: skip
    # then: the key is not there
    assert "sk-agent-SECRET" not in done.stdout
    assert "Permission denied" in done.stderr, done.stderr


# -- default deny rules: spellings beyond the corpus ---------------------------------------

EVASIONS = [
    "rm -rf ~root",  # another user's home folder
    "rm -rf ~bob/*",
    "rm -rf /*/",  # a glob matching every top-level folder
    "rm -rf /e??",
    "rm -rf /[e]tc",
    "rm -rf /u*/*",
    "rm -rf $'/'",  # ANSI-C quoting
    "rm -rf $'\\x2f'",
    "rm -rf $'\\057'",
    "rm -rf $'/e'tc",
]
STILL_FINE = [
    "rm -rf ~+/build",
    "rm -rf /tmp/build*",
    "rm -rf build/*",
    "rm -rf $'build'",
    "rm -rf *.pyc",
    "rm -rf ./*",
]


@pytest.mark.parametrize("command", EVASIONS)
def test_default_denies_see_through_globs_other_homes_and_ansi_c_quoting(command):
    from allos_shell.safety import destructive_reason

    assert destructive_reason(command) is not None


@pytest.mark.parametrize("command", STILL_FINE)
def test_ordinary_removals_stay_allowed(command):
    from allos_shell.safety import destructive_reason

    assert destructive_reason(command) is None
