"""``allos batch`` as a user runs it: exit codes, the summary, a kill and a Ctrl-C mid-batch."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from batch_support import make_workspace, task_line, write_script, write_tasks
from cli_support import ALLOS, invoke, run_allos, subprocess_env


def result_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_malformed_lines_are_reported_with_numbers_and_nothing_runs(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "fine"}\n{"id": "b"}\nnope\n')
    out = tmp_path / "out.jsonl"
    result = invoke("batch", str(tasks), "-o", str(out), "-p", "scripted")
    assert result.exit_code == 2
    assert "tasks.jsonl:2: 'task' is required" in result.stderr
    assert "tasks.jsonl:3: not valid JSON" in result.stderr
    assert not out.exists()


def test_exit_1_and_a_summary_naming_the_failed_tasks(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    fine = write_script(tmp_path, ["fine"])
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [
            task_line("good", fine, workspace),
            task_line("broken", tmp_path / "missing.yaml", workspace),
        ],
    )
    out = tmp_path / "out.jsonl"
    result = invoke("batch", str(tasks), "-o", str(out), "-j", "2")
    assert result.exit_code == 1
    assert "2 tasks: 1 answered, 1 failed" in result.stderr
    assert "failed broken: cannot read script" in result.stderr
    assert sorted(result_ids(out)) == ["broken", "good"]


def test_every_task_answered_exits_0_and_a_second_run_skips_them(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    fine = write_script(tmp_path, ["fine"])
    tasks = write_tasks(
        tmp_path / "tasks.jsonl", [task_line(f"t{i}", fine, workspace) for i in range(3)]
    )
    out = tmp_path / "out.jsonl"
    assert invoke("batch", str(tasks), "-o", str(out), "-j", "3").exit_code == 0
    again = invoke("batch", str(tasks), "-o", str(out))
    assert again.exit_code == 0 and "3 of 3 tasks already have a result" in again.stderr
    assert len(result_ids(out)) == 3


def test_session_option_is_refused(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": "a", "task": "t"}])
    result = invoke("batch", str(tasks), "-o", str(tmp_path / "o.jsonl"), "-s", "x")
    assert result.exit_code == 2 and "drop -s" in result.stderr


def test_the_help_lists_the_batch_options() -> None:
    result = invoke("batch", "--help")
    for option in ("--jobs", "--keep", "--rerun-failed", "--backend", "--address", "--allow"):
        assert option in result.stdout


def _start_slow_batch(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path, Path]:
    """A batch whose first task answers at once and whose second waits on the model."""
    workspace = make_workspace(tmp_path / "ws")
    quick = write_script(tmp_path, ["quick"], "quick.json")
    slow = write_script(tmp_path, [{"text": "slow", "delay": 600}], "slow.json")
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [task_line("quick", quick, workspace), task_line("slow", slow, workspace)],
    )
    out = tmp_path / "out.jsonl"
    scratch = tmp_path / "tmp"  # a killed batch leaves its running tasks' copies here
    scratch.mkdir()
    process = subprocess.Popen(
        [ALLOS, "batch", str(tasks), "-o", str(out), "-j", "2"],
        env=subprocess_env(tmp_path, TMPDIR=str(scratch)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # the line comes once the result is on disk
        if "quick answered" in line:
            break
    else:
        raise AssertionError("the quick task never finished")
    return process, tasks, out, slow


def test_a_killed_batch_resumes_without_redoing_finished_tasks(tmp_path: Path) -> None:
    # given a batch killed while its second task waits on the model
    process, tasks, out, slow = _start_slow_batch(tmp_path)
    process.kill()
    process.wait(timeout=30)
    assert result_ids(out) == ["quick"]
    # when it runs again (the model now answers at once)
    write_script(tmp_path, ["now quick"], slow.name)
    again = run_allos("batch", str(tasks), "-o", str(out), env=subprocess_env(tmp_path))
    # then only the unfinished task ran
    assert again.returncode == 0, again.stderr
    assert result_ids(out) == ["quick", "slow"]


def test_ctrl_c_cancels_running_tasks_and_leaves_valid_results(tmp_path: Path) -> None:
    process, tasks, out, slow = _start_slow_batch(tmp_path)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stderr is not None
    assert "interrupted" in process.stderr.read()
    assert result_ids(out) == ["quick"]  # every line is whole JSON; the cancelled task has none
    write_script(tmp_path, ["now quick"], slow.name)
    again = run_allos("batch", str(tasks), "-o", str(out), env=subprocess_env(tmp_path))
    assert again.returncode == 0 and result_ids(out) == ["quick", "slow"]


def test_a_task_id_cannot_send_terminal_escapes(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [task_line("evil\x1b]0;owned\x07", tmp_path / "none.json", workspace)],
    )
    result = invoke("batch", str(tasks), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "evil\\x1b]0;owned\\x07" in result.stderr


def test_an_unknown_backend_is_a_usage_error_naming_the_installed_ones(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": "a", "task": "t"}])
    result = invoke("batch", str(tasks), "-o", str(tmp_path / "o.jsonl"), "--backend", "nope")
    assert result.exit_code == 2
    assert "unknown batch backend 'nope'" in result.stderr and "local" in result.stderr
    assert "pip install allos-nope" in result.stderr
