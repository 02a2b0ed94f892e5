"""``--git``: commit the files one turn changed, on the current branch, aider-style."""

from __future__ import annotations

from pathlib import Path

from allos_core.checkpoints import Checkpoint

#: git runs outside the sandbox here: programs a repository's .git/config names (an fsmonitor,
#: hooks, a signing program) must not run on the agent's behalf
_GIT_SAFETY = (
    "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false",
)  # fmt: skip


def commit_turn(workspace: Path, checkpoint: Checkpoint) -> str | None:
    """Commit the files ``checkpoint`` changed on the current git branch; returns the commit id.

    None when the workspace is not a git repository or nothing changed. Only the files the agent
    changed are committed (``git add -- PATH``); the message names the task.
    """
    import subprocess

    files = [c.path for c in checkpoint.changes]
    if not files:
        return None

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *_GIT_SAFETY, "-C", str(workspace), *args],
            capture_output=True,
            text=True,
            check=False,
        )

    if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        return None
    git("add", "-A", "--", *files)
    message = f"allos: {checkpoint.task or 'agent changes'}"[:72]
    body = "Changed by the agent in turn {}:\n{}".format(
        checkpoint.turn, "\n".join(f"- {f}" for f in files)
    )
    done = git("commit", "--no-verify", "-m", message, "-m", body, "--", *files)
    if done.returncode != 0:
        return None
    return git("rev-parse", "--short", "HEAD").stdout.strip() or None
