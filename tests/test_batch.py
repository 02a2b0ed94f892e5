"""The batch library: isolation, results, resume, failures, backends (scripted provider)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from batch_support import call, git_repo, make_workspace, task_line, write_script

from allos_core.batch import (
    BatchBackend,
    TaskDefaults,
    TaskEvent,
    TaskFinished,
    TaskResult,
    arun_batch,
    run_batch,
)
from allos_core.batch.workspace import tree_diff
from allos_core.errors import BatchError, ConfigError
from allos_core.hookspecs import hookimpl
from allos_core.plugins import create_plugin_manager

RESULT_KEYS = {
    "id",
    "stop_reason",
    "output",
    "usage",
    "cost",
    "duration_s",
    "diff",
    "workspace",
    "session",
    "error",
}


def writer(tmp_path: Path, name: str, path: str, content: str, answer: str = "done") -> Path:
    return write_script(
        tmp_path, [{"tool_calls": [call("write_file", path=path, content=content)]}, answer], name
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_task_changes_only_its_own_copy(tmp_path: Path) -> None:
    # given two tasks that write the same file of the same workspace differently
    workspace = make_workspace(tmp_path / "ws")
    one = writer(tmp_path, "one.json", "notes.txt", "from one\n")
    two = writer(tmp_path, "two.json", "notes.txt", "from two\n")
    allow = ["write_file(**)"]
    tasks = [
        task_line("one", one, workspace, allow=allow),
        task_line("two", two, workspace, allow=allow),
    ]
    # when they run at the same time
    results = run_batch(tasks, results=tmp_path / "out.jsonl", concurrency=2)
    # then each diff holds only its own change and the original is untouched
    by_id = {r.id: r for r in results}
    assert "+from one" in by_id["one"].diff and "from two" not in by_id["one"].diff
    assert "+from two" in by_id["two"].diff and "from one" not in by_id["two"].diff
    assert (workspace / "notes.txt").read_text() == "original\n"
    assert all(r.ok for r in results)


def test_results_file_has_one_line_per_task_with_every_field(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = writer(tmp_path, "s.json", "new.txt", "hi\n", answer="all done")
    out = tmp_path / "out.jsonl"
    run_batch([task_line("a", script, workspace, allow=["write_file(**)"])], results=out)
    [line] = lines(out)
    assert set(line) == RESULT_KEYS
    assert line["id"] == "a" and line["stop_reason"] == "answered"
    assert line["output"] == "all done" and line["error"] is None
    assert line["usage"]["requests"] == 2 and line["usage"]["output_tokens"] > 0
    assert isinstance(line["duration_s"], float)
    assert "new file" in line["diff"] and "+hi" in line["diff"]
    assert line["workspace"] is None  # removed without --keep
    session = json.loads(Path(line["session"]).read_text())
    assert session["format"] == "allos-session" and session["metadata"]["batch_task"] == "a"


def test_git_workspace_runs_in_a_worktree_that_is_removed_after(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"src/app.py": "x = 1\n", "README": "r\n"})
    script = write_script(
        tmp_path,
        [
            {"tool_calls": [call("write_file", path="app.py", content="x = 2\n")]},
            {"tool_calls": [call("write_file", path="extra.py", content="y = 3\n")]},
            "done",
        ],
    )
    [result] = run_batch(
        [task_line("g", script, repo / "src", allow=["write_file(**)"])],
        results=tmp_path / "out.jsonl",
    )
    # paths are relative to the task's workspace (a folder inside the repository)
    assert "--- a/app.py" in result.diff and "+x = 2" in result.diff
    assert "+++ b/extra.py" in result.diff
    listed = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert len(listed.splitlines()) == 1
    assert (repo / "src" / "app.py").read_text() == "x = 1\n"


def test_uncommitted_changes_are_seen_by_the_task(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"a.txt": "committed\n"})
    (repo / "a.txt").write_text("uncommitted\n")
    script = write_script(tmp_path, [{"tool_calls": [call("read_file", path="a.txt")]}, "ok"])
    [result] = run_batch([task_line("d", script, repo)], results=tmp_path / "out.jsonl")
    session = json.loads(Path(result.session).read_text())
    assert "uncommitted" in json.dumps(session["messages"])
    assert result.diff == ""


def test_keep_leaves_the_copy_and_names_it(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = writer(tmp_path, "s.json", "notes.txt", "changed\n")
    [result] = run_batch(
        [task_line("k", script, workspace, allow=["write_file(**)"])],
        results=tmp_path / "out.jsonl",
        keep=True,
    )
    kept = Path(result.workspace)
    assert kept != workspace and (kept / "notes.txt").read_text() == "changed\n"
    shutil.rmtree(kept.parent)


def test_a_call_that_would_ask_is_denied_with_a_hint(tmp_path: Path) -> None:
    # given a task whose write is not allowed (write_file asks by default) and no one to ask
    workspace = make_workspace(tmp_path / "ws")
    script = writer(tmp_path, "s.json", "notes.txt", "changed\n")
    [result] = run_batch([task_line("q", script, workspace)], results=tmp_path / "out.jsonl")
    # then the call was refused with the rule to allow it, and nothing changed
    session = json.dumps(json.loads(Path(result.session).read_text())["messages"])
    assert "no one to ask" in session and "--allow" in session
    assert result.diff == ""


def test_resume_skips_ids_already_finished(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = write_script(tmp_path, ["fine"])
    out = tmp_path / "out.jsonl"
    tasks = [task_line("a", script, workspace)]
    run_batch(tasks, results=out)
    # when the batch runs again with one more task
    tasks.append(task_line("b", script, workspace))
    results = run_batch(tasks, results=out)
    # then only the new task ran, and both results come back
    assert [line["id"] for line in lines(out)] == ["a", "b"]
    assert [r.id for r in results] == ["a", "b"]


def test_rerun_failed_retries_only_failed_tasks(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    good = write_script(tmp_path, ["fine"], "good.json")
    out = tmp_path / "out.jsonl"
    tasks = [
        task_line("ok", good, workspace),
        task_line("bad", tmp_path / "missing.json", workspace),
    ]
    first = {r.id: r for r in run_batch(tasks, results=out)}
    assert first["bad"].stop_reason == "error" and "missing.json" in first["bad"].error
    # the script appears, then the failed task is run again (and only it)
    write_script(tmp_path, ["now fine"], "missing.json")
    assert {r.id: r.ok for r in run_batch(tasks, results=out)} == {"ok": True, "bad": False}
    results = {r.id: r for r in run_batch(tasks, results=out, rerun_failed=True)}
    assert results["bad"].ok and results["bad"].output == "now fine"
    assert [line["id"] for line in lines(out)] == ["ok", "bad", "bad"]


def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = write_script(tmp_path, ["fine"])
    out = tmp_path / "out.jsonl"
    run_batch([task_line("a", script, workspace)], results=out)
    with out.open("a") as handle:
        handle.write('{"id": "b", "stop_rea')  # killed in the middle of a write
    run_batch([task_line("a", script, workspace), task_line("b", script, workspace)], results=out)
    assert [line["id"] for line in lines(out)] == ["a", "b"]


def test_a_results_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("hello world\n")
    script = write_script(tmp_path, ["fine"])
    with pytest.raises(BatchError, match="out.jsonl:1"):
        run_batch([task_line("a", script, tmp_path)], results=out)
    assert out.read_text() == "hello world\n"


def test_a_broken_task_fails_alone(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = write_script(tmp_path, ["fine"])
    tasks = [
        task_line("missing", script, tmp_path / "nowhere"),
        task_line("unknown", script, workspace, provider="no-such-provider"),
        task_line("fine", script, workspace),
    ]
    results = {r.id: r for r in run_batch(tasks, results=tmp_path / "out.jsonl")}
    assert "is not a folder" in results["missing"].error
    assert "no-such-provider" in results["unknown"].error
    assert results["fine"].ok


def test_max_cost_on_a_core_without_cost_limits_is_a_clear_task_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import allos_core.batch.execute as execute

    monkeypatch.setattr(execute, "_agent_parameter", lambda *names: None)
    script = write_script(tmp_path, ["fine"])
    tasks = [
        task_line("cost", script, tmp_path, max_cost=0.5),
        task_line("schema", script, tmp_path, schema={"type": "object"}),
    ]
    results = {r.id: r for r in run_batch(tasks)}
    assert results["cost"].stop_reason == "error" and "max_cost" in results["cost"].error
    assert "schema" in results["schema"].error


def test_a_hostile_id_cannot_place_its_session_outside_the_sessions_folder(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["fine"])
    sessions = tmp_path / "sessions"
    [result] = run_batch(
        [task_line("../../../escape", script, tmp_path)],
        results=tmp_path / "out.jsonl",
        sessions_dir=sessions,
    )
    assert Path(result.session).parent == sessions
    assert not list(tmp_path.parent.glob("escape*"))


def test_a_task_can_name_a_repository_and_ref(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "origin", {"v.txt": "one\n"})
    env = ["-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "tag", "v1"], cwd=repo, check=True)
    (repo / "v.txt").write_text("two\n")
    subprocess.run(["git", *env, "commit", "-qam", "two"], cwd=repo, check=True)
    script = write_script(tmp_path, [{"tool_calls": [call("read_file", path="v.txt")]}, "ok"])
    line = {"id": "r", "task": "t", "repo": str(repo), "ref": "v1", "provider": "scripted"}
    [result] = run_batch([{**line, "model": str(script)}], results=tmp_path / "out.jsonl")
    messages = json.loads(Path(result.session).read_text())["messages"]
    read = json.dumps([m for m in messages if m["role"] == "tool"])
    assert result.ok and "one" in read and "two" not in read


def test_cancelling_a_batch_records_only_finished_tasks(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    quick = write_script(tmp_path, ["quick"], "quick.json")
    slow = write_script(tmp_path, [{"text": "slow", "delay": 600}], "slow.json")
    out = tmp_path / "out.jsonl"
    tasks = [task_line("quick", quick, workspace), task_line("slow", slow, workspace)]

    async def scenario() -> None:
        quick_done, slow_waiting = asyncio.Event(), asyncio.Event()

        def progress(item: object) -> None:
            if isinstance(item, TaskFinished):
                quick_done.set()
            is_request = isinstance(item, TaskEvent) and item.event.type == "model_request"
            if is_request and item.id == "slow":
                slow_waiting.set()

        batch = asyncio.ensure_future(
            arun_batch(tasks, results=out, concurrency=2, on_progress=progress)
        )
        # a safety net, not a timing: each normally takes milliseconds
        await asyncio.wait_for(quick_done.wait(), 60)
        await asyncio.wait_for(slow_waiting.wait(), 60)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch

    asyncio.run(scenario())
    assert [line["id"] for line in lines(out)] == ["quick"]
    # the slow task's session was still saved, as interrupted and consistent
    sessions = list((tmp_path / "out.sessions").glob("slow-*.json"))
    assert len(sessions) == 1


def test_a_plugin_backend_runs_the_tasks(tmp_path: Path) -> None:
    class Recording(BatchBackend):
        name = "recording"
        seen: list[str] = []

        async def run_task(self, task, defaults, *, sessions_dir, keep, on_event=None):
            self.seen.append(task.id)
            return TaskResult(id=task.id, stop_reason="answered", output=defaults.model)

    class Plugin:
        @hookimpl
        def allos_batch_backends(self):
            return [Recording]

    manager = create_plugin_manager([Plugin()])
    results = run_batch(
        [{"id": "x", "task": "t"}],
        backend="recording",
        plugin_manager=manager,
        defaults=TaskDefaults(model="m"),
    )
    assert Recording.seen == ["x"] and results[0].output == "m"
    [info] = [i for i in manager.plugins() if i.batch_backends]
    assert info.batch_backends == ["recording"]
    with pytest.raises(ConfigError, match="installed: local, recording"):
        run_batch([{"id": "x", "task": "t"}], backend="nope", plugin_manager=manager)


def test_tree_diff_shows_new_deleted_and_binary_files(tmp_path: Path) -> None:
    before = make_workspace(tmp_path / "a", {"keep.txt": "same\n", "gone.txt": "bye\n"})
    after = make_workspace(tmp_path / "b", {"keep.txt": "same\n", "new.txt": "hello"})
    (before / "img.bin").write_bytes(b"\0\1")
    (after / "img.bin").write_bytes(b"\0\2")
    diff = tree_diff(before, after)
    assert "keep.txt" not in diff
    assert "deleted file" in diff and "-bye" in diff
    assert "+hello\n\\ No newline at end of file" in diff
    assert "Binary files a/img.bin and b/img.bin differ" in diff


def test_results_inside_the_workspace_stay_out_of_copies_and_diffs(tmp_path: Path) -> None:
    # given a batch whose results file and sessions sit in the workspace (the default: cwd)
    workspace = make_workspace(tmp_path / "ws")
    listing = write_script(tmp_path, [{"tool_calls": [call("list_directory", path=".")]}, "ok"])
    tasks = [task_line(f"t{i}", listing, workspace) for i in range(3)]
    # when the tasks run one after the other (earlier results are written meanwhile)
    results = run_batch(tasks, results=workspace / "out.jsonl", concurrency=1)
    # then no task saw them or reported them as a change
    for result in results:
        session = json.dumps(json.loads(Path(result.session).read_text())["messages"])
        assert "out.jsonl" not in session and "out.sessions" not in session
        assert result.diff == ""


def test_a_clean_repository_with_the_results_inside_still_gets_a_worktree(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"a.txt": "a\n"})
    script = writer(tmp_path, "s.json", "a.txt", "b\n")
    tasks = [task_line(f"t{i}", script, repo, allow=["write_file(**)"]) for i in range(2)]
    results = run_batch(tasks, results=repo / "out.jsonl", keep=True)
    for result in results:
        kept = Path(result.workspace)
        assert (kept / ".git").is_file()  # a worktree's .git is a file
        assert "index " in result.diff  # git's diff
        subprocess.run(["git", "worktree", "remove", "--force", str(kept)], cwd=repo, check=True)
        shutil.rmtree(kept.parent)


def test_a_deny_from_the_command_line_beats_a_task_allow(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = writer(tmp_path, "s.json", "notes.txt", "changed\n")
    [result] = run_batch(
        [task_line("d", script, workspace, allow=["write_file(**)"])],
        defaults=TaskDefaults(deny=("write_file(**)",)),
        results=tmp_path / "out.jsonl",
    )
    assert result.ok and result.diff == ""
    assert "denied" in json.dumps(json.loads(Path(result.session).read_text())["messages"])
