"""Keep commands out of the agent's own memory and environment.

Commands run as the user, so ``/proc/PID/environ`` (and ``mem``) of the Allos process that
started them is readable to them, and that environment holds the provider keys the command's own
environment goes without. Marking the Allos process not dumpable (``PR_SET_DUMPABLE 0``) makes
those files root's and ``ptrace``-style access to it need ``CAP_SYS_PTRACE``, which a command in
the launcher's user namespace never has. Side effect: core dumps of Allos are off and a debugger
(``py-spy``, ``gdb -p``) needs root to attach.
"""

from __future__ import annotations

import sys

_PR_SET_DUMPABLE = 4
_done = False


def hide_agent_process() -> bool:
    """Make this process not dumpable (Linux; once); True when it is."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _done = libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    return _done
