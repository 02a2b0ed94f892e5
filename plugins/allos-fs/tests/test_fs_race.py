"""Race-freedom of the file tools: a folder swapped for a symlink to a folder outside, over and
over by a background process while the tools read and write through it, never lets a read or a
write land outside the workspace (the check and the open are one step, beneath a descriptor).

The swapper is a separate process, as in the attack (a process an approved command left running):
a thread would hold the GIL between swaps and almost never hit the window between the check and
the open. It swaps with ``renameat2(RENAME_EXCHANGE)`` so ``sub`` is never missing, a bounded
number of times; the tools run until it is done. No sleeps.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allos_fs.tools import edit_file, glob, grep, list_directory, read_file, write_file

from allos_core import workspace_fs
from allos_core.tools import ToolContext

SECRET = "OUTSIDE-SECRET-5d1e"
SWAPS = 60_000
MAX_ROUNDS = 5_000

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs renameat2(RENAME_EXCHANGE)"
)

_SWAPPER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b, count = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2]), int(sys.argv[3])
sys.stdout.write("ready\\n"); sys.stdout.flush()
for _ in range(count):
    if libc.renameat2(-100, a, -100, b, 2):  # AT_FDCWD, RENAME_EXCHANGE
        sys.exit("renameat2 failed: " + os.strerror(ctypes.get_errno()))
"""


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture(params=["openat2", "walk"])
def resolver(request, monkeypatch):
    """Both resolvers: the kernel's openat2 (when it has it) and the portable O_NOFOLLOW walk."""
    if request.param == "openat2" and not workspace_fs.has_openat2():
        pytest.skip("this kernel has no openat2")
    if request.param == "walk":
        monkeypatch.setattr(workspace_fs, "_openat2_state", [None])
    return request.param


def test_swapping_a_folder_for_an_outside_symlink_never_redirects_reads_or_writes(
    tmp_path, resolver
):
    # given: ws/sub/f.txt inside, outside/f.txt holding a secret, ws/.link -> outside
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "sub").mkdir(parents=True)
    outside.mkdir()
    (ws / "sub" / "f.txt").write_text("inside marker\n")
    (outside / "f.txt").write_text(f"{SECRET} marker\n")
    os.symlink(outside, ws / ".link")
    before = _snapshot(outside)
    context = ToolContext(workspace=ws)
    calls = [
        (read_file, {"path": "sub/f.txt"}),
        (write_file, {"path": "sub/new.txt", "content": "written\n"}),
        (edit_file, {"path": "sub/f.txt", "old_text": "marker", "new_text": "marker!"}),
        (edit_file, {"path": "sub/f.txt", "old_text": "marker!", "new_text": "marker"}),
        (grep, {"pattern": "marker", "path": "sub"}),
        (list_directory, {"path": "sub"}),
        (glob, {"pattern": "sub/*.txt"}),
        (write_file, {"path": "sub/deep/er/new.txt", "content": "written\n"}),
    ]
    seen: list[str] = []
    worked = 0

    # when: the tools run over and over while another process swaps ws/sub and ws/.link
    swapper = subprocess.Popen(
        [sys.executable, "-c", _SWAPPER, str(ws / "sub"), str(ws / ".link"), str(SWAPS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert swapper.stdout is not None and swapper.stdout.readline() == "ready\n"

    async def hammer() -> None:
        nonlocal worked
        rounds = 0
        while (swapper.poll() is None or rounds < 5) and rounds < MAX_ROUNDS:
            rounds += 1
            for tool, arguments in calls:
                result = await tool.invoke(dict(arguments), context)
                seen.append(result.content + repr(result.metadata))
                worked += not result.is_error

    try:
        asyncio.run(hammer())
    finally:
        swapper.kill()
        swapper.wait()

    # then: nothing outside was read, written or created, and the tools did work meanwhile
    assert not [text for text in seen if SECRET in text]
    assert _snapshot(outside) == before
    assert worked > 0
