"""The ``glob`` and ``grep`` tools: find files by name and lines by content, .gitignore-aware."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.tools import ToolContext, ToolResult, run_in_thread
from allos_core.workspace_fs import UnsafePathError
from allos_fs.base import PathTool, folder_alias, read_withheld, resolve, withheld_note
from allos_fs.files import (
    SNIFF_BYTES,
    FileToolError,
    looks_binary,
    open_regular_stat,
    read_fd,
)
from allos_fs.ignore import Entry, walk
from allos_fs.patterns import compile_glob, literal_prefix, max_depth, normalize_glob
from allos_fs.regex import compile_pattern

if TYPE_CHECKING:  # pragma: no cover
    from allos_fs.args import GlobArgs, GrepArgs

#: glob shows at most this many paths
MAX_GLOB_RESULTS = 500
#: grep shows at most this many matching lines
MAX_GREP_MATCHES = 200
#: grep output is cut at about this many characters
MAX_GREP_CHARS = 60_000
#: a matching line is shown up to this many characters
MAX_GREP_LINE_CHARS = 400
#: grep skips files larger than this
MAX_GREP_FILE_BYTES = 10 * 1024 * 1024
#: grep stops starting new files after this many seconds and says it gave up (the regex engine
#: is linear, so one file never takes long; a huge tree can)
MAX_GREP_SECONDS = 30.0


def _start_folder(context: ToolContext, raw: str) -> tuple[Path, str]:
    real, rel = resolve(context, raw or ".")
    if not context.fs.exists(rel):
        raise FileToolError(f"{rel}: no such folder")
    return real, rel


def _is_dir(context: ToolContext, rel: str) -> bool:
    """Whether ``rel`` is a real folder (checked beneath the workspace, symlinks not followed)."""
    try:
        return stat.S_ISDIR(context.fs.lstat(rel).st_mode)
    except (OSError, UnsafePathError):
        return False


def _inside_file(context: ToolContext, entry: Entry) -> str | None:
    """The canonical workspace-relative path of a file entry that may be read: regular files,
    and symlinks whose target is a file inside the workspace. Anything pointing outside is
    skipped, never opened."""
    if not entry.is_symlink:
        return entry.rel
    try:
        target = context.resolve_path(entry.path)
    except Exception:
        return None
    return context.relative(target) if target.is_file() else None


# -- glob -----------------------------------------------------------------------------------------


class Glob(PathTool):
    """Find files by path pattern."""

    name = "glob"
    description = (
        "Find files whose path matches a glob pattern. `*` matches within one folder level, `**` "
        "any number of folders (including none), `?` one character, [abc] a character set, "
        "{a,b} alternatives: **/*.py finds Python files at any depth, *.py only those directly "
        "in `path`, src/**/test_*.ts test files under src. Matches files, not folders (use "
        "list_directory for folders). Skips .git and whatever .gitignore ignores, unless the "
        "pattern or `path` names an ignored folder explicitly. Returns paths relative to the "
        f"workspace root, sorted, at most {MAX_GLOB_RESULTS}; the last line says how many more "
        "matched."
    )
    Args = "allos_fs.args:GlobArgs"  # imported on first use: loading plugins stays cheap
    read_only = True
    default_permission = "allow"

    async def run(self, args: GlobArgs, context: ToolContext) -> ToolResult:
        return await run_in_thread(self._glob, args, context)

    def _glob(self, args: GlobArgs, context: ToolContext) -> ToolResult:
        pattern = normalize_glob(args.pattern.strip())
        if not pattern:
            raise FileToolError("pattern is empty; try **/* for every file, or **/*.py")
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise FileToolError(
                "the pattern must be relative and must not contain '..'; pass the folder to "
                "search as `path` and a pattern relative to it"
            )
        base, base_rel = _start_folder(context, args.path)
        if not _is_dir(context, base_rel):
            raise FileToolError(f"{base_rel} is a file; `path` must be a folder")
        prefix, rest = literal_prefix(pattern)
        start = base
        written = args.path or "."
        if prefix:
            start, start_rel_ = resolve(context, os.path.join(base, prefix))
            if not _is_dir(context, start_rel_):
                return ToolResult(_no_match(pattern, base_rel), metadata={"matches": 0})
            written = os.path.join(written, prefix)
        alias = folder_alias(context, written, start) if context.read_denied else None
        matcher = compile_glob(rest)
        depth = max_depth(rest)
        start_rel = "" if start == context.workspace else context.relative(start)
        cut = len(start_rel) + 1 if start_rel else 0
        found: list[str] = []
        withheld = 0
        for entry in walk(
            context.workspace, start, max_depth=depth, dirs_first=False, fs=context.fs
        ):
            if entry.is_dir:
                continue
            if matcher.match(entry.rel[cut:]) is None:
                continue
            target = None
            if entry.is_symlink:
                inside = _inside_file(context, entry)
                if inside is None:
                    continue
                target = str(context.workspace / inside)
            if read_withheld(context, entry.rel, target, alias):
                withheld += 1
                continue
            found.append(entry.rel)
        if not found:
            metadata = {"matches": 0}
            message = _no_match(pattern, base_rel)
            if withheld:
                metadata["withheld"] = withheld
                message += f" ({withheld_note(withheld)}.)"
            return ToolResult(message, metadata=metadata)
        found.sort()
        shown = found[:MAX_GLOB_RESULTS]
        text = "\n".join(shown)
        metadata = {"matches": len(found)}
        if len(found) > len(shown):
            metadata["truncated"] = True
            text += (
                f"\n[… and {len(found) - len(shown)} more matches not shown ({len(found)} in "
                "all). Narrow the pattern or search a subfolder with `path`.]"
            )
        if withheld:
            metadata["withheld"] = withheld
            text += f"\n[{withheld_note(withheld)}.]"
        return ToolResult(text, metadata=metadata)


def _no_match(pattern: str, base_rel: str) -> str:
    where = "the workspace" if base_rel == "." else base_rel
    message = f"No files match {pattern!r} in {where} (.gitignored files are skipped)."
    if "**" not in pattern:
        prefix, rest = literal_prefix(pattern)
        wider = f"{prefix}/**/{rest}" if prefix else f"**/{rest}"
        message += (
            f" Without ** a pattern does not reach into subfolders; try {wider!r} to search "
            "them too."
        )
    return message


# -- grep -----------------------------------------------------------------------------------------


class Grep(PathTool):
    """Search file contents with a regular expression."""

    name = "grep"
    description = (
        "Search the contents of files with a regular expression (RE2 syntax: like Python's re, "
        "without lookarounds or backreferences), line by line. Prints "
        "each matching line as `path:line_number:text`, paths relative to the workspace root. "
        "Searches a folder recursively (or one file), skipping .git, binary files and whatever "
        ".gitignore ignores. Narrow it with `path` and `glob` (e.g. *.py). Escape regex "
        "characters for a literal search (e.g. foo\\(bar). At most "
        f"{MAX_GREP_MATCHES} matching lines are shown and long lines are cut; when cut, the "
        "last line says so. Use read_file with start_line to see a match in context."
    )
    Args = "allos_fs.args:GrepArgs"  # imported on first use: loading plugins stays cheap
    read_only = True
    default_permission = "allow"

    async def run(self, args: GrepArgs, context: ToolContext) -> ToolResult:
        return await run_in_thread(self._grep, args, context)

    def _grep(self, args: GrepArgs, context: ToolContext) -> ToolResult:
        try:
            compiled = compile_pattern(args.pattern, args.ignore_case)
        except FileToolError as exc:
            return ToolResult.error(str(exc))
        regex, prefilter = compiled.line, compiled.whole
        start, start_rel = _start_folder(context, args.path)
        file_filter = _file_filter(args.glob, start, context) if args.glob else None
        alias = folder_alias(context, args.path or ".", start) if context.read_denied else None

        out: list[str] = []
        size = 0
        files_with_matches = 0
        skipped_large = 0
        withheld = 0
        cut = False
        searched = 0
        gave_up = False
        deadline = time.monotonic() + MAX_GREP_SECONDS
        for open_rel, rel, target in _files_to_search(context, start, start_rel, file_filter):
            if time.monotonic() >= deadline:
                gave_up = True
                break
            searched += 1
            # checked before the file is opened: a denied file's contents never reach the model,
            # and every denied file counts (not only matching ones, which would leak a match)
            if read_withheld(context, rel, target, alias):
                withheld += 1
                continue
            matches = _search_file(context, open_rel, rel, regex, prefilter)
            if matches is None:
                skipped_large += 1
                continue
            if not matches:
                continue
            files_with_matches += 1
            for number, line in matches:
                if len(line) > MAX_GREP_LINE_CHARS:
                    line = line[:MAX_GREP_LINE_CHARS] + " …[line cut]"
                text = f"{rel}:{number}:{line}"
                if len(out) >= MAX_GREP_MATCHES or size + len(text) > MAX_GREP_CHARS:
                    cut = True
                    break
                out.append(text)
                size += len(text) + 1
            if cut:
                break
        metadata: dict[str, Any] = {"matches": len(out), "files": files_with_matches}
        if withheld:
            metadata["withheld"] = withheld
        gave_up_note = ""
        if gave_up:
            metadata["gave_up"] = True
            gave_up_note = (
                f"[grep gave up after {MAX_GREP_SECONDS:g} s with {searched} files searched; "
                "the results are incomplete. Narrow the search with `path` or `glob`.]"
            )
        if not out and gave_up:
            return ToolResult(f"No matches so far. {gave_up_note}", metadata=metadata)
        if not out:
            where = "the workspace" if start_rel == "." else start_rel
            message = f"No matches for {args.pattern!r} in {where}"
            message += f" (files matching {args.glob!r})" if args.glob else ""
            message += "; .gitignored and binary files are skipped."
            if skipped_large:
                message += (
                    f" {skipped_large} files over {MAX_GREP_FILE_BYTES // 2**20} MB were skipped."
                )
            if withheld:
                message += f" ({withheld_note(withheld)}.)"
            return ToolResult(message, metadata=metadata)
        if cut:
            metadata["truncated"] = True
            out.append(
                f"[Output cut after {len(out)} matching lines; there are more. Narrow the search "
                "with `path`, `glob` or a more specific pattern.]"
            )
        if skipped_large:
            out.append(
                f"[{skipped_large} files over {MAX_GREP_FILE_BYTES // 2**20} MB were skipped.]"
            )
        if withheld:
            out.append(f"[{withheld_note(withheld)}.]")
        if gave_up_note:
            out.append(gave_up_note)
        return ToolResult("\n".join(out), metadata=metadata)


def _file_filter(pattern: str, start: Path, context: ToolContext):  # type: ignore[no-untyped-def,unused-ignore]
    normalized = normalize_glob(pattern.strip())
    regex = compile_glob(normalized)
    if "/" not in normalized:
        return lambda rel, name: regex.match(name) is not None
    start_rel = "" if start == context.workspace else context.relative(start)
    cut = len(start_rel) + 1 if start_rel else 0
    return lambda rel, name: regex.match(rel[cut:]) is not None


def _files_to_search(
    context: ToolContext,
    start: Path,
    start_rel: str,
    file_filter: Callable[[str, str], bool] | None,
) -> Iterator[tuple[str, str, str | None]]:
    """``(open_rel, rel, symlink_target)`` for each file to search: the canonical path to open
    beneath the workspace, the path as listed, and (for a symlink only) its real path, which is
    checked against deny rules too."""
    if not _is_dir(context, start_rel):
        yield start_rel, start_rel, None
        return
    for entry in walk(context.workspace, start, dirs_first=False, fs=context.fs):
        if entry.is_dir:
            continue
        if file_filter is not None and not file_filter(entry.rel, entry.name):
            continue
        real_rel = _inside_file(context, entry)
        if real_rel is not None:
            target = str(context.workspace / real_rel) if entry.is_symlink else None
            yield real_rel, entry.rel, target


def _search_file(
    context: ToolContext,
    open_rel: str,
    rel: str,
    regex: Any,
    prefilter: Any | None,
) -> list[tuple[int, str]] | None:
    """Matching ``(line_number, text)`` pairs; None when the file is too large to search."""
    try:
        fd, info = open_regular_stat(context.fs, open_rel)
    except (FileToolError, UnsafePathError):
        return []
    try:
        if info.st_size > MAX_GREP_FILE_BYTES:
            return None
        data = read_fd(fd, info.st_size)
    finally:
        os.close(fd)
    if looks_binary(data[:SNIFF_BYTES]):
        return []
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if prefilter is not None and prefilter.search(text) is None:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file ends with a newline: there is no empty line after it
    search = regex.search
    return [(n, line) for n, line in enumerate(lines, 1) if search(line)]
