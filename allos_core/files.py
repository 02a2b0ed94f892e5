"""File helpers shared by the core and plugins: atomic replacement of a file's content.

The workspace resolver (descriptor-relative opening for files touched on a model's behalf) is
:mod:`allos_core.workspace_fs`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


def atomic_write(
    path: Path, data: bytes, *, mode: int | None = None, create_mode: int = 0o666
) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new content, never a mix.

    The data goes to a new temporary file in the same folder (created exclusively, never through
    a symlink, with ``create_mode`` minus the umask), is flushed and fsynced, then renamed over
    ``path``; the folder is fsynced so the rename survives a crash. ``mode``, when given, is set
    on the new file (to keep an existing file's permission bits). The temporary file is removed
    if anything fails. The folder must exist.

    Files opened on a model's behalf go through
    :meth:`allos_core.workspace_fs.WorkspaceFS.atomic_write` instead (same steps, the folder
    reached beneath the workspace descriptor).
    """
    if os.name != "posix" or os.open not in os.supports_dir_fd:  # pragma: no cover - Windows
        _atomic_write_by_name(path, data, mode=mode, create_mode=create_mode)
        return
    folder_fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        atomic_write_at(folder_fd, path.name, data, mode=mode, create_mode=create_mode)
    finally:
        os.close(folder_fd)


def atomic_write_at(
    folder_fd: int, name: str, data: bytes, *, mode: int | None = None, create_mode: int = 0o666
) -> None:
    """:func:`atomic_write` of the entry ``name`` in the open folder ``folder_fd`` (POSIX).

    The temporary file is created, renamed and removed relative to ``folder_fd`` only, so no
    path is looked up again between the steps (a folder swapped for a symlink meanwhile does not
    redirect the write).
    """
    stem = name[:120]
    while True:
        temp = f".{stem}.{os.urandom(4).hex()}.allos-tmp"
        try:
            fd = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY,
                create_mode,
                dir_fd=folder_fd,
            )
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder_fd)
        raise
    with contextlib.suppress(OSError):
        os.fsync(folder_fd)


def _atomic_write_by_name(  # pragma: no cover - Windows
    path: Path, data: bytes, *, mode: int | None = None, create_mode: int = 0o666
) -> None:
    folder = path.parent
    stem = path.name[:120]
    while True:
        temp = folder / f".{stem}.{os.urandom(4).hex()}.allos-tmp"
        try:
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY, create_mode
            )
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                _chmod(handle.fileno(), temp, mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def _chmod(fd: int, path: Path, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # pragma: no cover - Windows
        os.chmod(path, mode)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
