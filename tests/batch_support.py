"""Helpers shared by the batch tests: a workspace, scripts, task lines."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cli_support import call, write_script

__all__ = ["call", "git_repo", "make_workspace", "task_line", "write_script", "write_tasks"]


def make_workspace(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A folder with a few files (default: ``notes.txt``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {"notes.txt": "original\n"}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def git_repo(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository with one commit holding ``files``."""
    make_workspace(folder, files)
    env_args = ["-c", "user.email=t@example.com", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], [*env_args, "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    return folder


def task_line(task_id: str, script: Path, workspace: Path, **fields: Any) -> dict[str, Any]:
    """A task for the scripted provider, its script given as the model."""
    return {
        "id": task_id,
        "task": f"task {task_id}",
        "workspace": str(workspace),
        "provider": "scripted",
        "model": str(script),
        **fields,
    }


def write_tasks(path: Path, tasks: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return path
