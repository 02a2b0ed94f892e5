"""The ``list_directory`` tool: a folder's entries, folders first, optionally the whole tree."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

from allos_core.tools import ToolContext, ToolResult, run_in_thread
from allos_core.workspace_fs import UnsafePathError
from allos_fs.base import (
    FolderAlias,
    PathTool,
    folder_alias,
    human_size,
    read_withheld,
    resolve,
    withheld_note,
)
from allos_fs.files import FileToolError
from allos_fs.ignore import Entry, walk

if TYPE_CHECKING:  # pragma: no cover
    from allos_fs.args import ListDirectoryArgs

#: at most this many entries per call
MAX_ENTRIES = 1000


class ListDirectory(PathTool):
    """List a folder."""

    name = "list_directory"
    description = (
        "List a folder in the workspace: subfolders first (ending in /), then files with their "
        "sizes; symlinks show as `name -> target`. Paths are relative to the workspace root, "
        "ready to pass to read_file. With recursive=true, the whole tree below the folder is "
        "listed (each folder followed by its contents), skipping hidden entries (names starting "
        "with .) and whatever .gitignore ignores. At most "
        f"{MAX_ENTRIES} entries are shown; the last line says how many more there are. To find "
        "files by name in a large tree, glob is usually better."
    )
    Args = "allos_fs.args:ListDirectoryArgs"  # imported on first use: loading plugins stays cheap
    read_only = True
    default_permission = "allow"

    async def run(self, args: ListDirectoryArgs, context: ToolContext) -> ToolResult:
        return await run_in_thread(self._list, args, context)

    def _list(self, args: ListDirectoryArgs, context: ToolContext) -> ToolResult:
        real, rel = resolve(context, args.path or ".")
        try:
            mode = context.fs.lstat(rel).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise FileToolError(f"{rel}: no such folder") from None
        if not stat.S_ISDIR(mode):
            raise FileToolError(f"{rel} is a file, not a folder; use read_file to read it")
        entries = walk(
            context.workspace,
            real,
            gitignore=args.recursive,
            hidden=not args.recursive,
            max_depth=None if args.recursive else 1,
            fs=context.fs,
        )
        alias = folder_alias(context, args.path or ".", real) if context.read_denied else None
        lines: list[str] = []
        total = 0
        folders = files = 0
        withheld = 0
        for entry in entries:
            if not entry.is_dir and _withheld(context, entry, alias):
                withheld += 1
                continue
            total += 1
            if entry.is_dir:
                folders += 1
            else:
                files += 1
            if len(lines) < MAX_ENTRIES:
                lines.append(_format(context, entry))
        metadata = {"path": rel, "entries": total, "folders": folders, "files": files}
        if withheld:
            metadata["withheld"] = withheld
        if not lines:
            if withheld:
                empty = f"(nothing to show: {withheld_note(withheld)})"
            else:
                empty = "(empty folder" + (
                    ", or everything in it is hidden or ignored)" if args.recursive else ")"
                )
            return ToolResult(f"{rel}/ {empty}" if rel != "." else empty, metadata=metadata)
        if total > len(lines):
            metadata["truncated"] = True
            lines.append(
                f"[… and {total - len(lines)} more entries not shown ({total} in all). List a "
                "subfolder, or use glob to find files by name.]"
            )
        if withheld:
            lines.append(f"[{withheld_note(withheld)}.]")
        return ToolResult("\n".join(lines), metadata=metadata)


def _withheld(context: ToolContext, entry: Entry, alias: FolderAlias | None = None) -> bool:
    """Whether a file entry is kept out of the listing by a deny rule for ``read_file``.

    A symlink is judged by its own path and, when it points inside the workspace, its target's;
    every entry also by its path under the listed folder's written name (``alias``).
    """
    if context.read_denied is None:
        return False
    target = None
    if entry.is_symlink:
        try:
            target = str(context.resolve_path(entry.path))
        except Exception:
            target = None
    return read_withheld(context, entry.rel, target, alias)


def _format(context: ToolContext, entry: Entry) -> str:
    if entry.is_dir:
        return entry.rel + "/"
    try:
        info = context.fs.lstat(entry.rel)
    except (OSError, UnsafePathError):
        return entry.rel
    if entry.is_symlink:
        try:
            target = context.fs.readlink(entry.rel)
        except (OSError, UnsafePathError):
            target = "?"
        return f"{entry.rel} -> {target}"
    if stat.S_ISREG(info.st_mode):
        return f"{entry.rel}  ({human_size(info.st_size)})"
    return entry.rel
