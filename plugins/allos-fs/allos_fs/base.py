"""What every file tool shares: the path permission subject, sandboxed path resolution, and
the check that keeps files the user denies reading out of searches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allos_core.tools import Tool, ToolContext
from allos_fs.files import FileToolError


class PathTool(Tool):
    """A tool whose ``path`` argument is its permission subject.

    The subject is the path relative to the workspace after resolving symlinks, so a rule such as
    ``read_file(.env)`` also covers a symlink to ``.env``. A call must also be allowed for the path
    *as written* (``..`` collapsed, symlinks not followed) when that differs: with ``config ->
    real_config``, ``read_file(config/secret.txt)`` has the subjects ``real_config/secret.txt``
    and ``config/secret.txt``, so ``deny: read_file(config/**)`` holds, and an ``allow`` rule must
    cover both names. A path that does not resolve inside the workspace is returned normalised
    (see :meth:`ToolContext.path_subject`): rules (and ``deny``) still see it, and the tool itself
    refuses it when it runs.
    """

    path_subject = True

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        raw = getattr(args, "path", None)
        if raw is None:
            return None
        return context.path_subject(raw)

    def permission_subjects(self, args: Any, context: ToolContext) -> list[str | None]:
        raw = getattr(args, "path", None)
        if raw is None:
            return [None]
        return list(context.path_subjects(raw))


def resolve(context: ToolContext, raw: str) -> tuple[Path, str]:
    """The checked real path of ``raw`` and its workspace-relative form (for messages).

    Raises :class:`~allos_core.tools.PathOutsideWorkspaceError` for anything outside the
    workspace (before any file is opened) and :class:`FileToolError` for unusable text.
    """
    if raw == "":
        raise FileToolError("path is empty; give a path relative to the workspace, e.g. src/app.py")
    try:
        real = context.resolve_path(raw)
    except (UnicodeError, ValueError) as exc:
        raise FileToolError(f"{raw!r} is not a usable path ({exc})") from None
    return real, context.relative(real)


#: ``(real_rel, written_rel)``: a searched folder named through a symlinked folder
FolderAlias = tuple[str, str]


def folder_alias(context: ToolContext, raw: str, real: Path) -> FolderAlias | None:
    """When the folder (or file) ``raw`` a search starts from is reached through a symlink, the
    pair ``(real_rel, written_rel)`` of its real and written workspace-relative paths; else None.

    Searches walk the real folder, so entries come out under ``real_rel``; with the alias,
    :func:`read_withheld` also checks them under ``written_rel``, so ``deny:
    read_file(config/**)`` with ``config -> real_config`` withholds ``grep(path="config")``'s
    files too.
    """
    written = context.lexical_relative(raw)
    real_rel = context.relative(real)
    if written is None or written == real_rel:
        return None
    return real_rel, written


def _aliased(rel: str, alias: FolderAlias) -> str | None:
    real_rel, written = alias
    if real_rel == ".":
        tail = rel
    elif rel == real_rel:
        return written
    elif rel.startswith(real_rel + "/"):
        tail = rel[len(real_rel) + 1 :]
    else:
        return None
    return tail if written == "." else f"{written}/{tail}"


def read_withheld(
    context: ToolContext,
    rel: str,
    real_path: str | None = None,
    alias: FolderAlias | None = None,
) -> bool:
    """Whether a search must withhold this file because the user denies reading it.

    ``rel`` is the entry's workspace-relative path; ``real_path`` (for a symlink, its resolved
    target inside the workspace) is checked too, so a link to ``.env`` is withheld like ``.env``;
    so is ``rel`` under the written name of the searched folder (``alias``, from
    :func:`folder_alias`). Cheap when no predicate is set (the usual case outside the agent).
    """
    if context.read_denied is None:
        return False
    if context.is_read_denied(rel):
        return True
    if alias is not None:
        written = _aliased(rel, alias)
        if written is not None and written != rel and context.is_read_denied(written):
            return True
    if real_path is None:
        return False
    real_rel = context.relative(Path(real_path))
    return real_rel != rel and context.is_read_denied(real_rel)


def withheld_note(count: int, what: str = "file") -> str:
    """``2 files skipped: denied by permission rules`` (for search results)."""
    plural = what if count == 1 else what + "s"
    return f"{count} {plural} skipped: denied by permission rules"


def human_size(size: int) -> str:
    """``1234`` -> ``1.2 KB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.1f} {unit}"
    return f"{size} B"  # pragma: no cover
