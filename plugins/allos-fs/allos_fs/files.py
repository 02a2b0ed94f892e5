"""Low-level file work shared by the tools: safe opening, binary sniffing, atomic writes, diffs.

Every function here takes the workspace resolver (:attr:`ToolContext.fs
<allos_core.tools.ToolContext.fs>`) and a workspace-relative path already checked by
:meth:`ToolContext.resolve_path` (its canonical, symlink-free form). The open itself happens
beneath a descriptor of the workspace (see :mod:`allos_core.workspace_fs`), with ``O_NOFOLLOW``
on the last part, so a folder or file swapped for a symlink after the check is refused, never
followed out of the workspace.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from allos_core.errors import AllosError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.workspace_fs import WorkspaceFS

#: edit_file (and write_file's diff of the old content) refuse files larger than this: the
#: whole file is held in memory, twice, to edit it
MAX_EDIT_BYTES = 10 * 1024 * 1024
#: how much of a file's start is checked for NUL bytes to call it binary
SNIFF_BYTES = 8192
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


class FileToolError(AllosError):
    """A file tool cannot do what was asked (missing file, folder instead of file, binary...)."""


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file look binary (contain a NUL byte)."""
    return b"\x00" in head


def open_regular(fs: WorkspaceFS, rel: str) -> int:
    """Open the regular file ``rel`` beneath the workspace for reading and return its
    descriptor; clear errors otherwise (:class:`~allos_core.workspace_fs.UnsafePathError` when
    the path would leave the workspace)."""
    return open_regular_stat(fs, rel)[0]


def open_regular_stat(fs: WorkspaceFS, rel: str) -> tuple[int, os.stat_result]:
    """Like :func:`open_regular`, also returning the file's ``fstat``."""
    try:
        fd = fs.open(rel, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_BINARY)
    except FileNotFoundError:
        raise FileToolError(f"{rel}: no such file") from None
    except IsADirectoryError:
        raise FileToolError(
            f"{rel} is a folder, not a file; use list_directory to see it"
        ) from None
    except PermissionError:
        raise FileToolError(f"{rel}: permission denied") from None
    except OSError as exc:
        raise FileToolError(f"{rel}: cannot open ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise FileToolError(f"{rel} is a folder, not a file; use list_directory to see it")
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise FileToolError(
            f"{rel} is not a regular file (device, pipe or socket); it cannot be read"
        )
    return fd, info


def read_fd(fd: int, size_hint: int) -> bytes:
    """Read everything from ``fd`` (which the caller closes)."""
    chunks = []
    while True:
        chunk = os.read(fd, max(size_hint + 1, 65536))
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_bytes(fs: WorkspaceFS, rel: str, limit: int | None = None) -> tuple[bytes, int]:
    """The whole content of the regular file ``rel`` and its permission bits.

    With ``limit``, a larger file is refused unread with a :class:`FileToolError` naming the cap.
    """
    fd, info = open_regular_stat(fs, rel)
    with os.fdopen(fd, "rb") as handle:
        if limit is not None and info.st_size > limit:
            raise FileToolError(
                f"{rel} is {info.st_size:,} bytes, over the {limit // 2**20} MB limit for "
                "editing; change it with a command (e.g. sed) or split the file"
            )
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise FileToolError(f"{rel} grew past the {limit // 2**20} MB limit while being read")
    return data, stat.S_IMODE(info.st_mode)


def count_lines(text: str) -> int:
    """Lines as an editor counts them: a final line without newline still counts."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def unified_diff(old: str, new: str, rel: str, *, created: bool = False, context: int = 3) -> str:
    """A git-style unified diff of ``old`` -> ``new`` (``/dev/null`` as the old side when created)."""
    import difflib  # imported on use: loading the plugin stays cheap

    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if created else f"a/{rel}",
        tofile=f"b/{rel}",
        n=context,
    )
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def cut_diff(diff: str, max_lines: int = 200) -> str:
    """A diff shortened to ``max_lines`` lines with a marker saying how much was left out."""
    lines = diff.splitlines()
    if len(lines) <= max_lines:
        return diff
    return "\n".join(lines[:max_lines]) + f"\n[diff cut: {len(lines) - max_lines} more lines]\n"
