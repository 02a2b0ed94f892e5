"""What the workspace resolver costs per open, beside a plain ``os.open`` of the same file.

Opens ``a/b/c/d/e/file.txt`` (five folders deep) in a fresh workspace many times each way:
plain ``os.open`` by absolute path (the old, racy way), :class:`WorkspaceFS` with the kernel's
``openat2`` (when available), and with the portable O_NOFOLLOW walk. Prints microseconds per
open (median of several rounds) and the ratio to the plain open.

    python bench/bench_resolver.py [--opens 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from allos_core import workspace_fs
from allos_core.workspace_fs import WorkspaceFS

REL = "a/b/c/d/e/file.txt"


def per_open(function, opens: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(opens):
            os.close(function())
        times.append((time.perf_counter() - started) / opens)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opens", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / REL).parent.mkdir(parents=True)
        (root / REL).write_text("x")
        fs = WorkspaceFS(root)
        absolute = str(root / REL)
        plain = per_open(lambda: os.open(absolute, os.O_RDONLY), options.opens, options.rounds)
        rows = [("os.open(absolute path)", plain)]
        if workspace_fs.has_openat2():
            rows.append(("WorkspaceFS.open (openat2)", per_open(lambda: fs.open(REL), options.opens, options.rounds)))  # fmt: skip
        workspace_fs._openat2_state[:] = [None]
        rows.append(("WorkspaceFS.open (walk)", per_open(lambda: fs.open(REL), options.opens, options.rounds)))  # fmt: skip
    print(f"{'open of ' + REL:<32} {'µs/open':>9} {'ratio':>7}")
    for name, micros in rows:
        print(f"{name:<32} {micros:>9.2f} {micros / plain:>6.2f}x")


if __name__ == "__main__":
    main()
