"""Put back the agent's configuration if a command changed it.

Landlock grants rights to whole trees, so git's own writes to ``.git`` (its index, refs and lock
files) cannot be allowed without also reaching ``.git/config`` and ``.git/hooks``. The guard
closes that gap: before a sandboxed command runs it records the protected paths, and after the
command and every process it started are gone it restores any that changed (content, mode,
symlink, presence) and says so in the result. The workspace's own ``allos.toml``, ``ALLOS.md``,
``AGENTS.md`` and ``.mcp.json`` are refused by Landlock itself; the guard covers them as well,
for ``writable_paths`` that reach them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

#: workspace-relative files the guard watches (``.git`` itself too: it must stay a folder)
#: (``.git/commondir`` would send git to another folder's config and hooks; ``config.worktree``
#: is read once ``extensions.worktreeConfig`` is on)
PROTECTED_FILES = (
    "allos.toml", "ALLOS.md", "AGENTS.md", ".mcp.json", ".git", ".git/config",
    ".git/commondir", ".git/config.worktree",
)  # fmt: skip
#: workspace-relative folders whose whole content the guard watches
PROTECTED_DIRS = (".git/hooks",)
_MAX_FILES = 512
_MAX_BYTES = 4 * 1024 * 1024

Entry = tuple[str, int, bytes]  # kind ("file" / "link" / "dir"), mode, content or link target
Snapshot = dict[str, Entry | None]


def snapshot(workspace: Path) -> Snapshot:
    """The state of every protected path (None: absent or behind a symlink)."""
    state: Snapshot = {}
    for name in PROTECTED_FILES:
        state[name] = _entry(workspace, name)
    for name in PROTECTED_DIRS:
        state[name] = _entry(workspace, name)
        for relative in _walk(workspace, name):
            state[relative] = _entry(workspace, relative)
    return state


def restore(workspace: Path, before: Snapshot) -> list[str]:
    """Undo changes to the protected paths since ``before``; the paths that were put back.

    The guard runs outside the sandbox, so it never follows a symlink: a path whose folders are
    not all real folders inside the workspace is neither read, written nor removed (a command
    that swapped ``.git`` for a link to your home folder gets ``.git`` back as a folder first).
    """
    after = snapshot(workspace)
    changed = sorted(
        (name for name in set(before) | set(after) if before.get(name) != after.get(name)),
        key=lambda n: (n.count("/"), n),
    )
    for name in reversed(changed):  # deepest first: clear new files before their folders
        if before.get(name) is None and _real_parents(workspace, name):
            _remove(workspace / name)
    for name in changed:  # shallowest first: folders before their files
        entry = before.get(name)
        if entry is not None and _real_parents(workspace, name):
            _put_back(workspace / name, entry)
    return changed


def _real_parents(workspace: Path, relative: str) -> bool:
    """Whether every folder on the way to ``relative`` is a real folder (not a symlink)."""
    current = workspace
    for part in Path(relative).parts[:-1]:
        current = current / part
        try:
            if not stat.S_ISDIR(current.lstat().st_mode):
                return False
        except OSError:
            return False
    return True


def _walk(workspace: Path, folder: str) -> list[str]:
    found: list[str] = []
    root = workspace / folder
    if not _real_parents(workspace, folder) or root.is_symlink() or not root.is_dir():
        return found
    for current, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            found.append(os.path.relpath(os.path.join(current, name), workspace))
            if len(found) >= _MAX_FILES:
                return found
    return found


def _entry(workspace: Path, relative: str) -> Entry | None:
    if not _real_parents(workspace, relative):
        return None
    path = workspace / relative
    try:
        info = path.lstat()
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return ("link", 0, os.fsencode(os.readlink(path)))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", stat.S_IMODE(info.st_mode), b"")
    if not stat.S_ISREG(info.st_mode):  # a fifo or device: never read (it could block)
        return ("other", stat.S_IMODE(info.st_mode), b"")
    if info.st_size > _MAX_BYTES:
        return ("file", stat.S_IMODE(info.st_mode), f"size {info.st_size}".encode())
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            return ("file", stat.S_IMODE(info.st_mode), handle.read(_MAX_BYTES + 1))
    except OSError:
        return ("file", stat.S_IMODE(info.st_mode), b"<unreadable>")


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _put_back(path: Path, entry: Entry) -> None:
    kind, mode, data = entry
    with contextlib.suppress(OSError):
        if path.is_symlink() or (path.exists() and _kind(path) != kind):
            _remove(path)
        if kind == "other":
            return
        if kind == "dir":
            path.mkdir(exist_ok=True)
            path.chmod(mode)
        elif kind == "link":
            os.symlink(os.fsdecode(data), path)
        else:
            # a fresh name opened with O_EXCL: a planted symlink cannot redirect the write
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temp, mode)
            os.replace(temp, path)


def _kind(path: Path) -> str:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"
