"""read_file: ranges, caps with a "how to read on" message, binary and undecodable files."""

from __future__ import annotations

import os

import pytest
from allos_fs.read import MAX_CHARS, MAX_LINE_CHARS, MAX_LINES
from allos_fs.tools import read_file


def _numbered(start: int, lines: list[str]) -> str:
    return "\n".join(f"{n:6d}\t{text}" for n, text in enumerate(lines, start))


async def test_whole_file_is_numbered_like_cat_n(ws, call):
    (ws / "a.txt").write_text("alpha\nbeta\r\ngamma")
    result = await call(read_file, ws, path="a.txt")
    assert not result.is_error
    assert result.content == _numbered(1, ["alpha", "beta", "gamma"])
    assert result.metadata["lines"] == 3


async def test_line_range_is_inclusive_and_says_where_it_is(ws, call):
    (ws / "a.txt").write_text("".join(f"line {n}\n" for n in range(1, 51)))
    result = await call(read_file, ws, path="a.txt", start_line=10, end_line=12)
    assert (
        result.content
        == _numbered(10, ["line 10", "line 11", "line 12"]) + "\n[Lines 10-12 of 50.]"
    )
    tail = await call(read_file, ws, path="a.txt", start_line=49, end_line=500)
    assert tail.content.startswith(_numbered(49, ["line 49", "line 50"]))


async def test_range_errors(ws, call):
    (ws / "a.txt").write_text("one\ntwo\n")
    past = await call(read_file, ws, path="a.txt", start_line=5)
    assert past.is_error and "past the end" in past.content and "2 lines" in past.content
    backwards = await call(read_file, ws, path="a.txt", start_line=2, end_line=1)
    assert backwards.is_error and "before start_line" in backwards.content
    zero = await call(read_file, ws, path="a.txt", start_line=0)
    assert zero.is_error and "start_line" in zero.content


async def test_line_cap_says_how_to_read_the_rest(ws, call):
    total = MAX_LINES + 500
    (ws / "big.txt").write_text("".join(f"{n}\n" for n in range(1, total + 1)))
    first = await call(read_file, ws, path="big.txt")
    lines = first.content.split("\n")
    assert len(lines) == MAX_LINES + 1
    assert lines[-2] == f"{MAX_LINES:6d}\t{MAX_LINES}"
    assert lines[-1] == (
        f"[Output cut: showing lines 1-{MAX_LINES} of {total}. To read on, call read_file with "
        f"start_line={MAX_LINES + 1}.]"
    )
    assert first.metadata["truncated"] is True
    rest = await call(read_file, ws, path="big.txt", start_line=MAX_LINES + 1)
    assert rest.content.split("\n")[0] == f"{MAX_LINES + 1:6d}\t{MAX_LINES + 1}"
    assert rest.content.endswith(f"[Lines {MAX_LINES + 1}-{total} of {total}.]")


async def test_byte_cap_keeps_the_end_line_in_the_hint(ws, call):
    line = "x" * 1000
    (ws / "wide.txt").write_text((line + "\n") * 300)
    result = await call(read_file, ws, path="wide.txt", start_line=1, end_line=250)
    assert len(result.content) <= MAX_CHARS + 300
    shown = result.metadata["shown"][1]
    assert 90 <= shown < 100
    assert result.content.endswith(
        f"[Output cut: showing lines 1-{shown} of 300. To read on, call read_file with "
        f"start_line={shown + 1}, end_line=250.]"
    )


async def test_very_long_lines_are_cut(ws, call):
    (ws / "min.js").write_text("a" * (MAX_LINE_CHARS * 10) + "\nshort\n")
    result = await call(read_file, ws, path="min.js")
    first, second = result.content.split("\n")
    assert (
        first
        == f"{1:6d}\t" + "a" * MAX_LINE_CHARS + f" … [line cut at {MAX_LINE_CHARS} characters]"
    )
    assert second == f"{2:6d}\tshort"


async def test_binary_file_is_refused(ws, call):
    # (images are not "binary" to read_file: see tests/test_images.py)
    (ws / "blob.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    result = await call(read_file, ws, path="blob.bin")
    assert result.is_error
    assert "binary" in result.content and "blob.bin" in result.content


async def test_nul_after_the_first_8kb_is_still_text(ws, call):
    (ws / "late.txt").write_bytes(b"a" * 9000 + b"\n\x00\n")
    result = await call(read_file, ws, path="late.txt")
    assert not result.is_error


async def test_undecodable_bytes_are_replaced(ws, call):
    (ws / "latin.txt").write_bytes(b"caf\xe9 ok\n\xff\xfeend\n")
    result = await call(read_file, ws, path="latin.txt")
    assert not result.is_error
    assert result.content == _numbered(1, ["caf\ufffd ok", "\ufffd\ufffdend"])


async def test_empty_missing_and_folder(ws, call):
    (ws / "empty.txt").write_text("")
    (ws / "sub").mkdir()
    empty = await call(read_file, ws, path="empty.txt")
    assert not empty.is_error and "empty" in empty.content
    missing = await call(read_file, ws, path="nope/none.txt")
    assert missing.is_error and "nope/none.txt: no such file" in missing.content
    folder = await call(read_file, ws, path="sub")
    assert folder.is_error and "list_directory" in folder.content


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
async def test_a_named_pipe_is_refused_without_blocking(ws, call):
    os.mkfifo(ws / "pipe")
    result = await call(read_file, ws, path="pipe")
    assert result.is_error and "not a regular file" in result.content


async def test_absolute_path_inside_the_workspace_works(ws, call):
    (ws / "a.txt").write_text("hi\n")
    result = await call(read_file, ws, path=str(ws / "a.txt"))
    assert result.content == _numbered(1, ["hi"])
