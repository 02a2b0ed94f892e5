"""What pricing adds to a run: the agent loop with no prices, user prices and genai-prices.

A 50-turn tool loop on ScriptedProvider (no network, so the loop's own cost is all there is),
warm, median of several runs, three ways:

  unpriced      a provider genai-prices is never asked about (local models)
  user price    a ``[prices."MODEL"]`` entry from the config
  genai-prices  a provider priced by genai-prices (calc_price per request)

It prints milliseconds per turn and the ratio to the unpriced loop, and the one-off cost of
loading genai-prices (which the agent does on a background thread during the first request).

Run: `uv run python bench/bench_pricing.py [--turns 50] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from allos_core.agent import Agent
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


@tool(read_only=True)
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


class OpenAIPriced(ScriptedProvider):
    name = "openai-priced"
    prices_id = "openai"


def script(turns: int) -> list:
    usage = {"input_tokens": 2_000, "output_tokens": 50}
    calls = [
        {"tool_calls": [{"name": "lookup", "arguments": {"key": f"k{i}"}}], "usage": usage}
        for i in range(turns)
    ]
    return [*calls, {"text": "done", "usage": usage}]


def one_run(cls: type[ScriptedProvider], model: str, turns: int, prices: dict | None) -> float:
    agent = Agent(
        cls(script(turns), model=model),
        tools=[lookup],
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="bench",
        prices=prices,
        stream=False,
        max_iterations=None,
    )
    start = time.perf_counter()
    result = agent.run("go")
    took = time.perf_counter() - start
    assert result.ok
    return took


def load_time() -> float:
    code = (
        "import time; t = time.perf_counter(); from genai_prices import data_snapshot; "
        "data_snapshot.get_snapshot(); print(time.perf_counter() - t)"
    )
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ways = {
        "unpriced": (ScriptedProvider, "local", None),
        "user price": (
            ScriptedProvider,
            "local",
            {"local": {"input_per_mtok": 1, "output_per_mtok": 2}},
        ),  # fmt: skip
        "genai-prices": (OpenAIPriced, "gpt-4o", None),
    }
    for cls, model, prices in ways.values():  # warm up (imports, genai-prices data)
        one_run(cls, model, 2, prices)
    runs: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.runs):  # interleaved, so a busy moment of the machine hits every way
        for name, (cls, model, prices) in ways.items():
            runs[name].append(one_run(cls, model, args.turns, prices))
    results = {
        name: statistics.median(times) * 1000 / (args.turns + 1) for name, times in runs.items()
    }
    base = results["unpriced"]
    print(f"{'way':<14} {'ms/turn':>8} {'ratio':>6}")
    for name, per_turn in results.items():
        print(f"{name:<14} {per_turn:8.3f} {per_turn / base:6.2f}x")
    print(f"loading genai-prices once (background thread): {load_time() * 1000:.0f} ms")


if __name__ == "__main__":
    main()
