"""Which files a search sees: ``.gitignore`` rules (root and nested) and a pruning tree walker.

Rules follow git: a ``.gitignore`` applies to its own folder and everything below it, its
patterns are relative to that folder, a deeper file overrides a shallower one (so ``!keep.log``
in ``logs/.gitignore`` re-includes what the root ignored), and nothing inside an ignored folder
can be re-included — the walker never descends into it, which is what keeps a search fast next
to a large ``node_modules``. ``.git`` folders are always skipped. Symlinked folders are listed
but never descended into (no loops, no escapes from the workspace). Folders are opened and
listed through the workspace resolver (:mod:`allos_core.workspace_fs`), beneath a descriptor of
the workspace, so a folder swapped for a symlink mid-walk is refused, not followed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from allos_core.workspace_fs import UnsafePathError, WorkspaceFS

GITIGNORE = ".gitignore"
GIT_DIR = ".git"


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one ``.gitignore`` and the folder (workspace-relative) it governs."""

    base: str  # "" for the workspace root, else "a/b"
    spec: Any  # pathspec.GitIgnoreSpec
    #: one regex that matches when any pattern does (a fast "no opinion" answer), if buildable
    quick: Any | None = None
    #: every pattern as (include, RE2 regex), last first: a repository's .gitignore must not
    #: make Python's backtracking ``re`` run for minutes on a crafted file name
    rules: tuple[tuple[bool, Any], ...] | None = None

    def verdict(self, rel: str, is_dir: bool) -> bool | None:
        """True when ignored, False when re-included by a ``!`` pattern, None when no pattern matches."""
        sub = rel[len(self.base) + 1 :] if self.base else rel
        if is_dir:
            sub += "/"
        if self.quick is not None and self.quick.search(sub) is None:
            return None
        if self.rules is not None:
            for include, regex in self.rules:
                if regex.search(sub) is not None:
                    return include
            return None
        check = getattr(self.spec, "check_file", None)
        if check is not None:
            return check(sub).include
        # pathspec < 0.12 has no check_file: the last pattern that matches decides
        for pattern in reversed(self.spec.patterns):
            if pattern.include is not None and pattern.match_file(sub) is not None:
                return bool(pattern.include)
        return None


def load_ignore_file(fs: WorkspaceFS, base: str) -> IgnoreFile | None:
    """The ``.gitignore`` directly in the workspace folder ``base`` ("" for the root; a regular
    file, not a symlink, opened beneath the workspace), or None."""
    try:
        fd = fs.open(
            f"{base}/{GITIGNORE}" if base else GITIGNORE,
            os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0),
        )
    except (OSError, UnsafePathError):
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            text = handle.read(1_000_000).decode("utf-8", errors="replace")
    except OSError:
        return None
    import pathspec

    lines = text.splitlines()
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return IgnoreFile(base, spec, _quick_regex(spec), _linear_rules(spec))


def _re2(source: str) -> Any | None:
    import re2  # imported on use: loading the plugin stays cheap

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(source, options)
    except re2.error:
        return None


def _linear_rules(spec: Any) -> tuple[tuple[bool, Any], ...] | None:
    """Each pattern of ``spec`` (last first) compiled with RE2; None when one cannot be."""
    rules: list[tuple[bool, Any]] = []
    for pattern in reversed(getattr(spec, "patterns", [])):
        if pattern.include is None:
            continue
        regex = getattr(pattern, "regex", None)
        if regex is None or not isinstance(regex.pattern, str) or regex.flags & ~re.UNICODE:
            return None
        compiled = _re2(regex.pattern)
        if compiled is None:
            return None
        rules.append((bool(pattern.include), compiled))
    return tuple(rules)


_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


def _quick_regex(spec: Any) -> Any | None:
    """The alternation of every pattern's regex: when it does not match, no pattern does.

    Checking one combined regex instead of each pattern in turn makes the common case (a path no
    rule mentions) several times faster. Named groups are made plain so they do not clash. None
    when the patterns are not plain regexes (then every check goes through pathspec).
    """
    sources: list[str] = []
    for pattern in getattr(spec, "patterns", []):
        if pattern.include is None:
            continue
        regex = getattr(pattern, "regex", None)
        if regex is None or not isinstance(regex.pattern, str) or regex.flags & ~re.UNICODE:
            return None
        sources.append("(?:" + _NAMED_GROUP.sub("(?:", regex.pattern) + ")")
    if not sources:
        return None
    return _re2("|".join(sources))


def is_ignored(chain: tuple[IgnoreFile, ...], rel: str, is_dir: bool) -> bool:
    """Whether the ignore files in ``chain`` (shallowest first) ignore ``rel``; the deepest decides."""
    for ignore_file in reversed(chain):
        verdict = ignore_file.verdict(rel, is_dir)
        if verdict is not None:
            return verdict
    return False


