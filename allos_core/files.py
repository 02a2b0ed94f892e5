"""File helpers shared by the core and plugins: atomic replacement of a file's content."""

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
    """
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
