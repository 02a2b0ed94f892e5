"""What one tool-loop turn costs through `allos run`, beside a plain httpx loop on the same server.

A local OpenAI-compatible server (the tests' validating fake, on 127.0.0.1) answers a tool loop of
TURNS turns (the model reads a small file each turn) and a final answer. Side by side, in one run:

  httpx, JSON     a plain httpx.Client posting the conversation, json-decoding the answers
  httpx, stream   the same, streaming: server-sent events read line by line and decoded
                  (both in a subprocess too, so no client shares the server's GIL)
  allos run       the real CLI as a subprocess (`allos run -p openai --base-url ...`):
                  streaming, rendering to stderr, read_file through the workspace resolver,
                  permission decisions, events, the session saved after every turn

The httpx loops send what the CLI sends (its system prompt and read_file schema, taken from a
first CLI run), so every loop carries the same bytes. A turn is timed the same way for all three by the server: (arrival of the last request - arrival
of the first) / TURNS, so the CLI's start-up and imports are not counted (they are printed
apart); each figure is the minimum of RUNS runs. The goal: an `allos run` turn within 2x a plain
httpx turn.

Run: `uv run python bench/bench_cli_turn.py [--turns 200] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.openai_server import FakeOpenAIServer  # noqa: E402


class TimedServer(FakeOpenAIServer):
    """The fake server, noting when each chat request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def handle(self, request):  # type: ignore[no-untyped-def]
        if request.method == "POST":
            self.arrivals.append(time.perf_counter())
        return super().handle(request)

    def turn_seconds(self) -> float:
        arrivals, self.arrivals = self.arrivals, []
        return (arrivals[-1] - arrivals[0]) / (len(arrivals) - 1)


def queue_loop(server: FakeOpenAIServer, turns: int) -> None:
    for turn in range(turns):
        server.queue_tool_call("read_file", {"path": "notes.txt"}, id=f"call_{turn}")
    server.queue_text("I read the notes; they say hello.")


def httpx_loop(base_url: str, workspace: Path, prompt: dict, stream: bool) -> float:
    """A plain loop until the model stops calling tools; ``prompt``: system message and tools."""
    import httpx

    messages: list[dict] = [prompt["system"], {"role": "user", "content": "Read the notes."}]
    tools = prompt["tools"]
    headers = {"authorization": "Bearer sk-bench"}
    start = time.perf_counter()
    with httpx.Client(base_url=base_url, headers=headers) as client:
        while True:
            body = {"model": "gpt-5.4-mini", "messages": messages, "tools": tools}
            if stream:
                body["stream"] = True
                content, calls = "", {}
                with client.stream("POST", "/chat/completions", json=body) as response:
                    for line in response.iter_lines():
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        for choice in json.loads(line[6:]).get("choices") or ():
                            delta = choice.get("delta") or {}
                            content += delta.get("content") or ""
                            for piece in delta.get("tool_calls") or ():
                                call = calls.setdefault(piece["index"], {"args": ""})
                                call.update({k: piece[k] for k in ("id",) if piece.get(k)})
                                function = piece.get("function") or {}
                                if function.get("name"):
                                    call["name"] = function["name"]
                                call["args"] += function.get("arguments") or ""
                tool_calls = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["args"]},
                    }
                    for _, c in sorted(calls.items())
                ]
            else:
                answer = client.post("/chat/completions", json=body).json()
                message = answer["choices"][0]["message"]
                content, tool_calls = message.get("content"), message.get("tool_calls") or []
            if not tool_calls:
                break
            messages.append({"role": "assistant", "content": content, "tool_calls": tool_calls})
            for call in tool_calls:
                path = json.loads(call["function"]["arguments"])["path"]
                lines = (workspace / path).read_text().splitlines()
                text = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, 1))
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": text})
    return time.perf_counter() - start


