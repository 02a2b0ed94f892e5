"""The google provider's cost per turn, beside the bare google-genai SDK and plain httpx.

A local fake Gemini API (the tests' fake, on 127.0.0.1) answers a tool loop: N turns in which
the model calls a tool, then a final answer (N + 1 requests). The same exchange is run three
ways, each warm, median of several runs:

  plain httpx      POST of hand-built JSON bodies: the floor
  bare SDK         client.aio.models.generate_content(...) with hand-built contents
  Allos Agent      Agent(GoogleProvider(...)).arun(...): mapping, permissions, tools, events

and prints each as milliseconds and as a ratio to the floor. The SDK walks the whole
conversation through its pydantic types on every call, so its cost grows with the turns.

Run: `uv run python bench/bench_google.py [--turns 50] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.google_server import FakeGoogleServer  # noqa: E402

MODEL = "gemini-2.5-flash"
DECLARATION = {
    "name": "lookup",
    "description": "Look a key up.",
    "parameters": {
        "type": "OBJECT",
        "properties": {"key": {"type": "STRING"}},
        "required": ["key"],
    },
}


def queue_loop(server: FakeGoogleServer, turns: int) -> None:
    for turn in range(turns):
        server.queue_tool_call("lookup", {"key": f"k{turn}"})
    server.queue_text("done")


def call_part(turn: int) -> dict:
    return {"functionCall": {"name": "lookup", "args": {"key": f"k{turn}"}}}


def answer_part(turn: int) -> dict:
    return {"functionResponse": {"name": "lookup", "response": {"output": f"value {turn}"}}}


async def plain_httpx(server: FakeGoogleServer, turns: int) -> float:
    import httpx

    url = f"{server.base_url}/v1beta/models/{MODEL}:generateContent"
    contents: list[dict] = [{"role": "user", "parts": [{"text": "look them up"}]}]
    async with httpx.AsyncClient(headers={"x-goog-api-key": "k"}) as client:
        started = time.perf_counter()
        for turn in range(turns + 1):
            body = {"contents": contents, "tools": [{"functionDeclarations": [DECLARATION]}]}
            reply = (await client.post(url, json=body)).json()
            if turn < turns:
                contents = [
                    *contents,
                    reply["candidates"][0]["content"],
                    {"role": "user", "parts": [answer_part(turn)]},
                ]
        return time.perf_counter() - started


async def bare_sdk(server: FakeGoogleServer, turns: int) -> float:
    from google import genai

    client = genai.Client(api_key="k", http_options={"base_url": server.base_url}).aio
    config = {"tools": [{"function_declarations": [DECLARATION]}]}
    contents: list = [{"role": "user", "parts": [{"text": "look them up"}]}]
    started = time.perf_counter()
    for turn in range(turns + 1):
        reply = await client.models.generate_content(model=MODEL, contents=contents, config=config)
        if turn < turns:
            contents = [
                *contents,
                reply.candidates[0].content,
                {"role": "user", "parts": [answer_part(turn)]},
            ]
    elapsed = time.perf_counter() - started
    await client.aclose()
    return elapsed


async def allos_agent(server: FakeGoogleServer, turns: int) -> float:
    from allos_google.provider import GoogleProvider

    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager
    from allos_core.tools import tool

    @tool(read_only=True)
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value {key}"

    provider = GoogleProvider(MODEL, api_key="k", base_url=server.base_url, max_retries=0)
    agent = Agent(
        provider,
        tools=[lookup],
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="bench",
        max_iterations=turns + 5,
        stream=False,
    )
    started = time.perf_counter()
    result = await agent.arun("look them up")
    elapsed = time.perf_counter() - started
    assert result.text == "done", result
    await provider.aclose()
    return elapsed


async def measure(turns: int, runs: int) -> dict[str, float]:
    ways = {"plain httpx": plain_httpx, "bare SDK": bare_sdk, "Allos Agent": allos_agent}
    times: dict[str, list[float]] = {name: [] for name in ways}
    with FakeGoogleServer(validate=False) as server:
        for run in range(runs + 1):  # the first round warms caches and imports
            for name, way in ways.items():
                queue_loop(server, turns)
                elapsed = await way(server, turns)
                if run:
                    times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    medians = asyncio.run(measure(args.turns, args.runs))
    floor = medians["plain httpx"]
    print(f"{args.turns}-turn tool loop ({args.turns + 1} requests), median of {args.runs} runs")
    print(f"{'way':<14}{'ms':>10}{'x floor':>10}{'ms/turn':>10}")
    for name, seconds in medians.items():
        per_turn = seconds * 1000 / (args.turns + 1)
        print(f"{name:<14}{seconds * 1000:>10.1f}{seconds / floor:>9.2f}x{per_turn:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
