"""write_file and edit_file: parents, atomicity, modes, diffs, and helpful edit errors."""

from __future__ import annotations

import os
import stat

import pytest
from allos_fs.tools import edit_file, write_file

from allos_core.tools import ToolContext


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if "allos-tmp" in p.name)


async def test_write_creates_parent_folders(ws, call):
    result = await call(write_file, ws, path="src/pkg/new.py", content="a = 1\nb = 2\n")
    assert not result.is_error
    assert result.content == "Created src/pkg/new.py (2 lines)."
    assert (ws / "src/pkg/new.py").read_text() == "a = 1\nb = 2\n"
    assert result.metadata["created"] is True
    assert result.metadata["diff"].startswith("--- /dev/null\n+++ b/src/pkg/new.py\n")
    assert "+a = 1\n+b = 2\n" in result.metadata["diff"]
    assert _leftovers(ws) == []


async def test_overwrite_reports_lines_keeps_mode_and_leaves_no_temp_files(ws, call):
    script = ws / "run.sh"
    script.write_text("#!/bin/sh\necho old\n")
    script.chmod(0o755)
    inode_before = script.stat().st_ino
    result = await call(write_file, ws, path="run.sh", content="#!/bin/sh\necho new\nexit 0")
    assert result.content == "Overwrote run.sh (3 lines; was 2 lines)."
    assert script.read_text() == "#!/bin/sh\necho new\nexit 0"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert script.stat().st_ino != inode_before  # replaced by rename, not rewritten in place
    diff = result.metadata["diff"]
    assert "--- a/run.sh\n+++ b/run.sh\n" in diff
    assert "-echo old\n+echo new\n+exit 0\n\\ No newline at end of file\n" in diff
    assert _leftovers(ws) == []


