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
    ``read_file(.env)`` also covers a symlink to ``.env``. A path that does not resolve inside the
    workspace is returned as given: rules (and ``deny``) still see it, and the tool itself refuses
    it when it runs.
    """

    path_subject = True

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        raw = getattr(args, "path", None)
        if raw is None:
            return None
        try:
            return context.relative(context.resolve_path(raw))
        except Exception:
            return str(raw)


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


def read_withheld(context: ToolContext, rel: str, real_path: str | None = None) -> bool:
    """Whether a search must withhold this file because the user denies reading it.

    ``rel`` is the entry's workspace-relative path; ``real_path`` (for a symlink, its resolved
    target inside the workspace) is checked too, so a link to ``.env`` is withheld like ``.env``.
    Cheap when no predicate is set (the usual case outside the agent).
    """
    if context.read_denied is None:
        return False
    if context.is_read_denied(rel):
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
