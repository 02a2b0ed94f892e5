"""Agent-loop overhead per turn, over the bare openai SDK doing the same calls.

A local OpenAI-compatible server (the tests' fake, on 127.0.0.1) answers a 50-turn tool loop:
50 turns in which the model calls a tool, then a final answer (51 requests). The same exchange is
run three ways, each warm, median of several runs:

  bare SDK, create()  client.chat.completions.create(...) with hand-built messages
  bare SDK, post()    the same client's client.post("/chat/completions", ...): the floor
  Allos Agent         Agent(OpenAIProvider(...)).arun(...): provider mapping, permission
                      decisions, tool validation and execution, events, context estimates

and prints the Agent's overhead per turn over the faster bare variant (target: < 1 ms per turn),
and the same overhead counted outside the HTTP exchange (time inside client.post excluded on both
sides), which is less sensitive to the load of the machine the server shares.

Run: `uv run python bench/bench_loop.py [--turns 50] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.openai_server import FakeOpenAIServer  # noqa: E402

TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a key up.",
        "parameters": {
            "type": "object",
            "properties": {"key": {"type": "string"}},
            "required": ["key"],
            "additionalProperties": False,
        },
    },
}


def queue_loop(server: FakeOpenAIServer, turns: int) -> None:
    for turn in range(turns):
        server.queue_tool_call("lookup", {"key": f"k{turn}"}, id=f"call_{turn}")
    server.queue_text("All keys looked up.")


async def bare_loop(client, turns: int, use_create: bool) -> float:
    messages: list[dict] = [
        {"role": "system", "content": "You look keys up."},
        {"role": "user", "content": "Look every key up."},
    ]
    start = time.perf_counter()
    for _ in range(turns + 1):
        body = {"model": "gpt-5.4-mini", "messages": messages, "tools": [TOOL]}
        if use_create:
            completion = await client.chat.completions.create(**body)
            message = completion.choices[0].message
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in message.tool_calls or []
            ]
            content = message.content
        else:
            completion = await client.post("/chat/completions", cast_to=object, body=body)
            message = completion["choices"][0]["message"]
            calls = message.get("tool_calls") or []
            content = message.get("content")
        if not calls:
            break
        messages.append({"role": "assistant", "content": content, "tool_calls": calls})
        for call in calls:
            key = json.loads(call["function"]["arguments"])["key"]
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": f"{key}=1"})
    return time.perf_counter() - start


async def agent_loop(provider, turns: int) -> float:
    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager
    from allos_core.tools import tool

    # async, like the bare loop's inline work: a sync tool would add a worker-thread hop
    @tool(read_only=True)
    async def lookup(key: str) -> str:
        """Look a key up."""
        return f"{key}=1"

    agent = Agent(
        provider,
        tools=[lookup],
        system_prompt="You look keys up.",
        plugin_manager=create_plugin_manager([]),
        max_iterations=turns + 5,
        stream=False,
    )
    start = time.perf_counter()
    result = await agent.arun("Look every key up.")
    elapsed = time.perf_counter() - start
    assert result.stop_reason == "answered", result.error
    assert result.iterations == turns + 1
    return elapsed


class HttpClock:
    """Adds up the time spent inside ``client.post`` (the HTTP exchange and JSON decoding)."""

    def __init__(self, client) -> None:
        self.seconds = 0.0
        original = client.post

        async def timed_post(*args, **kwargs):
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        client.post = timed_post


async def measure(turns: int, runs: int) -> dict[str, list[float]]:
    import openai
    from allos_openai.provider import OpenAIProvider

    timings: dict[str, list[float]] = {
        "create": [],
        "post": [],
        "agent": [],
        "post_outside_http": [],
        "agent_outside_http": [],
    }
    with FakeOpenAIServer() as server:
        # one client for the bare loops and one provider (one client) for every agent run
        client = openai.AsyncOpenAI(api_key="sk-bench", base_url=server.openai_base_url)
        provider = OpenAIProvider(
            api_key="sk-bench", base_url=server.openai_base_url, max_retries=0
        )
        bare_clock = HttpClock(client)
        agent_clock = HttpClock(provider._get_client())
        for run in range(runs + 1):  # the first round warms every path up and is dropped
            for name in ("create", "post", "agent"):
                queue_loop(server, turns)
                bare_clock.seconds = agent_clock.seconds = 0.0
                if name == "agent":
                    seconds = await agent_loop(provider, turns)
                    outside = seconds - agent_clock.seconds
                else:
                    seconds = await bare_loop(client, turns, use_create=name == "create")
                    outside = seconds - bare_clock.seconds
                if run:
                    timings[name].append(seconds)
                    if name != "create":
                        timings[f"{name}_outside_http"].append(outside)
        await client.close()
        await provider.aclose()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    timings = asyncio.run(measure(args.turns, args.runs))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    requests = args.turns + 1
    print(f"{args.turns}-turn tool loop ({requests} requests), median of {args.runs} warm runs")
    labels = {
        "create": "bare SDK, chat.completions.create",
        "post": "bare SDK, client.post (floor)",
        "agent": "Allos Agent (openai provider)",
    }
    for name, label in labels.items():
        total = medians[name] * 1000
        print(f"  {label:<36}{total:>9.1f} ms  {total / requests:>7.2f} ms/turn")
    floor = min(medians["create"], medians["post"])
    overhead = (medians["agent"] - floor) * 1000 / requests
    outside = (medians["agent_outside_http"] - medians["post_outside_http"]) * 1000 / requests
    print(
        f"  outside the HTTP exchange: bare {medians['post_outside_http'] * 1000 / requests:.2f}"
        f" ms/turn, Agent {medians['agent_outside_http'] * 1000 / requests:.2f} ms/turn"
    )
    print(
        f"Agent overhead outside HTTP (mapping, tools, permissions, events): {outside:.2f} ms/turn"
    )
    verdict = "ok" if overhead < 1.0 else "ABOVE TARGET"
    print(
        f"Agent overhead over the bare SDK: {overhead:.2f} ms per turn (target < 1 ms): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