class Entry(NamedTuple):
    """One entry the walker yields."""

    path: str  # absolute path (for messages; open through the resolver with ``rel``)
    rel: str  # relative to the workspace, "/" separators
    name: str
    is_dir: bool  # a real folder (symlinks to folders are not)
    is_symlink: bool
    depth: int  # 1 for the start folder's children


def _chain_to(
    workspace: Path, start: Path, use_gitignore: bool, fs: WorkspaceFS
) -> tuple[IgnoreFile, ...]:
    """The ignore files of the workspace root and every folder down to ``start`` (inclusive).

    When a folder on the way is itself ignored, the user named an ignored area explicitly (say
    ``node_modules/pkg``): the rules above it are dropped so its contents can be searched.
    """
    if not use_gitignore:
        return ()
    chain: tuple[IgnoreFile, ...] = ()
    rel_parts: list[str] = []
    parts = start.relative_to(workspace).parts
    for index in range(len(parts) + 1):
        if rel_parts and chain and is_ignored(chain, "/".join(rel_parts), True):
            chain = ()
        loaded = load_ignore_file(fs, "/".join(rel_parts))
        if loaded is not None:
            chain = (*chain, loaded)
        if index < len(parts):
            rel_parts.append(parts[index])
    return chain


def walk(
    workspace: Path,
    start: Path,
    *,
    gitignore: bool = True,
    hidden: bool = True,
    max_depth: int | None = None,
    dirs_first: bool = True,
    fs: WorkspaceFS | None = None,
) -> Iterator[Entry]:
    """Walk ``start`` (a real folder inside ``workspace``) depth-first.

    In each folder, subfolders come first, each followed by its contents, then the other entries,
    names sorted; with ``dirs_first=False`` entries simply follow name order (so paths come out
    sorted). ``gitignore`` skips what ``.gitignore`` files ignore (the start folder itself is
    never skipped: naming a folder explicitly searches it); ``hidden=False`` skips names starting
    with ``.``; ``.git`` is always skipped; ``max_depth`` stops descending (1 = children only).
    Unreadable folders are skipped silently. Folders are opened through ``fs`` (the tool
    context's resolver, :attr:`ToolContext.fs <allos_core.tools.ToolContext.fs>`; a new one for
    ``workspace`` when not given).
    """
    root_rel = "" if start == workspace else start.relative_to(workspace).as_posix()
    fs = fs or WorkspaceFS(workspace, resolved=True)
    chain = _chain_to(workspace, start, gitignore, fs)
    stack = [
        _folder_entries(
            fs, str(start), root_rel, chain, 1, gitignore, hidden, dirs_first, load_own=False
        )
    ]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        entry, folder_chain = item
        yield entry
        if entry.is_dir and (max_depth is None or entry.depth < max_depth):
            stack.append(
                _folder_entries(
                    fs,
                    entry.path,
                    entry.rel,
                    folder_chain,
                    entry.depth + 1,
                    gitignore,
                    hidden,
                    dirs_first,
                )
            )


def _folder_entries(
    fs: WorkspaceFS,
    folder: str,
    rel: str,
    chain: tuple[IgnoreFile, ...],
    depth: int,
    gitignore: bool,
    hidden: bool,
    dirs_first: bool,
    *,
    load_own: bool = True,
) -> Iterator[tuple[Entry, tuple[IgnoreFile, ...]]]:
    """The entries of one folder, each with the ignore chain its own children start from."""
    if gitignore and load_own:
        loaded = load_ignore_file(fs, rel)
        if loaded is not None:
            chain = (*chain, loaded)
    raw: list[tuple[str, bool, bool]] = []
    try:
        with fs.scandir(rel or ".") as scan:
            for item in scan:
                try:
                    is_symlink = item.is_symlink()
                    is_dir = not is_symlink and item.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                raw.append((item.name, is_dir, is_symlink))
    except (OSError, UnsafePathError):
        return
    dirs: list[Entry] = []
    others: list[Entry] = []
    prefix = f"{rel}/" if rel else ""
    folder_prefix = folder.rstrip(os.sep) + os.sep
    for name, is_dir, is_symlink in raw:
        if name == GIT_DIR or (not hidden and name.startswith(".")):
            continue
        item_rel = prefix + name
        if chain and is_ignored(chain, item_rel, is_dir):
            continue
        entry = Entry(folder_prefix + name, item_rel, name, is_dir, is_symlink, depth)
        (dirs if is_dir and dirs_first else others).append(entry)
    dirs.sort(key=lambda e: e.name)
    others.sort(key=lambda e: e.name)
    for entry in dirs:
        yield entry, chain
    for entry in others:
        yield entry, chain
