"""What travels to a Ray worker for one task, and how the worker unpacks it.

A payload is plain data: the task's fields, the batch defaults (no secrets in either: provider
keys and options come from the worker's own environment and config files) and the workspace,
either packed (a gzipped tar of the folder, ``.git`` included, at most ``max_workspace_mb``) or,
for a task that names a ``repo`` and ``ref``, nothing at all: the worker clones it.

Unpacking uses the tar ``data`` filter: no absolute paths, no ``..``, no links that leave the
folder, no device files. A crafted archive is refused, not trusted.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from allos_core.batch.execute import TaskDefaults
from allos_core.batch.tasks import BatchTask
from allos_core.batch.workspace import relative_inside
from allos_core.errors import BatchError
from allos_ray.backend import DEFAULT_MAX_WORKSPACE_MB

__all__ = [
    "DEFAULT_MAX_WORKSPACE_MB",
    "PAYLOAD_VERSION",
    "build_payload",
    "pack_folder",
    "unpack_workspace",
]

PAYLOAD_VERSION = 1


def pack_folder(folder: Path, max_bytes: int, exclude: Iterable[str] = ()) -> bytes:
    """``folder`` as a gzipped tar (symlinks kept as links); a :class:`BatchError` past ``max_bytes``.

    ``exclude`` lists paths left out (the batch's results file and sessions, if inside).
    """
    if not folder.is_dir():
        raise BatchError(
            f"workspace {folder} is not a folder",
            hint="fix the task's 'workspace', or create the folder",
        )
    skipped = relative_inside(folder, exclude)

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        name = info.name[2:] if info.name.startswith("./") else info.name
        return None if name in skipped else info

    buffer = _CappedBuffer(max_bytes, folder)
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        archive.add(folder, arcname=".", recursive=True, filter=keep)
    return buffer.getvalue()


class _CappedBuffer(io.BytesIO):
    def __init__(self, limit: int, folder: Path) -> None:
        super().__init__()
        self.limit = limit
        self.folder = folder

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.limit:
            mb = self.limit / (1024 * 1024)
            raise BatchError(
                f"workspace {self.folder} packs to more than {mb:g} MiB, the cap for Ray tasks",
                hint="give the task a 'repo' and 'ref' for the workers to clone, or raise "
                "max_workspace_mb in the [ray] section of your allos config",
            )
        return super().write(data)


def build_payload(
    task: BatchTask, defaults: TaskDefaults, *, keep: bool, max_bytes: int
) -> dict[str, Any]:
    """The payload for one task (packs its workspace unless it names a ``repo``)."""
    packed, name = None, None
    if task.repo is None:
        folder = task.workspace_path(defaults.base_dir)
        packed, name = pack_folder(folder, max_bytes, defaults.exclude), folder.name
        task = replace(task, workspace=None)
    return {
        "version": PAYLOAD_VERSION,
        "task": task.to_dict(),
        "defaults": {**defaults.to_dict(), "base_dir": None, "exclude": ()},
        "workspace": packed,
        "workspace_name": name,
        "keep": keep,
    }


def unpack_workspace(data: bytes, into: Path) -> Path:
    """Extract a packed workspace into folder ``into`` (created); returns ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        if not hasattr(tarfile, "data_filter"):  # Python < 3.10.12 / 3.11.4: no extraction filters
            archive.extractall(into, members=_checked_members(archive, into))
            return into
        try:
            archive.extractall(into, filter="data")
        except tarfile.FilterError as exc:
            raise _unsafe(str(exc)) from None
    return into


def _unsafe(what: str) -> BatchError:
    return BatchError(
        f"the packed workspace holds an unsafe entry: {what}",
        hint="the archive was not made by allos-ray; check the driver",
    )


def _checked_members(archive: tarfile.TarFile, into: Path) -> list[tarfile.TarInfo]:
    """The members, checked as the ``data`` filter does where Python lacks it: regular files,
    folders and links only, nothing absolute or through ``..``, no link leading outside, and no
    set-id or device bits."""
    import os

    root = os.path.realpath(into)

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == root or real.startswith(root + os.sep)

    members = []
    for member in archive.getmembers():
        target = os.path.join(root, member.name)
        if os.path.isabs(member.name) or not inside(target):
            raise _unsafe(f"{member.name!r} is outside the destination")
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            raise _unsafe(f"{member.name!r} is not a file, folder or link")
        if member.issym():
            if os.path.isabs(member.linkname) or not inside(
                os.path.join(os.path.dirname(target), member.linkname)
            ):
                raise _unsafe(f"{member.name!r} links outside the destination")
        elif member.islnk() and not inside(os.path.join(root, member.linkname)):
            raise _unsafe(f"{member.name!r} links outside the destination")
        member.mode &= 0o755 if member.isdir() else 0o644 | (member.mode & 0o111)
        member.uid = member.gid = 0
        member.uname = member.gname = ""
        members.append(member)
    return members
