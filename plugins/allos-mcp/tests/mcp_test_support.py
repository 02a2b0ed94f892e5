"""Helpers for the allos-mcp tests: server commands, child processes (imported by the tests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SERVERS = Path(__file__).parent / "servers"
BIN = Path(sys.executable).parent
#: the real servers from PyPI (test dependencies), installed next to this interpreter
TIME_SERVER = str(BIN / "mcp-server-time")
GIT_SERVER = str(BIN / "mcp-server-git")


def helper_server(name: str, *args: str) -> dict[str, object]:
    """A ``[mcp.servers.X]`` entry running one of the servers in tests/servers."""
    return {"command": sys.executable, "args": [str(SERVERS / f"{name}.py"), *args]}


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def live_children() -> set[int]:
    """Live child processes of this test process (Linux /proc)."""
    me = os.getpid()
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me and fields[0] not in ("Z", "X"):
            found.add(int(stat.parent.name))
    return found
