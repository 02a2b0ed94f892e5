"""How much ``-j N`` speeds up a batch whose tasks wait on the model.

100 tasks on the scripted provider, each with two model turns (a ``read_file`` call, then the
answer) that each "think" for ``--latency`` seconds, as a remote model would. Each task runs in
its own copy of a small workspace. The batch runs with ``-j 1`` and with ``-j 8`` through the
library (:func:`allos_core.batch.run_batch`, what ``allos batch`` runs), or with ``--cli``
through the ``allos batch`` command (process start included), side by side; the speed-up should
approach 8 as the latency dominates.

    python bench/bench_batch.py [--tasks 100] [--latency 0.1] [--jobs 8] [--cli]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from allos_core.batch import run_batch


def make_tasks(folder: Path, count: int, latency: float) -> list[dict]:
    workspace = folder / "ws"
    workspace.mkdir()
    for index in range(5):
        (workspace / f"module_{index}.py").write_text(f"VALUE = {index}\n" * 20)
    script = folder / "script.json"
    turns = [
        {
            "tool_calls": [{"name": "read_file", "arguments": {"path": "module_1.py"}}],
            "delay": latency,
        },
        {"text": "VALUE is 1.", "delay": latency},
    ]
    script.write_text(json.dumps(turns))
    return [
        {
            "id": f"task-{index:03d}",
            "task": "What is VALUE in module_1.py?",
            "workspace": str(workspace),
            "provider": "scripted",
            "model": str(script),
        }
        for index in range(count)
    ]


def timed_batch(tasks: list[dict], jobs: int, folder: Path) -> float:
    started = time.perf_counter()
    results = run_batch(tasks, concurrency=jobs, results=folder / f"results-j{jobs}.jsonl")
    elapsed = time.perf_counter() - started
    failed = [r.id for r in results if not r.ok]
    if failed:
        raise SystemExit(f"-j {jobs}: {len(failed)} tasks failed, e.g. {failed[0]}")
    return elapsed


def timed_cli(tasks: list[dict], jobs: int, folder: Path) -> float:
    tasks_file = folder / "tasks.jsonl"
    tasks_file.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    allos = str(Path(sys.executable).with_name("allos"))
    command = [
        allos,
        "batch",
        str(tasks_file),
        "-o",
        str(folder / f"cli-j{jobs}.jsonl"),
        "-j",
        str(jobs),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"allos batch -j {jobs} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per model turn")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--cli", action="store_true", help="run `allos batch` as a subprocess")
    args = parser.parse_args()
    timed = timed_cli if args.cli else timed_batch
    with tempfile.TemporaryDirectory(prefix="allos-bench-batch-") as temp:
        folder = Path(temp)
        tasks = make_tasks(folder, args.tasks, args.latency)
        serial = timed(tasks, 1, folder)
        parallel = timed(tasks, args.jobs, folder)
    floor = args.tasks * 2 * args.latency
    how = "`allos batch`" if args.cli else "run_batch()"
    print(f"{args.tasks} tasks, 2 model turns of {args.latency * 1000:.0f} ms each, via {how}")
    print(f"{'':>6} {'wall s':>8} {'per task ms':>12} {'vs -j 1':>8}")
    print(f"{'-j 1':>6} {serial:8.2f} {serial / args.tasks * 1000:12.1f} {1:8.2f}x")
    print(
        f"{f'-j {args.jobs}':>6} {parallel:8.2f} {parallel / args.tasks * 1000:12.1f} "
        f"{serial / parallel:8.2f}x"
    )
    print(
        f"speed-up {serial / parallel:.2f}x (ideal {args.jobs}x); model wait alone: {floor:.1f} s"
    )


if __name__ == "__main__":
    main()
