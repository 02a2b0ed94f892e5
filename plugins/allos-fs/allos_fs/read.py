"""The ``read_file`` tool: a text file, or a range of its lines, numbered like ``cat -n``."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING

from allos_core.images import MAX_IMAGE_BYTES, ImageError, image_from_bytes, sniff_image
from allos_core.tools import ToolContext, ToolResult, run_in_thread
from allos_fs.base import PathTool, resolve
from allos_fs.files import SNIFF_BYTES, FileToolError, looks_binary, open_regular

if TYPE_CHECKING:  # pragma: no cover
    from allos_fs.args import ReadFileArgs

#: at most this many lines per call
MAX_LINES = 2000
#: at most this many characters of output per call
MAX_CHARS = 100_000
#: longer lines are cut to this many characters
MAX_LINE_CHARS = 2000
_MAX_LINE_BYTES = MAX_LINE_CHARS * 4


class ReadFile(PathTool):
    """Read a text file, or a range of its lines."""

    name = "read_file"
    description = (
        "Read a text file in the workspace. Each output line starts with its line number and a "
        "tab (like `cat -n`); the numbers are not part of the file, so leave them out when you "
        "copy text into edit_file. One call returns at most "
        f"{MAX_LINES} lines or {MAX_CHARS // 1000} KB, and lines longer than {MAX_LINE_CHARS} "
        "characters are cut. When the output is cut, its last line says so and gives the "
        "start_line to pass to read the rest. Use start_line and end_line (1-based, inclusive) "
        "to read part of a large file. Binary files are refused, except images (PNG, JPEG, GIF, "
        "WebP), which are shown to you when you can see images; for a folder use "
        "list_directory."
    )
    Args = "allos_fs.args:ReadFileArgs"  # imported on first use: loading plugins stays cheap
    read_only = True
    default_permission = "allow"

    async def run(self, args: ReadFileArgs, context: ToolContext) -> ToolResult:
        return await run_in_thread(self._read, args, context)

    def _read(self, args: ReadFileArgs, context: ToolContext) -> ToolResult:
        start = args.start_line or 1
        end = args.end_line
        if end is not None and end < start:
            raise FileToolError(f"end_line {end} is before start_line {start}")
        real, rel = resolve(context, args.path)
        fd = open_regular(context.fs, rel)
        with os.fdopen(fd, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            if sniff_image(head) is not None:
                handle.seek(0)
                return _image(handle, rel, context)
            if looks_binary(head):
                raise FileToolError(
                    f"{rel} looks like a binary file (it contains NUL bytes); read_file only "
                    "reads text files"
                )
            handle.seek(0)
            return _render(handle, rel, start, end)


def _image(handle: IO[bytes], rel: str, context: ToolContext) -> ToolResult:
    """An image file: attached for a model that can see images, else a clear refusal."""
    media_type = sniff_image(handle.read(16))
    if context.vision is not True:
        why = "cannot see images" if context.vision is False else "may not see images"
        raise FileToolError(
            f"{rel} is an image ({media_type}); the model {why}, so it was not sent. "
            "Ask the user to describe it, or use a model with vision"
        )
    handle.seek(0)
    data = handle.read(MAX_IMAGE_BYTES + 1)
    try:
        image = image_from_bytes(data, where=rel)
    except ImageError as exc:
        raise FileToolError(str(exc)) from None
    size = len(data)
    return ToolResult(
        content=f"{rel}: {media_type} image, {size:,} bytes (attached)",
        images=[image],
        metadata={"summary": f"{media_type} image, {size:,} bytes"},
    )


def _render(handle: IO[bytes], rel: str, start: int, end: int | None) -> ToolResult:
    out: list[str] = []
    size = 0
    total = 0
    last_shown = 0
    cut = False
    for number, (raw, extra) in enumerate(_iter_lines(handle), 1):
        total = number
        if number < start:
            continue
        if end is not None and number > end:
            total = number + _count_rest(handle)
            break
        text = raw.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r")
        if extra or len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + f" … [line cut at {MAX_LINE_CHARS} characters]"
        line = f"{number:6d}\t{text}"
        if len(out) >= MAX_LINES or size + len(line) + 1 > MAX_CHARS:
            cut = True
            total = number + _count_rest(handle)
            break
        out.append(line)
        size += len(line) + 1
        last_shown = number
    if total == 0:
        return ToolResult(f"({rel} is empty)", metadata={"path": rel, "lines": 0})
    if start > total:
        raise FileToolError(f"start_line {start} is past the end of {rel}, which has {total} lines")
    metadata = {"path": rel, "lines": total, "shown": [start, last_shown]}
    if cut:
        more = f"start_line={last_shown + 1}" + (f", end_line={end}" if end is not None else "")
        out.append(
            f"[Output cut: showing lines {start}-{last_shown} of {total}. To read on, call "
            f"read_file with {more}.]"
        )
        metadata["truncated"] = True
    elif start > 1 or last_shown < total:
        out.append(f"[Lines {start}-{last_shown} of {total}.]")
    return ToolResult("\n".join(out), metadata=metadata)


def _iter_lines(handle: IO[bytes]):  # type: ignore[no-untyped-def,unused-ignore]
    """Yield ``(line_bytes, extra)`` where ``extra`` > 0 means the line was longer and cut."""
    while True:
        chunk = handle.readline(_MAX_LINE_BYTES)
        if not chunk:
            return
        if chunk.endswith(b"\n") or len(chunk) < _MAX_LINE_BYTES:
            yield chunk, 0
            continue
        extra = 0
        while True:
            more = handle.readline(_MAX_LINE_BYTES)
            extra += len(more) - (1 if more.endswith(b"\n") else 0)
            if not more or more.endswith(b"\n") or len(more) < _MAX_LINE_BYTES:
                break
        yield chunk, extra


def _count_rest(handle: IO[bytes]) -> int:
    """How many more lines the file has after the current position (cheap: counts newlines)."""
    count = 0
    last = b"\n"
    while True:
        block = handle.read(1 << 20)
        if not block:
            break
        count += block.count(b"\n")
        last = block[-1:]
    return count + (0 if last == b"\n" else 1)