def child(command: list[str], env: dict[str, str] | None = None) -> float:
    """Run ``command`` to the end; its CPU seconds (user + system), robust to a loaded machine."""
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if os.environ.get("BENCH_DEBUG") else subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        detail = process.stderr.read().decode()[-2000:] if process.stderr else ""
        raise SystemExit(f"{command[0]} failed ({process.returncode}) {detail}")
    return usage.ru_utime + usage.ru_stime


def cli_command(base_url: str, workspace: Path, turns: int, home: Path) -> tuple[list[str], dict]:
    allos = shutil.which("allos") or str(Path(sys.executable).with_name("allos"))
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-bench",
        "ALLOS_SESSIONS_DIR": str(home / "sessions"),
        "ALLOS_CONFIG_FILE": str(home / "config.toml"),
        "COLUMNS": "100",
    }
    (home / "sessions" / "bench.json").unlink(missing_ok=True)
    command = [
        allos,
        "run",
        "-p",
        "openai",
        "--base-url",
        base_url,
        "-t",
        "read_file",
        "-s",
        "bench",
        "--max-iterations",
        str(turns + 5),
        "--workspace",
        str(workspace),
        "Read the notes.",
    ]
    return command, env


def main() -> int:
    if sys.argv[1:2] == ["--httpx"]:  # the plain client, run as its own process
        flag, base_url, workspace, prompt = sys.argv[2:6]
        httpx_loop(base_url, Path(workspace), json.loads(prompt), stream=flag == "stream")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    turns, runs = args.turns, args.runs
    names = ("httpx, JSON", "httpx, stream", "allos run")
    wall: dict[str, float] = {}
    cpu: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp, TimedServer() as server:
        workspace = Path(tmp) / "work"
        workspace.mkdir()
        (workspace / "notes.txt").write_text("hello from the notes\n" * 5)
        home = Path(tmp) / "home"
        (home / "sessions").mkdir(parents=True)
        base_url = server.openai_base_url
        queue_loop(server, 1)
        child(*cli_command(base_url, workspace, 1, home))
        first = server.chat_requests[-2]
        prompt = json.dumps({"system": first["messages"][0], "tools": first["tools"]})
        server.turn_seconds()
        for run in range(runs + 1):  # the first round warms caches up and is dropped
            for name in names:
                for n in (turns, 1):  # the 1-turn run: the start-up CPU to subtract
                    queue_loop(server, n)
                    if name == "allos run":
                        seconds = child(*cli_command(base_url, workspace, n, home))
                    else:
                        flag = "stream" if name == "httpx, stream" else "json"
                        here = str(workspace)
                        seconds = child(
                            [sys.executable, __file__, "--httpx", flag, base_url, here, prompt]
                        )
                    turn = server.turn_seconds()
                    if server.rejections:
                        raise SystemExit(f"the server rejected: {server.rejections[-1]}")
                    if run:
                        cpu[name, n] = min(cpu.get((name, n), seconds), seconds)
                        if n == turns:
                            wall[name] = min(wall.get(name, turn), turn)
    cpu_turn = {name: (cpu[name, turns] - cpu[name, 1]) / (turns - 1) for name in names}
    print(f"{turns}-turn tool loop, minimum of {runs} runs, per turn (ratio to httpx, stream)")
    print(f"  {'':<16}{'wall (server)':>16}{'client CPU':>20}")
    for name in names:
        w = wall[name] / wall["httpx, stream"]
        c = cpu_turn[name] / cpu_turn["httpx, stream"]
        print(
            f"  {name:<16}{wall[name] * 1000:>8.2f} ms {w:>5.2f}x"
            f"{cpu_turn[name] * 1000:>12.2f} ms {c:>5.2f}x"
        )
    startup = cpu["allos run", 1]
    print(f"  (allos run start-up and one turn: {startup * 1000:.0f} ms CPU)")
    print(
        "allos run turn / plain httpx turn (streaming, like the CLI): "
        f"{wall['allos run'] / wall['httpx, stream']:.2f}x wall, "
        f"{cpu_turn['allos run'] / cpu_turn['httpx, stream']:.2f}x CPU (goal <= 2x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
