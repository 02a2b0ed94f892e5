"""Many short runs in one process: one client for the Agent's life against one per run.

``agent.run()`` keeps one event loop and one SDK client (one connection) for the Agent's life.
Driving ``arun()`` with ``asyncio.run()`` per call (a new event loop each time) is what every
``run()`` did before: a new client per run, with a new SSL context and a new connection. Both are
timed side by side on the tests' fake OpenAI server, RUNS short runs each (one request per run),
minimum of ROUNDS rounds.

Run: `uv run python bench/bench_runs.py [--runs 50] [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.openai_server import FakeOpenAIServer  # noqa: E402


def timed(runs: int, base_url: str, reuse: bool) -> tuple[float, int]:
    from allos_openai.provider import OpenAIProvider

    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager

    provider = OpenAIProvider(api_key="sk-bench", base_url=base_url, max_retries=0)
    agent = Agent(provider, tools=[], system_prompt="s", plugin_manager=create_plugin_manager([]))
    start = time.perf_counter()
    for n in range(runs):
        if reuse:
            agent.run(f"question {n}")
        else:
            asyncio.run(agent.arun(f"question {n}"))
        agent.clear()
    elapsed = time.perf_counter() - start
    made = provider._client.made
    agent.close()
    return elapsed, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    best: dict[bool, float] = {}
    clients: dict[bool, int] = {}
    with FakeOpenAIServer() as server:
        for round_ in range(args.rounds + 1):  # the first round warms up and is dropped
            for reuse in (False, True):
                seconds, made = timed(args.runs, server.openai_base_url, reuse)
                if round_:
                    best[reuse] = min(best.get(reuse, seconds), seconds)
                    clients[reuse] = made
    print(f"{args.runs} short runs in one process, minimum of {args.rounds} rounds")
    for reuse, label in ((False, "a client per run (before)"), (True, "one client (agent.run)")):
        ms = best[reuse] * 1000 / args.runs
        print(f"  {label:<28}{ms:>8.2f} ms/run   clients made: {clients[reuse]}")
    print(f"one client / a client per run: {best[True] / best[False]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
