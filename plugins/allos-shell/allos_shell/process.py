"""Run one command in its own process group, with capped output, a timeout and clean kills.

:func:`run_command` starts ``argv`` with stdin closed and in a new session (so it has its own
process group and no controlling terminal: a program that wants to prompt fails instead of
hanging). stdout and stderr are read as they come into :class:`CappedOutput` buffers that keep the
head and the tail. On timeout, on cancellation (Ctrl-C in the agent) and when background processes
keep the output pipes open after the command exits, the whole group is stopped: ``SIGTERM``, a
short grace, then ``SIGKILL`` — children and grandchildren included.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allos_shell.limits import DEFAULT_OUTPUT_LIMIT

#: bytes kept per stream by default (half from the start, half from the end)
_POLL = 0.02


class CappedOutput:
    """The first and last bytes of a stream, and how many were cut from the middle.

    Memory stays bounded however much a command prints.
    """

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.head_limit = max(limit // 2, 0)
        self.tail_limit = max(limit - self.head_limit, 0)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        """Add a chunk of output."""
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_limit:
            self.tail += data
            if len(self.tail) > 2 * self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    @property
    def cut(self) -> int:
        """How many bytes were dropped from the middle."""
        return max(self.total - len(self.head) - min(len(self.tail), self.tail_limit), 0)

    def text(self, name: str = "output") -> str:
        """The kept output as text, with a marker where the middle was cut."""
        head = codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(self.head))
        tail_bytes = bytes(self.tail[-self.tail_limit :]) if self.tail_limit else b""
        if not self.cut:
            return bytes(self.head + tail_bytes).decode("utf-8", "replace")
        # do not start the tail in the middle of a UTF-8 character
        skip = 0
        while skip < min(3, len(tail_bytes)) and tail_bytes[skip] & 0xC0 == 0x80:
            skip += 1
        tail = tail_bytes[skip:].decode("utf-8", "replace")
        marker = (
            f"\n[... {self.cut} bytes of {name} cut from the middle; "
            f"showing the first {len(self.head)} and the last {len(tail_bytes)} bytes ...]\n"
        )
        return head + marker + tail


@dataclass
class ProcessOutcome:
    """How a command ended.

    ``exit_code`` is negative when a signal ended it (``-9`` for ``SIGKILL``). ``timed_out`` means
    it was killed because the timeout passed; ``stragglers_killed`` that the command exited but
    background processes it started kept the output open and were stopped.
    """

    exit_code: int | None
    stdout: CappedOutput
    stderr: CappedOutput
    duration: float
    timed_out: bool = False
    stragglers_killed: bool = False


async def run_command(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    kill_grace: float = 2.0,
    drain_grace: float = 1.0,
    env: dict[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> ProcessOutcome:
    """Run ``argv`` in ``cwd`` and wait for it, at most ``timeout`` seconds.

    ``kill_grace`` is how long the group gets between ``SIGTERM`` and ``SIGKILL``;
    ``drain_grace`` how long output pipes may stay open after the command itself exited. If the
    caller is cancelled, the group is killed before the cancellation propagates. ``env`` is the
    command's whole environment (None: Allos's own); ``pass_fds`` stay open in the child.
    """
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitAwareProtocol(loop),
        *argv,
        cwd=os.fspath(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        env=env,
        pass_fds=tuple(pass_fds),
    )
    process = asyncio.subprocess.Process(transport, protocol, loop)
    group = process.pid  # a new session: the group id is the leader's pid
    stdout, stderr = CappedOutput(output_limit), CappedOutput(output_limit)
    readers = [
        asyncio.ensure_future(_pump(process.stdout, stdout)),
        asyncio.ensure_future(_pump(process.stderr, stderr)),
    ]
    timed_out = stragglers = False
    try:
        # not process.wait(): before Python 3.12 it also waits for the pipes to close
        done, _ = await asyncio.wait([protocol.exited], timeout=timeout)
        if not done:
            timed_out = True
            await stop_group(group, kill_grace)
        _, pending = await asyncio.wait(readers, timeout=drain_grace)
        if pending:
            stragglers = not timed_out
            await stop_group(group, kill_grace)
            await asyncio.wait(readers, timeout=drain_grace)
        await _finish(process, readers)
    except BaseException:  # cancelled (Ctrl-C) or interrupted: never leave the group running
        _signal_group(group, signal.SIGTERM)
        try:
            await _wait_group_gone(group, kill_grace)
        finally:
            _signal_group(group, signal.SIGKILL)
            with contextlib.suppress(BaseException):
                await _wait_group_gone(group, kill_grace)
            with contextlib.suppress(BaseException):
                await _finish(process, readers)
        raise
    return ProcessOutcome(
        exit_code=process.returncode,
        stdout=stdout,
        stderr=stderr,
        duration=time.monotonic() - started,
        timed_out=timed_out,
        stragglers_killed=stragglers,
    )


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The protocol of ``asyncio.create_subprocess_exec``, plus a future set when the process exits.

    ``Process.wait()`` also waits for the output pipes to close, which background processes can
    keep open long after the command itself exited.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


async def _pump(stream: asyncio.StreamReader | None, sink: CappedOutput) -> None:
    if stream is None:
        return
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return
        sink.feed(chunk)


async def _finish(
    process: asyncio.subprocess.Process, readers: Sequence[asyncio.Future[Any]]
) -> None:
    """Reap the process, stop the readers and close the pipes, so nothing outlives the call."""
    for reader in readers:
        if not reader.done():
            reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), 5.0)
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


async def stop_group(group: int, grace: float) -> None:
    """Stop every process of ``group``: ``SIGTERM``, up to ``grace`` seconds, then ``SIGKILL``."""
    _signal_group(group, signal.SIGTERM)
    if await _wait_group_gone(group, grace):
        return
    _signal_group(group, signal.SIGKILL)
    await _wait_group_gone(group, grace)


def _signal_group(group: int, signum: int) -> None:
    """Signal every process of ``group``, if any still runs (never a recycled, empty group id)."""
    if not group_alive(group):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


async def _wait_group_gone(group: int, timeout: float) -> bool:
    """Wait until no process of ``group`` is running (zombies do not count); False on timeout."""
    deadline = time.monotonic() + timeout
    while group_alive(group):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL)
    return True


_PROC = Path("/proc")


def group_alive(group: int) -> bool:
    """Whether any process of the process group ``group`` is still running.

    On Linux this reads ``/proc`` and ignores zombies (dead, waiting to be reaped); elsewhere it
    asks the kernel with signal 0, which counts zombies as alive.
    """
    if _PROC.joinpath("self", "stat").exists():
        with os.scandir(_PROC) as entries:
            pids = [entry.name for entry in entries if entry.name.isdigit()]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 2 and int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
                return True
        return False
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
