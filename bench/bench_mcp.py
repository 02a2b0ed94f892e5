"""What an MCP server costs: start-up added to ``allos run``, and per call over the raw SDK.

1. ``allos run`` with the offline scripted provider (a one-turn answer), as a subprocess, with no
   MCP server configured and with ``mcp-server-time`` configured; beside them, the raw SDK
   starting the same server (``Client`` connect + ``list_tools``) and stopping it.
2. ``tools/call`` of ``get_current_time`` on one running server: the SDK's ``client.call_tool``
   against the same call through Allos (the listed tool's ``invoke``: validation, result mapping,
   the tool-source wrapper). Calls alternate so both see the same machine load.

    python bench/bench_mcp.py [--runs 5] [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ALLOS = str(BIN / "allos")
TIME_SERVER = str(BIN / "mcp-server-time")


def run_allos(env: dict[str, str], script: Path, workspace: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [ALLOS, "run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), "hi"],
        env=env,
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return (time.perf_counter() - started) * 1000


async def raw_start_stop() -> float:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    started = time.perf_counter()
    with open(os.devnull, "w") as errlog:
        params = StdioServerParameters(command=TIME_SERVER)
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await client.list_tools()
    return (time.perf_counter() - started) * 1000


def startup(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        workspace = root / "ws"
        workspace.mkdir()
        script = root / "script.json"
        script.write_text(json.dumps(["done"]))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOS_")}
        env.update(
            ALLOS_CONFIG_FILE=str(root / "none.toml"),
            ALLOS_SESSIONS_DIR=str(root / "sessions"),
            ALLOS_MCP_LOG_DIR=str(root / "logs"),
        )
        configured = root / "mcp.toml"
        configured.write_text(f"[mcp.servers.time]\ncommand = {json.dumps(TIME_SERVER)}\n")
        env_mcp = {**env, "ALLOS_CONFIG_FILE": str(configured)}
        run_allos(env, script, workspace)  # warm the caches
        plain, with_mcp, raw = [], [], []
        for _ in range(runs):
            plain.append(run_allos(env, script, workspace))
            with_mcp.append(run_allos(env_mcp, script, workspace))
            raw.append(asyncio.run(raw_start_stop()))
    base, mcp, sdk = (statistics.median(x) for x in (plain, with_mcp, raw))
    print(f"start-up (median of {runs}):")
    print(f"  allos run, no MCP server          {base:8.0f} ms")
    print(f"  allos run, mcp-server-time        {mcp:8.0f} ms   (+{mcp - base:.0f} ms)")
    print(f"  raw SDK: start + list + stop      {sdk:8.0f} ms")
    print(f"  added by the server / raw SDK     {(mcp - base) / sdk:8.2f}x")


async def per_call(calls: int) -> None:
    from allos_mcp import mcp_servers

    from allos_core.tool_sources import ToolSourceRunner
    from allos_core.tools import ToolContext

    arguments = {"timezone": "UTC"}
    context = ToolContext()
    (source,) = mcp_servers({"time": {"command": TIME_SERVER}})
    async with ToolSourceRunner([source]) as runner:
        tool = (await runner.start())["mcp__time__get_current_time"]
        client = source._client  # the same connection, for the raw SDK side
        for _ in range(20):  # warm up both paths
            await client.call_tool("get_current_time", arguments)
            await tool.invoke(arguments, context)
        raw, ours = [], []
        for _ in range(calls):
            started = time.perf_counter()
            await client.call_tool("get_current_time", arguments)
            raw.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = await tool.invoke(arguments, context)
            ours.append(time.perf_counter() - started)
            assert not result.is_error, result.content
    sdk, allos = statistics.median(raw) * 1000, statistics.median(ours) * 1000
    print(f"per call, get_current_time (median of {calls}):")
    print(f"  raw SDK client.call_tool          {sdk:8.3f} ms")
    print(f"  through Allos (tool.invoke)       {allos:8.3f} ms   (+{allos - sdk:.3f} ms)")
    print(f"  Allos / raw SDK                   {allos / sdk:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    options = parser.parse_args()
    startup(options.runs)
    asyncio.run(per_call(options.calls))


if __name__ == "__main__":
    main()
