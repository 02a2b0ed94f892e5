"""Read-only bind mounts over the agent's configuration, in a private mount namespace.

Landlock grants rights to whole trees and cannot take one file out of a writable tree; a mount
can. Where unprivileged user namespaces are allowed, the launcher moves itself into a new user
and mount namespace and bind-mounts each protected path (``allos.toml``, ``.git/config``,
``.git/hooks``, ...) read-only over itself. A write then fails with "Read-only file system", a
removal or rename with "Device or resource busy"; nothing outside the command sees the mounts,
and they vanish with it. Landlock, applied afterwards, forbids every mount change, so the command
cannot undo them.

Standard library only: the launcher loads this file by path. Failure is never fatal: the
configuration guard (:mod:`allos_shell.sandbox.guard`) still puts changes back.
"""

from __future__ import annotations

import ctypes
import os

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY = 1
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MS_RELATIME = 1 << 21
# statvfs flags that a read-only remount must keep (locked in a user namespace); same values
# as the MS_ flags, except relatime
_KEEP = 2 | 4 | 8 | 1024 | 2048  # nosuid, nodev, noexec, noatime, nodiratime
_ST_RELATIME = 4096


def protect(paths: list[str]) -> list[str]:
    """Make each existing path read-only for this process and its children; the paths done.

    Symlinks are skipped (a mount would follow them). Returns [] when user namespaces are not
    available; may return fewer paths than asked when some mounts fail.
    """
    targets = [p for p in paths if os.path.lexists(p) and not os.path.islink(p)]
    if not targets:
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS) != 0:
        return []
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError:
        return []
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return []
    done = []
    for path in targets:
        raw = os.fsencode(path)
        if libc.mount(raw, raw, None, _MS_BIND, None) != 0:
            continue
        flags = os.statvfs(path).f_flag
        remount = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | (flags & _KEEP)
        if flags & _ST_RELATIME:
            remount |= _MS_RELATIME
        if libc.mount(None, raw, None, remount, None) == 0:
            done.append(path)
        else:
            libc.umount2(raw, 0)
    return done


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
