"""The ``write_file`` and ``edit_file`` tools: atomic writes that keep the file's mode, with diffs."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from allos_core.tools import ToolContext, ToolResult, run_in_thread
from allos_fs.base import PathTool, resolve
from allos_fs.files import (
    MAX_EDIT_BYTES,
    SNIFF_BYTES,
    FileToolError,
    count_lines,
    cut_diff,
    looks_binary,
    read_bytes,
    unified_diff,
)

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.workspace_fs import WorkspaceFS
    from allos_fs.args import EditFileArgs, WriteFileArgs

#: the diff inside an edit result is cut to this many lines (metadata keeps all of it)
MAX_DIFF_LINES = 200


def _encode(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        raise FileToolError(
            f"{what} contains characters that cannot be written as UTF-8 (lone surrogates)"
        ) from None


@dataclass
class _Old:
    """What a file held before a write (text is None when it did not exist)."""

    text: str | None
    binary: bool = False
    mode: int | None = None
    #: the old file is over MAX_EDIT_BYTES: replaced without reading it (no diff)
    large: bool = False


def _kind(fs: WorkspaceFS, rel: str) -> int | None:
    """The file type bits of ``rel`` (``lstat``, beneath the workspace), None when missing."""
    try:
        return stat.S_IFMT(fs.lstat(rel).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _load_old(fs: WorkspaceFS, rel: str) -> _Old:
    kind = _kind(fs, rel)
    if kind is None:
        return _Old(None)
    if kind == stat.S_IFDIR:
        raise FileToolError(f"{rel} is a folder; give the path of a file inside it")
    size = fs.lstat(rel).st_size
    if kind == stat.S_IFREG and size > MAX_EDIT_BYTES:
        return _Old("", binary=True, mode=stat.S_IMODE(fs.lstat(rel).st_mode), large=True)
    data, mode = read_bytes(fs, rel, MAX_EDIT_BYTES)
    if looks_binary(data[:SNIFF_BYTES]):
        return _Old("", binary=True, mode=mode)
    return _Old(data.decode("utf-8", errors="surrogateescape"), mode=mode)


# -- write_file -----------------------------------------------------------------------------------


class WriteFile(PathTool):
    """Create or overwrite a whole file."""

    name = "write_file"
    description = (
        "Create a file, or replace the whole content of an existing one, with the given text "
        "(UTF-8). Missing parent folders are created. The write is atomic and an existing file "
        "keeps its permissions. To change part of an existing file, prefer edit_file: it is "
        "cheaper and cannot drop unrelated lines. The result says whether the file was created "
        "or overwritten and how many lines it has."
    )
    Args = "allos_fs.args:WriteFileArgs"  # imported on first use: loading plugins stays cheap
    read_only = False
    default_permission = "ask"

    def preview(self, args: WriteFileArgs, context: ToolContext) -> str | None:
        try:
            _, rel = resolve(context, args.path)
            old = _load_old(context.fs, rel)
        except Exception:
            return None
        return _write_diff(old, args.content, rel)

    async def run(self, args: WriteFileArgs, context: ToolContext) -> ToolResult:
        return await run_in_thread(self._write, args, context)

    def _write(self, args: WriteFileArgs, context: ToolContext) -> ToolResult:
        if args.path.endswith(("/", os.sep)):
            raise FileToolError(
                f"{args.path} names a folder; give a file path such as {args.path}notes.txt"
            )
        _, rel = resolve(context, args.path)
        fs = context.fs
        old = _load_old(fs, rel)
        data = _encode(args.content, "content")
        lines = count_lines(args.content)
        diff = _write_diff(old, args.content, rel)
        metadata = {"path": rel, "diff": diff, "lines": lines}
        if old.text is not None and not old.binary and old.text == args.content:
            return ToolResult(
                f"{rel} already has this content ({lines} lines); nothing written.",
                metadata=metadata,
            )
        try:
            fs.makedirs(os.path.dirname(rel))
        except (FileExistsError, NotADirectoryError):
            raise FileToolError(
                f"cannot create the folders for {rel}: a part of that path is an existing file"
            ) from None
        fs.atomic_write(rel, data, mode=old.mode)
        if old.text is None:
            metadata["created"] = True
            return ToolResult(f"Created {rel} ({_lines(lines)}).", metadata=metadata)
        metadata["created"] = False
        was = (
            "a large file"
            if old.large
            else "a binary file"
            if old.binary
            else _lines(count_lines(old.text))
        )
        return ToolResult(f"Overwrote {rel} ({_lines(lines)}; was {was}).", metadata=metadata)


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def _write_diff(old: _Old, new: str, rel: str) -> str:
    if old.large:
        return f"Large file {rel} (over {MAX_EDIT_BYTES // 2**20} MB) replaced by text\n"
    if old.binary:
        return f"Binary file {rel} replaced by text ({_lines(count_lines(new))})\n"
    return unified_diff(old.text or "", new, rel, created=old.text is None)


# -- edit_file ------------------------------------------------------------------------------------


class EditFile(PathTool):
    """Replace exact text in a file."""

    name = "edit_file"
    description = (
        "Edit a file by replacing exact text. old_text must match the file exactly, including "
        "whitespace and indentation: copy it from read_file output without the line-number "
        "prefix. old_text must occur exactly once unless replace_all is true; to pick one of "
        "several occurrences, include a few surrounding lines. When old_text is not found or "
        "is ambiguous, the error says where matches or near-matches are. The result shows the "
        "change as a unified diff. To create a file or rewrite it completely, use write_file. "
        f"Files over {MAX_EDIT_BYTES // 2**20} MB are refused."
    )
    Args = "allos_fs.args:EditFileArgs"  # imported on first use: loading plugins stays cheap
    read_only = False
    default_permission = "ask"

    def preview(self, args: EditFileArgs, context: ToolContext) -> str | None:
        try:
            _, rel, old, new, _count, _lines_at = self._plan(args, context)
        except Exception:
            return None
        return unified_diff(old, new, rel)

    async def run(self, args: EditFileArgs, context: ToolContext) -> ToolResult:
        return await run_in_thread(self._edit, args, context)

    def _plan(
        self, args: EditFileArgs, context: ToolContext
    ) -> tuple[int, str, str, str, int, list[int]]:
        _, rel = resolve(context, args.path)
        kind = _kind(context.fs, rel)
        if kind is None:
            raise FileToolError(f"{rel}: no such file; to create it, use write_file")
        if kind == stat.S_IFDIR:
            raise FileToolError(f"{rel} is a folder; give the path of a file inside it")
        data, mode = read_bytes(context.fs, rel, MAX_EDIT_BYTES)
        if looks_binary(data[:SNIFF_BYTES]):
            raise FileToolError(
                f"{rel} looks like a binary file (it contains NUL bytes); edit_file only edits text"
            )
        if args.old_text == "":
            raise FileToolError(
                "old_text is empty; give the exact text to replace (to write a whole file, use write_file)"
            )
        if args.old_text == args.new_text:
            raise FileToolError("old_text and new_text are the same; nothing would change")
        text = data.decode("utf-8", errors="surrogateescape")
        new, count, lines_at = apply_edit(text, args.old_text, args.new_text, args.replace_all, rel)
        return mode, rel, text, new, count, lines_at

    def _edit(self, args: EditFileArgs, context: ToolContext) -> ToolResult:
        mode, rel, old, new, count, lines_at = self._plan(args, context)
        context.fs.atomic_write(rel, _encode(new, "new_text"), mode=mode)
        diff = unified_diff(old, new, rel)
        where = _line_list(lines_at)
        head = (
            f"Edited {rel}: replaced {count} occurrences ({where})."
            if count > 1
            else f"Edited {rel}: replaced 1 occurrence ({where})."
        )
        return ToolResult(
            f"{head}\n\n{cut_diff(diff, MAX_DIFF_LINES)}",
            metadata={"path": rel, "diff": diff, "replacements": count},
        )


def _line_list(numbers: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return ("line " if len(numbers) == 1 else "lines ") + shown + more


def _find_all(text: str, needle: str) -> list[int]:
    positions: list[int] = []
    index = text.find(needle)
    while index != -1:
        positions.append(index)
        index = text.find(needle, index + len(needle))
    return positions


def _line_numbers(text: str, positions: list[int]) -> list[int]:
    numbers: list[int] = []
    line = 1
    last = 0
    for position in positions:
        line += text.count("\n", last, position)
        last = position
        numbers.append(line)
    return numbers


def apply_edit(
    text: str, old: str, new: str, replace_all: bool, rel: str
) -> tuple[str, int, list[int]]:
    """``text`` with ``old`` replaced by ``new``; raises a helpful error when not found or ambiguous.

    Returns the new text, the number of replacements and the line of each (in the old text).
    A file with CRLF line endings also accepts ``old``/``new`` written with plain LF.
    """
    positions = _find_all(text, old)
    if not positions and "\r\n" in text and "\r" not in old and "\n" in old:
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
        positions = _find_all(text, old)
    if not positions:
        raise FileToolError(_not_found_message(text, old, rel))
    lines_at = _line_numbers(text, positions)
    if len(positions) > 1 and not replace_all:
        raise FileToolError(
            f"old_text occurs {len(positions)} times in {rel} ({_line_list(lines_at)}); it must "
            "occur exactly once. Include more surrounding lines in old_text to pick one, or set "
            f"replace_all=true to replace all {len(positions)}."
        )
    return (
        text.replace(old, new) if replace_all else text.replace(old, new, 1),
        len(positions),
        lines_at,
    )


_LINE_NUMBER_PREFIX = re.compile(r"^\s*\d+\t")


def _not_found_message(text: str, old: str, rel: str) -> str:
    parts = [
        f"old_text was not found in {rel}. It must match the file exactly, including whitespace "
        "and indentation."
    ]
    old_lines = old.split("\n")
    if all(_LINE_NUMBER_PREFIX.match(line) for line in old_lines if line.strip()):
        parts.append(
            "It seems to include read_file's line-number prefixes (number + tab): leave them out."
        )
    elif _squash(old) and _squash(old) in _squash(text):
        parts.append(
            "The same text exists with different whitespace (indentation, tabs vs spaces, "
            "trailing spaces or line breaks): copy it exactly from read_file."
        )
    closest = _closest_line(text, old_lines)
    if closest is not None:
        number, line = closest
        parts.append(f"The closest line is {number}: {line.strip()[:200]!r}.")
    parts.append("Read the file again (read_file) to see its current text.")
    return " ".join(parts)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _closest_line(text: str, old_lines: list[str]) -> tuple[int, str] | None:
    wanted = next((line.strip() for line in old_lines if line.strip()), "")
    wanted = _LINE_NUMBER_PREFIX.sub("", wanted).strip()
    if not wanted:
        return None
    lines = text.split("\n")[:20000]
    best_ratio = 0.0
    best: tuple[int, str] | None = None
    import difflib

    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    for number, line in enumerate(lines, 1):
        candidate = line.strip()
        if not candidate:
            continue
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best_ratio, best = ratio, (number, line)
    return best if best_ratio >= 0.6 else None