async def test_new_file_gets_normal_permissions(ws, call):
    await call(write_file, ws, path="n.txt", content="x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((ws / "n.txt").stat().st_mode) == 0o666 & ~umask


async def test_failed_write_leaves_the_old_file_and_no_temp(ws, call, monkeypatch):
    target = ws / "keep.txt"
    target.write_text("original\n")

    def broken_replace(src, dst, **_dir_fds):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = await call(write_file, ws, path="keep.txt", content="new\n")
    assert result.is_error and "No space left" in result.content
    assert target.read_text() == "original\n"
    assert _leftovers(ws) == []


async def test_write_preview_is_the_diff_and_writes_nothing(ws):
    (ws / "a.txt").write_text("one\n")
    context = ToolContext(workspace=ws)
    preview = write_file.preview(
        write_file.validate({"path": "a.txt", "content": "two\n"}), context
    )
    assert preview == "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"
    assert (ws / "a.txt").read_text() == "one\n"
    outside = write_file.validate({"path": "../x.txt", "content": "x"})
    assert write_file.preview(outside, context) is None


async def test_write_errors(ws, call):
    (ws / "dir").mkdir()
    (ws / "file").write_text("x")
    folder = await call(write_file, ws, path="dir", content="x")
    assert folder.is_error and "folder" in folder.content
    slash = await call(write_file, ws, path="newdir/", content="x")
    assert slash.is_error and "folder" in slash.content
    through_file = await call(write_file, ws, path="file/inner.txt", content="x")
    assert through_file.is_error and "existing file" in through_file.content
    same = await call(write_file, ws, path="file", content="x")
    assert not same.is_error and "nothing written" in same.content


async def test_overwriting_a_binary_file(ws, call):
    (ws / "b.bin").write_bytes(b"\x00\x01")
    result = await call(write_file, ws, path="b.bin", content="text\n")
    assert result.content == "Overwrote b.bin (1 line; was a binary file)."
    assert "Binary file b.bin replaced" in result.metadata["diff"]


# -- edit_file ------------------------------------------------------------------------------------

SOURCE = """def greet(name):
    print("hello", name)


def part(name):
    print("bye", name)
    print("bye", name)
"""


async def test_unique_edit_shows_a_diff_and_keeps_mode(ws, call):
    path = ws / "m.py"
    path.write_text(SOURCE)
    path.chmod(0o750)
    result = await call(
        edit_file, ws, path="m.py", old_text='print("hello", name)', new_text='print("hi", name)'
    )
    assert not result.is_error, result.content
    assert result.content.startswith(
        "Edited m.py: replaced 1 occurrence (line 2).\n\n--- a/m.py\n+++ b/m.py\n"
    )
    assert '-    print("hello", name)\n+    print("hi", name)\n' in result.content
    assert result.metadata["diff"] in result.content
    assert path.read_text() == SOURCE.replace("hello", "hi")
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert _leftovers(ws) == []


async def test_ambiguous_edit_says_how_many_and_where(ws, call):
    (ws / "m.py").write_text(SOURCE)
    result = await call(edit_file, ws, path="m.py", old_text='print("bye", name)', new_text="pass")
    assert result.is_error
    assert "occurs 2 times in m.py (lines 6, 7)" in result.content
    assert "replace_all=true" in result.content
    assert (ws / "m.py").read_text() == SOURCE


async def test_replace_all(ws, call):
    (ws / "m.py").write_text(SOURCE)
    result = await call(
        edit_file, ws, path="m.py", old_text='"bye"', new_text='"ciao"', replace_all=True
    )
    assert result.content.startswith("Edited m.py: replaced 2 occurrences (lines 6, 7).")
    assert (ws / "m.py").read_text().count('"ciao"') == 2
    assert result.metadata["replacements"] == 2


async def test_not_found_points_at_the_closest_line(ws, call):
    (ws / "m.py").write_text(SOURCE)
    result = await call(edit_file, ws, path="m.py", old_text='print("helo", nme)', new_text="x")
    assert result.is_error
    assert "old_text was not found in m.py" in result.content
    assert "The closest line is 2: 'print(\"hello\", name)'" in result.content
    assert "read_file" in result.content


async def test_not_found_whitespace_hint(ws, call):
    (ws / "m.py").write_text(SOURCE)
    result = await call(
        edit_file,
        ws,
        path="m.py",
        old_text='def greet(name):\n  print("hello", name)',
        new_text="x",
    )
    assert result.is_error and "different whitespace" in result.content


async def test_not_found_line_number_prefix_hint(ws, call):
    (ws / "m.py").write_text(SOURCE)
    result = await call(
        edit_file, ws, path="m.py", old_text='     2\t    print("hello", name)', new_text="x"
    )
    assert result.is_error and "line-number prefixes" in result.content


async def test_crlf_file_accepts_lf_old_text(ws, call):
    (ws / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = await call(edit_file, ws, path="w.txt", old_text="one\ntwo", new_text="1\n2")
    assert not result.is_error, result.content
    assert (ws / "w.txt").read_bytes() == b"1\r\n2\r\nthree\r\n"


async def test_edit_keeps_undecodable_bytes_intact(ws, call):
    (ws / "l.txt").write_bytes(b"caf\xe9\nswap me\n")
    result = await call(edit_file, ws, path="l.txt", old_text="swap me", new_text="swapped")
    assert not result.is_error
    assert (ws / "l.txt").read_bytes() == b"caf\xe9\nswapped\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"path": "none.py", "old_text": "a", "new_text": "b"}, "use write_file"),
        ({"path": "m.py", "old_text": "", "new_text": "b"}, "old_text is empty"),
        ({"path": "m.py", "old_text": "def", "new_text": "def"}, "the same"),
        ({"path": "bin", "old_text": "a", "new_text": "b"}, "binary"),
        ({"path": ".", "old_text": "a", "new_text": "b"}, "folder"),
    ],
)
async def test_edit_errors(ws, call, arguments, message):
    (ws / "m.py").write_text(SOURCE)
    (ws / "bin").write_bytes(b"a\x00b")
    result = await call(edit_file, ws, **arguments)
    assert result.is_error and message in result.content


async def test_edit_preview_is_the_diff_and_changes_nothing(ws):
    (ws / "m.py").write_text(SOURCE)
    context = ToolContext(workspace=ws)
    args = edit_file.validate({"path": "m.py", "old_text": "greet", "new_text": "welcome"})
    preview = edit_file.preview(args, context)
    assert preview.startswith("--- a/m.py\n+++ b/m.py\n@@ -1,")
    assert "-def greet(name):\n+def welcome(name):\n" in preview
    assert (ws / "m.py").read_text() == SOURCE
    bad = edit_file.validate({"path": "m.py", "old_text": "zzz", "new_text": "y"})
    assert edit_file.preview(bad, context) is None


async def test_edit_refuses_a_file_over_the_size_limit_without_reading_it(ws, call):
    from allos_fs.files import MAX_EDIT_BYTES

    big = ws / "huge.log"
    with open(big, "wb") as handle:
        handle.truncate(MAX_EDIT_BYTES + 1)  # sparse: nothing is really written
    result = await call(edit_file, ws, path="huge.log", old_text="a", new_text="b")
    assert result.is_error and "10 MB limit" in result.content
    assert big.stat().st_size == MAX_EDIT_BYTES + 1


async def test_write_over_a_huge_file_replaces_it_without_reading_it(ws, call):
    from allos_fs.files import MAX_EDIT_BYTES

    big = ws / "huge.log"
    with open(big, "wb") as handle:
        handle.truncate(MAX_EDIT_BYTES + 1)
    result = await call(write_file, ws, path="huge.log", content="small\n")
    assert not result.is_error and "was a large file" in result.content
    assert big.read_text() == "small\n"
