"""Startup cost of the `allos` command against a bare interpreter.

Prints, side by side, the median wall time of several runs of:
  python -c pass          (the floor)
  allos --help            (target: within 8x of the floor)
  allos plugins list      (target: within 10x of the floor)
and which heavy modules loading every plugin imports (target: none of the SDKs, mcp, ray, opentelemetry, httpcore, re2, genai_prices, prompt_toolkit).

Run from the workspace: `uv run python bench/bench_startup.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"allos --help": 8.0, "allos plugins list": 10.0}


def allos_command() -> list[str]:
    script = Path(sys.executable).with_name("allos")
    if script.exists():
        return [str(script)]
    found = shutil.which("allos")
    return [found] if found else [sys.executable, "-m", "allos_core.cli.main"]


def median_times(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command; runs are interleaved so machine drift hits all alike."""
    # as installed by pip: byte-code cached (some machines set PYTHONDONTWRITEBYTECODE, which
    # would make every run compile every module from source)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    for command in commands:  # warm caches, write .pyc files
        subprocess.run(command, capture_output=True, env=env, check=True)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, env=env, check=True)
            times[index].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def heavy_imports() -> str:
    code = (
        "import sys\n"
        "from allos_core.plugins import create_plugin_manager\n"
        "m = create_plugin_manager(); m.plugins()\n"
        "print(','.join(x for x in ('openai','anthropic','ollama','google.genai','mcp','ray','opentelemetry','httpcore','re2','genai_prices','prompt_toolkit') if x in sys.modules) or 'none')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    allos = allos_command()
    labels = ["python -c pass", "allos --help", "allos plugins list"]
    commands = [[sys.executable, "-c", "pass"], [*allos, "--help"], [*allos, "plugins", "list"]]
    seconds = median_times(commands, args.runs)
    floor = seconds[0]
    rows = [
        (label, value, value / floor, TARGETS.get(label))
        for label, value in zip(labels, seconds, strict=True)
    ]
    print(f"median of {args.runs} runs, {sys.executable}")
    print(f"{'command':<22}{'ms':>9}{'x floor':>10}{'target':>10}  ok")
    failed = False
    for label, seconds, ratio, target in rows:
        ok = "" if target is None else ("yes" if ratio <= target else "NO")
        failed |= ok == "NO"
        target_text = "" if target is None else f"<= {target:.0f}x"
        print(f"{label:<22}{seconds * 1000:>9.1f}{ratio:>9.1f}x{target_text:>10}  {ok}")
    print(f"heavy modules imported while loading every plugin: {heavy_imports()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
