"""The workspace resolver: every file opened on the model's behalf is opened *beneath* an open
descriptor of the workspace folder, so no symlink or rename can make it land outside.

Checking a path and then opening it by name is a race: a folder on the way can be swapped for a
symlink to ``/`` in between (by a background process an approved command left running). Here the
check *is* the open:

- On Linux 5.6+ each path is opened with ``openat2(2)`` and ``RESOLVE_BENEATH |
  RESOLVE_NO_MAGICLINKS`` relative to the workspace descriptor: the kernel refuses any component,
  ``..`` or symlink (absolute ones included) that would leave the workspace, and ``/proc``-style
  magic links. Symlinks that stay inside are followed by the kernel.
- Elsewhere the path is walked one component at a time with ``O_NOFOLLOW | O_DIRECTORY``
  (``openat`` on each folder descriptor). This walk **refuses every symlink** it meets, inside or
  not: callers pass the canonical path they got from :meth:`ToolContext.resolve_path
  <allos_core.tools.ToolContext.resolve_path>` (symlinks already resolved and checked), so a
  symlink found during the walk means the tree changed after the check, and failing closed is
  the safe answer.

Creating, replacing and listing work on descriptors too (``mkdirat``, ``renameat``,
``fdopendir``): :meth:`WorkspaceFS.atomic_write`, :meth:`WorkspaceFS.makedirs`,
:meth:`WorkspaceFS.scandir`. Paths are workspace-relative with ``/`` separators (``.`` is the
root); absolute paths and paths that climb out with ``..`` are refused before any system call.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from allos_core.errors import AllosError
from allos_core.files import atomic_write_at

__all__ = [
    "UnsafePathError",
    "WorkspaceFS",
    "has_openat2",
    "split_relative",
]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)

# linux/openat2.h
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08
#: the openat2 syscall number is the same on every Linux architecture (added in 5.6)
_SYS_OPENAT2 = 437
#: how often a lookup is retried when the kernel saw a concurrent rename (EAGAIN)
_EAGAIN_RETRIES = 16

_DIR_FD_OK = os.open in os.supports_dir_fd and os.name == "posix"


class UnsafePathError(AllosError):
    """A path would leave the workspace (through a symlink, ``..``, a magic link or a race)."""

    def __init__(self, rel: str, why: str = "it leads outside the workspace") -> None:
        super().__init__(
            f"{rel}: refused, {why}",
            hint="use a path inside the workspace; symlinks that point outside are never followed",
        )
        self.rel = rel


def split_relative(rel: str | os.PathLike[str]) -> list[str]:
    """The components of a workspace-relative path (``.`` and empty parts dropped).

    Raises :class:`UnsafePathError` for absolute paths, NUL bytes and paths whose ``..`` would
    climb above the workspace root.
    """
    text = os.fspath(rel).replace(os.sep, "/")
    if "\x00" in text:
        raise UnsafePathError(repr(text), "the path contains a NUL byte")
    if text.startswith("/") or (os.name == "nt" and len(text) > 1 and text[1] == ":"):
        raise UnsafePathError(text, "the path is absolute; give it relative to the workspace")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafePathError(text)
            parts.pop()
            continue
        parts.append(part)
    return parts


# -- openat2 --------------------------------------------------------------------------------------

_openat2_state: list[object] = []  # [] unknown, [None] unavailable, [callable] available


def _load_openat2() -> object | None:
    if _openat2_state:
        return _openat2_state[0]
    function: object | None = None
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            class OpenHow(ctypes.Structure):
                _fields_ = [
                    ("flags", ctypes.c_uint64),
                    ("mode", ctypes.c_uint64),
                    ("resolve", ctypes.c_uint64),
                ]

            libc = ctypes.CDLL(None, use_errno=True)
            syscall = libc.syscall
            syscall.restype = ctypes.c_long
            # fixed argument types: each call converts plain ints without building ctypes objects
            syscall.argtypes = (
                ctypes.c_long,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.POINTER(OpenHow),
                ctypes.c_size_t,
            )
            size = ctypes.sizeof(OpenHow)
            resolve = _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS

            def openat2(dir_fd: int, name: bytes, flags: int, mode: int) -> int:
                result = syscall(_SYS_OPENAT2, dir_fd, name, OpenHow(flags, mode, resolve), size)
                if result < 0:
                    code = ctypes.get_errno()
                    raise OSError(code, os.strerror(code))
                return int(result)

            probe = os.open(".", os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
            try:
                os.close(openat2(probe, b".", os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC, 0))
                function = openat2
            except OSError:  # ENOSYS (old kernel), EPERM (seccomp), ...: use the walk
                function = None
            finally:
                os.close(probe)
        except (OSError, AttributeError, ImportError):  # pragma: no cover - odd platforms
            function = None
    _openat2_state.append(function)
    return function


def has_openat2() -> bool:
    """Whether paths are resolved by the kernel (``openat2``) rather than by the walk."""
    return _load_openat2() is not None


def _openat2_beneath(root_fd: int, parts: list[str], flags: int, mode: int, rel: str) -> int:
    openat2 = _load_openat2()
    assert callable(openat2)
    name = os.fsencode("/".join(parts) or ".")
    tmpfile = getattr(os, "O_TMPFILE", 0)  # includes O_DIRECTORY's bit: compare whole
    if not flags & os.O_CREAT and not (tmpfile and flags & tmpfile == tmpfile):
        mode = 0  # openat2 refuses a mode without O_CREAT / O_TMPFILE (EINVAL)
    for _ in range(_EAGAIN_RETRIES):
        try:
            return int(openat2(root_fd, name, flags | _O_CLOEXEC, mode))
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                continue
            if exc.errno == errno.EXDEV:
                raise UnsafePathError(rel) from None
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(
                    rel, "it goes through a symlink that may not be followed"
                ) from None
            raise _with_name(exc, rel) from None
    raise UnsafePathError(rel, "the folder kept changing while it was opened; try again")


def _walk_beneath(root_fd: int, parts: list[str], flags: int, mode: int, rel: str) -> int:
    """The portable walk: every folder opened with O_NOFOLLOW | O_DIRECTORY from the last one."""
    current = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(
                    part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=current
                )
            except OSError as exc:
                raise _walk_error(exc, current, part, rel) from None
            os.close(current)
            current = nxt
        if not parts:
            return os.open(".", flags | _O_CLOEXEC, mode, dir_fd=current)
        try:
            return os.open(parts[-1], flags | _O_NOFOLLOW | _O_CLOEXEC, mode, dir_fd=current)
        except OSError as exc:
            raise _walk_error(exc, current, parts[-1], rel) from None
    finally:
        os.close(current)


def _walk_error(exc: OSError, dir_fd: int, part: str, rel: str) -> Exception:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                return UnsafePathError(rel, "it goes through a symlink that may not be followed")
    return _with_name(exc, rel)


def _with_name(exc: OSError, rel: str) -> OSError:
    return type(exc)(exc.errno, exc.strerror, rel)


# -- the resolver ---------------------------------------------------------------------------------


class WorkspaceFS:
    """Descriptor-relative file access inside one workspace folder.

    Every method takes a workspace-relative path. Descriptors it returns belong to the caller
    (close them). The workspace folder itself is opened once, on first use, and that descriptor
    is kept for the instance's life (closed by :meth:`close` or when the instance is collected):
    every lookup starts from it, so even renaming the workspace folder cannot redirect one. An
    instance is safe to share between threads.
    """

    def __init__(self, root: str | os.PathLike[str], *, resolved: bool = False) -> None:
        #: the workspace folder (real path; pass ``resolved=True`` when it already is one)
        self.root = Path(root) if resolved else Path(os.path.realpath(root))
        self._root_fd: int | None = None
        self._lock = threading.Lock()

    def open_root(self) -> int:
        """A new descriptor of the workspace folder (the caller closes it)."""
        return os.dup(self._root())

    def _root(self) -> int:
        fd = self._root_fd
        if fd is None:
            with self._lock:  # tools run in threads: open the workspace exactly once
                fd = self._root_fd
                if fd is None:
                    fd = os.open(self.root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
                    self._root_fd = fd
        return fd

    def close(self) -> None:
        """Close the workspace descriptor (it is reopened if the instance is used again)."""
        fd, self._root_fd = getattr(self, "_root_fd", None), None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        self.close()

    def open(self, rel: str | os.PathLike[str], flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
        """``os.open`` of ``rel`` beneath the workspace; :class:`UnsafePathError` if it would leave.

        ``flags`` are passed on (``O_CLOEXEC`` added, ``O_NOFOLLOW`` honoured for the last part).
        """
        text = os.fspath(rel)
        parts = split_relative(text)
        if not _DIR_FD_OK:  # pragma: no cover - Windows: no descriptor-relative calls
            return os.open(self.root.joinpath(*parts), flags | _O_BINARY, mode)
        if _load_openat2() is not None:
            return _openat2_beneath(self._root(), parts, flags, mode, text)
        return _walk_beneath(self._root(), parts, flags, mode, text)

    def open_dir(self, rel: str | os.PathLike[str]) -> int:
        """A descriptor of the folder ``rel`` (``NotADirectoryError`` when it is not one)."""
        return self.open(rel, os.O_RDONLY | _O_DIRECTORY)

    def open_parent(self, rel: str | os.PathLike[str]) -> tuple[int, str]:
        """``(descriptor of the folder holding rel, rel's last name)`` for create/rename/unlink."""
        parts = split_relative(rel)
        if not parts:
            raise UnsafePathError(os.fspath(rel), "the workspace root has no parent inside it")
        return self.open_dir("/".join(parts[:-1]) or "."), parts[-1]

    def lstat(self, rel: str | os.PathLike[str]) -> os.stat_result:
        """``lstat`` of ``rel`` (its parent reached beneath the workspace)."""
        parts = split_relative(rel)
        if not parts:
            return os.stat(self.root)
        parent, name = self.open_parent(rel)
        try:
            return os.stat(name, dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(parent)

    def readlink(self, rel: str | os.PathLike[str]) -> str:
        """The target text of the symlink ``rel`` (its parent reached beneath the workspace)."""
        parent, name = self.open_parent(rel)
        try:
            return os.readlink(name, dir_fd=parent)
        finally:
            os.close(parent)

    def exists(self, rel: str | os.PathLike[str]) -> bool:
        """Whether anything (a symlink included) is at ``rel``."""
        try:
            self.lstat(rel)
        except (OSError, UnsafePathError):
            return False
        return True

    def read_bytes(self, rel: str | os.PathLike[str], limit: int | None = None) -> bytes:
        """The content of the regular file ``rel`` (the last part not followed if a symlink).

        With ``limit``, a file larger than ``limit`` bytes raises ``OSError(EFBIG)`` unread.
        """
        fd = self.open(rel, os.O_RDONLY | _O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _O_BINARY)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", os.fspath(rel))
            if limit is not None and info.st_size > limit:
                raise OSError(errno.EFBIG, "file too large", os.fspath(rel))
            data = handle.read() if limit is None else handle.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise OSError(errno.EFBIG, "file too large", os.fspath(rel))
        return data

    def makedirs(self, rel: str | os.PathLike[str]) -> None:
        """Create the folder ``rel`` and its missing parents, each with ``mkdirat`` beneath the
        workspace; an existing symlink on the way is never followed out."""
        parts = split_relative(rel)
        for index in range(len(parts)):
            here = "/".join(parts[: index + 1])
            parent, name = self.open_parent(here)
            try:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, dir_fd=parent)
            finally:
                os.close(parent)
        if parts:
            os.close(self.open_dir("/".join(parts)))  # proves the result is a folder beneath

    def atomic_write(
        self,
        rel: str | os.PathLike[str],
        data: bytes,
        *,
        mode: int | None = None,
        create_mode: int = 0o666,
    ) -> None:
        """:func:`allos_core.files.atomic_write` of ``rel``, with the temp file created and
        renamed inside the folder's descriptor. The folder must exist."""
        parent, name = self.open_parent(rel)
        try:
            atomic_write_at(parent, name, data, mode=mode, create_mode=create_mode)
        finally:
            os.close(parent)

    @contextlib.contextmanager
    def scandir(self, rel: str | os.PathLike[str] = ".") -> Iterator[Iterator[os.DirEntry[str]]]:
        """``os.scandir`` of the folder ``rel`` through its descriptor (entries' ``path`` is
        their bare name; use ``entry.stat(follow_symlinks=False)`` freely: it is descriptor-relative)."""
        fd = self.open_dir(rel)
        try:
            with os.scandir(fd) as entries:
                yield entries
        finally:
            os.close(fd)
