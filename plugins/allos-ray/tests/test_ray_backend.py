"""The ray backend on a real local Ray: the same tasks give the same results as ``local``."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_support import call, git_repo, make_workspace, task_line, write_script

from allos_core.batch import TaskResult, run_batch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One local Ray (2 CPUs) for the module; its workers get an isolated home."""
    ray = pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("ray-home")
    saved = {k: os.environ.get(k) for k in ("ALLOS_CONFIG_FILE", "ALLOS_SESSIONS_DIR")}
    os.environ["ALLOS_CONFIG_FILE"] = str(home / "config.toml")
    os.environ["ALLOS_SESSIONS_DIR"] = str(home / "sessions")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def comparable(result: TaskResult) -> dict:
    """What must match between backends (paths and timings differ by design)."""
    return {
        "id": result.id,
        "stop_reason": result.stop_reason,
        "output": result.output,
        "diff": result.diff,
        "error": result.error,
        "requests": result.usage.get("requests"),
        "output_tokens": result.usage.get("output_tokens"),
        "has_session": result.session is not None,
    }


def test_ray_gives_the_same_results_as_local(tmp_path: Path, local_ray: None) -> None:
    # given a folder task, a git-repository task, a task naming a repo and ref, a failing task
    folder = make_workspace(tmp_path / "folder")
    repo = git_repo(tmp_path / "repo", {"app.py": "x = 1\n"})
    origin = git_repo(tmp_path / "origin", {"v.txt": "one\n"})
    subprocess.run(["git", "tag", "v1"], cwd=origin, check=True)
    edit = write_script(
        tmp_path,
        [
            {"tool_calls": [call("write_file", path="notes.txt", content="changed\n")]},
            {"tool_calls": [call("write_file", path="app.py", content="x = 2\n")]},
            "edited",
        ],
        "edit.json",
    )
    read = write_script(tmp_path, [{"tool_calls": [call("read_file", path="v.txt")]}, "read"])
    allow = ["write_file(**)"]
    tasks = [
        task_line("folder", edit, folder, allow=allow),
        task_line("repo", edit, repo, allow=allow),
        {**task_line("clone", read, folder), "workspace": None, "repo": str(origin), "ref": "v1"},
        task_line("broken", tmp_path / "missing.json", folder),
    ]
    tasks[2].pop("workspace")
    # when they run on each backend
    local = run_batch(tasks, results=tmp_path / "local.jsonl", concurrency=2)
    ray = run_batch(tasks, backend="ray", results=tmp_path / "ray.jsonl", concurrency=2)
    # then the results match, and the sessions came back to this machine
    assert [comparable(r) for r in ray] == [comparable(r) for r in local]
    assert [r.stop_reason for r in ray] == ["answered", "answered", "answered", "error"]
    assert "+changed" in ray[0].diff and "+x = 2" in ray[1].diff
    for result in ray[:3]:
        session = Path(result.session)
        assert session.parent == tmp_path / "ray.sessions"
        assert json.loads(session.read_text())["metadata"]["batch_task"] == result.id
    assert (folder / "notes.txt").read_text() == "original\n"


def test_a_failure_on_the_worker_comes_back_as_one_clear_line(
    tmp_path: Path, local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import allos_ray.payload as payload

    real = payload.build_payload
    monkeypatch.setattr(payload, "build_payload", lambda *a, **k: {**real(*a, **k), "version": 99})
    script = write_script(tmp_path, ["fine"])
    [result] = run_batch([task_line("v", script, make_workspace(tmp_path / "ws"))], backend="ray")
    assert result.stop_reason == "error"
    assert "payload version 99" in result.error and "same allos-ray version" in result.error
    assert "\x1b" not in result.error and "Traceback" not in result.error
