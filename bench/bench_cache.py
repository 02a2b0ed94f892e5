"""Input tokens billed over a tool loop on Claude, with prompt caching (the default) and without.

The fake Anthropic server (tests/fakes) computes what the API would count from the request's
``cache_control`` breakpoints: tokens read from the cache, tokens written to it, and the rest.
A TURNS-turn tool loop with Allos's default coding-agent system prompt and its file tools is run
both ways; the bill uses Anthropic's multipliers for the five-minute cache (a cache write costs
1.25x an input token, a cache read 0.1x).

Run: `uv run python bench/bench_cache.py [--turns 30]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.anthropic_server import FakeAnthropicServer  # noqa: E402

WRITE_PRICE = 1.25
READ_PRICE = 0.1


def run(turns: int, cache: bool, workspace: Path) -> dict[str, int]:
    from allos_anthropic.provider import AnthropicProvider

    from allos_core.agent import Agent

    with FakeAnthropicServer() as server:
        for n in range(turns):
            server.queue_tool_call("read_file", {"path": "notes.txt"}, id=f"toolu_{n}")
        server.queue_text("I read the notes.")
        provider = AnthropicProvider(
            api_key="sk-ant-bench", base_url=server.base_url, max_retries=0, cache=cache
        )
        with Agent(provider, workspace=workspace, max_iterations=turns + 5) as agent:
            result = agent.run("Read the notes, again and again.")
    assert result.stop_reason == "answered", result.error
    usage = result.usage
    fresh = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    billed = fresh + WRITE_PRICE * usage.cache_write_tokens + READ_PRICE * usage.cache_read_tokens
    return {
        "input": usage.input_tokens,
        "fresh": fresh,
        "write": usage.cache_write_tokens,
        "read": usage.cache_read_tokens,
        "billed": round(billed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        (workspace / "notes.txt").write_text("hello from the notes\n" * 20)
        off = run(args.turns, False, workspace)
        on = run(args.turns, True, workspace)
    print(f"{args.turns}-turn tool loop on Claude ({args.turns + 1} requests), input tokens")
    print(f"  {'':<16}{'all input':>10}{'uncached':>10}{'written':>10}{'read':>10}{'billed':>10}")
    for label, row in (("no caching", off), ("caching (default)", on)):
        print(
            f"  {label:<16}{row['input']:>10,}{row['fresh']:>10,}{row['write']:>10,}"
            f"{row['read']:>10,}{row['billed']:>10,}"
        )
    print(f"billed input with caching / without: {on['billed'] / off['billed']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
