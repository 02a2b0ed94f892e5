"""The sandbox launcher: confine, then run one command and every process it starts, then clean up.

Run as ``python -I -S launcher.py SPEC -- PROGRAM ARGS...`` (standard library only: it starts
for every command, so it must start fast). ``SPEC`` is JSON written by
:func:`allos_shell.sandbox.policy.launcher_spec`:

- ``protect``: paths made read-only with bind mounts in a private user and mount namespace,
  where the system allows it (:mod:`allos_shell.sandbox.mounts`; never fatal);
- ``writable``: ``[[path, rights], ...]`` and ``block_tcp``: applied with Landlock when
  ``landlock`` is true. If Landlock was asked for and cannot be applied, the command does **not**
  run (exit 125, the reason on stderr): the sandbox fails closed;
- ``linger``: seconds the processes the command left behind may keep running after it exits;
- ``grace``: seconds between ``SIGTERM`` and ``SIGKILL`` when stopping them;
- ``status_fd``: a descriptor to write one JSON line to at the end:
  ``{"exit": N, "stopped": K, "protected": [paths]}`` (N negative when signal -N ended the command; K = processes
  stopped because the command left them running or was itself stopped).

The launcher exits as the command did (same code, or killed by the same signal).

The launcher makes itself a *child subreaper* (``PR_SET_CHILD_SUBREAPER``): a process the command
starts that leaves its process group or session (``setsid``, a double fork) is re-parented to
the launcher, not to init, so the launcher finds and stops it. On ``SIGTERM``/``SIGINT``/
``SIGHUP`` (a timeout or a cancelled run) it stops every descendant, then exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

_PR_SET_CHILD_SUBREAPER = 36
_POLL = 0.01


class _Stop(Exception):
    pass


def _on_signal(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    command = argv[3:] if len(argv) > 3 and argv[2] == "--" else argv[2:]
    if not command:
        sys.stderr.write("allos sandbox launcher: no command\n")
        return 125
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    protected: list[str] = []
    if spec.get("protect"):
        try:
            protected = _sibling("mounts").protect([str(p) for p in spec["protect"]])
        except Exception:  # never fatal: the guard puts changes back
            protected = []
    if spec.get("landlock"):
        try:
            _sibling("landlock").restrict_self(
                [(p, int(r)) for p, r in spec.get("writable", [])],
                block_tcp=bool(spec.get("block_tcp")),
            )
        except OSError as exc:
            sys.stderr.write(f"allos sandbox: the command was not run: {exc}\n")
            return 125
    status_fd = spec.get("status_fd")
    if isinstance(status_fd, int):  # the command must not be able to write our report
        with contextlib.suppress(OSError):
            os.set_inheritable(status_fd, False)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    stopped = 0
    code = -signal.SIGTERM
    try:
        try:  # posix_spawn: no copy of this process, and default signal handling for the command
            pid = os.posix_spawnp(
                command[0], command, os.environ,
                setsigdef=(signal.SIGTERM, signal.SIGINT, signal.SIGHUP),
            )  # fmt: skip
        except OSError as exc:
            sys.stderr.write(f"{command[0]}: {exc.strerror}\n")
            return 127
        code = _wait_for(pid)
        stopped = _stop_descendants(float(spec.get("linger", 1.0)), float(spec.get("grace", 1.0)))
    except _Stop as stop:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stopped = _stop_descendants(0.0, float(spec.get("grace", 1.0)))
        code = -int(stop.args[0])
    if isinstance(status_fd, int):
        with contextlib.suppress(OSError):
            report = {"exit": code, "stopped": stopped, "protected": protected}
            os.write(status_fd, (json.dumps(report) + "\n").encode())
    return code


def _sibling(name: str):  # type: ignore[no-untyped-def,unused-ignore]
    """A sibling module (landlock.py, mounts.py), loaded by path: the launcher runs without
    site-packages."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_allos_{name}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _wait_for(pid: int) -> int:
    """Reap children until ``pid`` exits; its exit code (-N when signal N ended it)."""
    while True:
        reaped, status = os.waitpid(-1, 0)
        if reaped == pid:
            return os.waitstatus_to_exitcode(status)


def _descendants() -> list[int]:
    """Every live descendant: children, and theirs (orphans are re-parented to us)."""
    found: list[int] = []
    stack = [os.getpid()]
    while stack:
        pid = stack.pop()
        for child in _children_of(pid):
            found.append(child)
            stack.append(child)
    return found


def _children_of(pid: int) -> list[int]:
    """Live children of ``pid`` from ``/proc/PID/task/*/children`` (zombies left out)."""
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                children += [int(c) for c in handle.read().split()]
        except FileNotFoundError:  # a kernel without CONFIG_PROC_CHILDREN: scan every process
            return _scan_children(pid)
        except OSError:
            continue
    return [c for c in children if _alive(c)]


def _scan_children(pid: int) -> list[int]:
    parent = str(pid).encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[1] == parent and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _stop_descendants(linger: float, grace: float) -> int:
    """Let leftovers run ``linger`` s, then SIGTERM, ``grace`` s, SIGKILL until none is left."""
    deadline = time.monotonic() + linger
    while _descendants() and time.monotonic() < deadline:
        _reap()
        time.sleep(_POLL)
    _reap()
    seen: set[int] = set()
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        pids = _descendants()
        if not pids:
            break
        seen.update(pids)
        end = time.monotonic() + wait
        while pids and time.monotonic() < end:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            _reap()
            time.sleep(_POLL)
            pids = _descendants()
            seen.update(pids)
    _reap()
    return len(seen)


def _exit(code: int) -> None:
    """Exit like the command did: with its code, or killed by the same signal."""
    if code < 0:
        sys.stdout.flush()
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(1)
        code = 128 - code
    sys.exit(code)


if __name__ == "__main__":
    _exit(main(sys.argv))
