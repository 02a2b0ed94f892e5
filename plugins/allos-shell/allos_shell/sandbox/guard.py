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
from pathlib import Path

#: workspace-relative files the guard watches
PROTECTED_FILES = ("allos.toml", "ALLOS.md", "AGENTS.md", ".mcp.json", ".git/config")
#: workspace-relative folders whose whole content the guard watches
PROTECTED_DIRS = (".git/hooks",)
_MAX_FILES = 512
_MAX_BYTES = 4 * 1024 * 1024

Entry = tuple[str, int, bytes]  # kind ("file" / "link" / "dir"), mode, content or link target
Snapshot = dict[str, Entry | None]


def snapshot(workspace: Path) -> Snapshot:
    """The state of every protected path (None: absent)."""
    state: Snapshot = {}
    for name in PROTECTED_FILES:
        state[name] = _entry(workspace / name)
    for name in PROTECTED_DIRS:
        state[name] = _entry(workspace / name)
        for relative in _walk(workspace, name):
            state[relative] = _entry(workspace / relative)
    return state


def restore(workspace: Path, before: Snapshot) -> list[str]:
    """Undo changes to the protected paths since ``before``; the paths that were put back."""
    after = snapshot(workspace)
    changed = sorted(
        (name for name in set(before) | set(after) if before.get(name) != after.get(name)),
        key=lambda n: (n.count("/"), n),
    )
    for name in reversed(changed):  # deepest first: clear new files before their folders
        if before.get(name) is None:
            _remove(workspace / name)
    for name in changed:  # shallowest first: folders before their files
        entry = before.get(name)
        if entry is not None:
            _put_back(workspace / name, entry)
    return changed


def _walk(workspace: Path, folder: str) -> list[str]:
    found: list[str] = []
    root = workspace / folder
    if root.is_symlink() or not root.is_dir():
        return found
    for current, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            found.append(os.path.relpath(os.path.join(current, name), workspace))
            if len(found) >= _MAX_FILES:
                return found
    return found


def _entry(path: Path) -> Entry | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return ("link", 0, os.fsencode(os.readlink(path)))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", stat.S_IMODE(info.st_mode), b"")
    if info.st_size > _MAX_BYTES:
        return ("file", stat.S_IMODE(info.st_mode), f"size {info.st_size}".encode())
    try:
        return ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
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
        current = _entry(path)
        if current is not None and current[0] != kind:
            _remove(path)
        if kind == "dir":
            path.mkdir(exist_ok=True)
            path.chmod(mode)
        elif kind == "link":
            _remove(path)
            os.symlink(os.fsdecode(data), path)
        else:
            temp = path.with_name(f".{path.name}.allos-restore")
            temp.write_bytes(data)
            temp.chmod(mode)
            os.replace(temp, path)
