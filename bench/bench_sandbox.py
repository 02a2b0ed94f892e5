"""Benchmark the per-command cost of the shell_exec sandbox.

Runs ``true`` N times through ``ShellExec.invoke`` (exactly as the agent runs a command) in four
set-ups, side by side: the plain process-group runner without the launcher (what shell_exec did
before the sandbox), the launcher with ``[sandbox] mode = "off"`` (subreaper only), and the
launcher with Landlock in ``read-only`` and ``workspace-write`` modes. Prints ms per command and
the ratio to the plain runner.

    python bench/bench_sandbox.py [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from pathlib import Path
from unittest import mock

from allos_shell.sandbox import landlock, policy
from allos_shell.tool import ShellExec

from allos_core.tools import ToolContext


async def run_many(context: ToolContext, count: int) -> float:
    tool = ShellExec()
    start = time.perf_counter()
    for _ in range(count):
        result = await tool.invoke({"command": "true"}, context)
        assert not result.is_error, result.content
    return (time.perf_counter() - start) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="commands per set-up (default 200)")
    count = parser.parse_args().n
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "ws"
        (workspace / "src").mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(workspace)], check=True)

        def context(**sandbox: object) -> ToolContext:
            return ToolContext(workspace=workspace, settings={"sandbox": sandbox})

        setups: list[tuple[str, ToolContext, bool]] = [
            ("no launcher (before)", context(mode="off"), False),
            ("launcher, mode off", context(mode="off"), True),
            ("read-only", context(mode="read-only"), True),
            ("workspace-write", context(), True),
        ]
        print(f"Landlock ABI {landlock.abi_version()}; {count} x `true` per set-up")
        figures = []
        for name, ctx, launch in setups:
            with mock.patch("allos_shell.runner.can_launch", return_value=launch):
                asyncio.run(run_many(ctx, 5))  # warm up
                figures.append((name, asyncio.run(run_many(ctx, count))))
        base = figures[0][1]
        print(f"{'set-up':24} {'ms/command':>10} {'ratio':>7}")
        for name, ms in figures:
            print(f"{name:24} {ms:10.2f} {ms / base:6.2f}x")
        assert policy.can_launch()


if __name__ == "__main__":
    main()
