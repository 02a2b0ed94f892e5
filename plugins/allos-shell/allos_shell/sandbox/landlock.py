"""Landlock through ctypes: the ABI version, and confining the calling process.

Standard library only, because the sandbox launcher (:mod:`allos_shell.sandbox.launcher`) loads
this file by path in a bare ``python -I -S`` before it runs a command. The kernel interface is
three system calls (``landlock_create_ruleset``, ``landlock_add_rule``,
``landlock_restrict_self``); see https://docs.kernel.org/userspace-api/landlock.html.

What is handled (denied unless a rule allows it) depends on the ABI the kernel offers:

- file system writes: every right that creates, writes, truncates, removes, renames or links
  (ABI 1; ``REFER`` from 2, ``TRUNCATE`` from 3). Reads and execution are never handled;
- TCP ``connect`` and ``bind`` (ABI 4), unless network is allowed;
- signals to processes outside the sandbox and abstract Unix sockets (ABI 6).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

# system call numbers: the same on every architecture (asm-generic, added in Linux 5.13)
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# file system rights
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
# network rights (ABI 4) and scopes (ABI 6)
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

#: every write right of ABI 1
WRITE_V1 = (
    WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
    | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM
)  # fmt: skip
#: the rights a rule on a regular file (not a folder) may carry
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE


class LandlockUnavailable(OSError):
    """The kernel (or a container's seccomp filter) does not let this process use Landlock."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The Landlock ABI the kernel offers (1, 2, ...), or 0 when Landlock cannot be used here.

    0 covers another OS, a kernel without Landlock (``ENOSYS``), Landlock disabled at boot
    (``EOPNOTSUPP``) and a seccomp filter that forbids the call (``EPERM``).
    """
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = _libc()
        version = libc.syscall(
            _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION
        )
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def unavailable_reason() -> str:
    """Why :func:`abi_version` is 0, in words a user can act on."""
    if not sys.platform.startswith("linux"):
        return f"Landlock is a Linux feature; this is {sys.platform}"
    libc = _libc()
    if libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION) >= 0:
        return ""
    code = ctypes.get_errno()
    if code == errno.ENOSYS:
        return "the kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)"
    if code == errno.EOPNOTSUPP:
        return "Landlock is disabled at boot (add landlock to the lsm= kernel parameter)"
    return f"the Landlock system call is refused here ({os.strerror(code)}; a container's seccomp filter?)"


def handled_fs(abi: int) -> int:
    """The write rights this ABI can handle."""
    rights = WRITE_V1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def restrict_self(
    writable: list[tuple[str, int]], *, block_tcp: bool, abi: int | None = None
) -> int:
    """Confine this process (and every process it starts) for good; returns the ABI used.

    ``writable`` is a list of ``(path, rights)``: each path (a folder applies to everything
    beneath it) gets those rights, limited to what the ABI handles and, for a file, to the
    rights a file may carry. Paths that do not exist are skipped; symlinks are not followed.
    ``block_tcp`` denies every TCP connect and bind (ABI 4 and later). Raises
    :class:`LandlockUnavailable` when Landlock cannot be used, ``OSError`` on any other failure:
    the caller must then not run the command.
    """
    abi = abi_version() if abi is None else abi
    if abi < 1:
        raise LandlockUnavailable(unavailable_reason())
    libc = _libc()
    fs = handled_fs(abi)
    attr = _RulesetAttr(fs, 0, 0)
    size = 8
    if abi >= 4:
        size = 16
        if block_tcp:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
    if abi >= 6:
        size = 24
        attr.scoped = SCOPE_SIGNAL | (SCOPE_ABSTRACT_UNIX_SOCKET if block_tcp else 0)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise _error("landlock_create_ruleset")
    try:
        for path, rights in writable:
            _add_path_rule(libc, ruleset, path, rights & fs)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _error("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise _error("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # gone or unreadable: nothing to allow
    try:
        import stat

        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            return
        if not stat.S_ISDIR(mode):
            rights &= FILE_RIGHTS
        if not rights:
            return
        rule = _PathBeneathAttr(rights, fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise _error(f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def _error(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what} failed: {os.strerror(code)}")
