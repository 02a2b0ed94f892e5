"""The sandbox, tested by generation: whatever path a model sends and whatever symlinks the
workspace holds, nothing outside the workspace is ever read or written — and paths inside work.

Each example builds a fresh layout in its own temporary folder::

    tmp/outside/secret.txt, tmp/outside/dir/inner.txt   (hold SECRET)
    tmp/ws-sibling/secret.txt                           (a name-prefix neighbour of ws)
    tmp/ws/inside.txt, tmp/ws/sub/file.txt, + generated symlinks

then calls every tool the way the agent does and checks that every outside file keeps its bytes
and mtime, no file appears outside, and no result (content, metadata, preview) shows SECRET.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from allos_fs.tools import all_tools, edit_file, read_file, write_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allos_core.tools import ToolContext, ToolResult

SECRET = "TOPSECRET-7f3a"
INSIDE = "inside-text-91c"
LINK_NAMES = ["l0", "l1", "l2", "sub/l3", "sub/l4"]
FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: generated examples make many small folders: use a RAM disk when there is one (much faster)
TMP_BASE = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def temp_root() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(dir=TMP_BASE)


@pytest.fixture(scope="module")
def loop():
    """One event loop (and its worker threads) for all examples of this module."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


# -- layouts --------------------------------------------------------------------------------------

TARGETS = st.sampled_from(
    [
        "ABS_OUTSIDE_FILE",
        "ABS_OUTSIDE_DIR",
        "ABS_OUTSIDE_MISSING",  # dangling: writing through it would create a file outside
        "../outside/secret.txt",
        "../outside",
        "../../outside/dir/inner.txt",
        "../ws-sibling/secret.txt",
        "/",
        "..",
        ".",
        "inside.txt",
        "sub",
        "sub/file.txt",
        "../ws/inside.txt",
        "missing-inside.txt",
        "LINK0",
        "LINK1",
        "LINK2",
        "LINK3",
        "SELF",
    ]
)
LAYOUTS = st.lists(
    st.tuples(st.sampled_from(LINK_NAMES), TARGETS), max_size=5, unique_by=lambda t: t[0]
)


def build(root: Path, layout: list[tuple[str, str]]) -> Path:
    outside = root / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    (outside / "dir" / "inner.txt").write_text(f"{SECRET} inner\n")
    (outside / "dir" / ".gitignore").write_text("*.txt\n")
    (root / "ws-sibling").mkdir()
    (root / "ws-sibling" / "secret.txt").write_text(f"{SECRET} sibling\n")
    ws = root / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "inside.txt").write_text(f"{INSIDE}\nsecond line\n")
    (ws / "sub" / "file.txt").write_text(f"{INSIDE} sub\n")
    for name, target in layout:
        link = ws / name
        if target.startswith("LINK"):
            target = os.path.relpath(ws / LINK_NAMES[int(target[4:])], link.parent)
        elif target == "SELF":
            target = link.name
        elif target == "ABS_OUTSIDE_FILE":
            target = str(outside / "secret.txt")
        elif target == "ABS_OUTSIDE_DIR":
            target = str(outside / "dir")
        elif target == "ABS_OUTSIDE_MISSING":
            target = str(outside / "created-by-tool.txt")
        elif link.parent != ws and not target.startswith("/"):
            target = "../" + target  # the same target, seen from sub/
        link.symlink_to(target)
    return ws


def snapshot_outside(root: Path) -> dict[str, Any]:
    """Every entry outside ws: content and mtime of files, targets of links."""
    state: dict[str, Any] = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d != "ws"]
        for name in dirs + files:
            path = Path(folder, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path))
            elif path.is_file():
                state[rel] = ("file", path.read_bytes(), path.stat().st_mtime_ns)
            else:
                state[rel] = ("dir",)
    return state


# -- generated paths ------------------------------------------------------------------------------

COMPONENTS = st.one_of(
    st.sampled_from(
        [
            "..",
            ".",
            "",
            "~",
            "~root",
            "outside",
            "secret.txt",
            "dir",
            "inner.txt",
            "ws",
            "ws-sibling",
            "inside.txt",
            "sub",
            "file.txt",
            "new.txt",
            "l0",
            "l1",
            "l2",
            "l3",
            "l4",
            "\x00",
            "\udc80",
            "\ud800",
            "é",
            "日本",
            "ABS_ROOT",
            "ABS_WS",
        ]
    ),
    st.text(min_size=1, max_size=4),
)
RANDOM_PATHS = st.tuples(st.booleans(), st.lists(COMPONENTS, min_size=1, max_size=6))
#: a link name followed by what an escaping link would lead to: the paths that find holes
THROUGH_LINKS = st.tuples(
    st.just(False),
    st.tuples(
        st.sampled_from(["l0", "l1", "l2", "sub/l3", "sub/l4"]),
        st.sampled_from(
            [
                "",
                "secret.txt",
                "inner.txt",
                "dir",
                "dir/inner.txt",
                "outside/secret.txt",
                "..",
                "../outside/secret.txt",
                "new.txt",
                "sub/new.txt",
                ".",
            ]
        ),
    ).map(lambda pair: [part for part in pair if part]),
)
PATHS = st.one_of(THROUGH_LINKS, RANDOM_PATHS)


def render(spec: tuple[bool, list[str]], root: Path) -> str:
    leading_slash, parts = spec
    text = "/".join(parts)
    text = text.replace("ABS_ROOT", str(root)).replace("ABS_WS", str(root / "ws"))
    return "/" + text if leading_slash and not text.startswith("/") else text


def arguments_for(tool_name: str, path: str) -> list[dict[str, Any]]:
    if tool_name == "read_file":
        return [{"path": path}, {"path": path, "start_line": 1, "end_line": 3}]
    if tool_name == "write_file":
        return [{"path": path, "content": "PWNED\n"}]
    if tool_name == "edit_file":
        return [
            {"path": path, "old_text": SECRET, "new_text": "PWNED"},
            {"path": path, "old_text": INSIDE, "new_text": "edited", "replace_all": True},
        ]
    if tool_name == "list_directory":
        return [{"path": path}, {"path": path, "recursive": True}]
    if tool_name == "glob":
        return [{"pattern": "**/*", "path": path}, {"pattern": f"{path}/*"}]
    return [
        {"pattern": "TOPSECRET|inside", "path": path},
        {"pattern": ".", "path": path, "glob": "**/*.txt"},
    ]


def check_no_secret(result: ToolResult | str | None) -> None:
    if result is None:
        return
    text = result if isinstance(result, str) else result.content + repr(result.metadata)
    assert SECRET not in text


async def exercise(ws: Path, path: str) -> list[ToolResult]:
    context = ToolContext(workspace=ws)
    results = []
    for tool in all_tools():
        for arguments in arguments_for(tool.name, path):
            try:
                args = tool.validate(arguments)
            except Exception:
                continue
            subject = tool.permission_subject(args, context)  # must never raise
            assert subject is None or isinstance(subject, str)
            check_no_secret(tool.preview(args, context))
            result = await tool.invoke(arguments, context)
            check_no_secret(result)
            results.append(result)
    return results


@FAST
@given(layout=LAYOUTS, spec=PATHS)
def test_nothing_outside_is_read_or_written(loop, layout, spec):
    with temp_root() as tmp:
        root = Path(tmp).resolve()
        ws = build(root, layout)
        before = snapshot_outside(root)
        loop.run_until_complete(exercise(ws, render(spec, root)))
        assert snapshot_outside(root) == before


@settings(FAST, max_examples=100)
@given(layout=LAYOUTS)
def test_searching_the_whole_workspace_never_leaks(loop, layout):
    with temp_root() as tmp:
        root = Path(tmp).resolve()
        ws = build(root, layout)
        before = snapshot_outside(root)
        results = loop.run_until_complete(exercise(ws, "."))
        assert snapshot_outside(root) == before
        grep_hits = "\n".join(r.content for r in results)
        assert "inside.txt:1:inside-text-91c" in grep_hits  # the inside still works


SAFE_NAME = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"),
    min_size=1,
    max_size=8,
).filter(lambda s: s not in (".", "..") and not s.startswith("~") and len(s.encode()) < 200)


@FAST
@given(
    parts=st.lists(SAFE_NAME, min_size=1, max_size=4),
    content=st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=200,
    ),
)
def test_paths_inside_work(loop, parts, content):
    with temp_root() as tmp:
        root = Path(tmp).resolve()
        ws = root / "ws"
        ws.mkdir()
        path = "/".join(parts)
        if (ws / path).exists():  # e.g. the generated name is a folder made by an earlier part
            return

        async def scenario() -> None:
            context = ToolContext(workspace=ws)
            written = await write_file.invoke({"path": path, "content": content}, context)
            assert not written.is_error, written.content
            assert (ws / path).read_bytes() == content.encode()
            assert (
                write_file.permission_subject(
                    write_file.validate({"path": path, "content": ""}), context
                )
                == path
            )
            read = await read_file.invoke({"path": path}, context)
            assert not read.is_error, read.content
            first_line = content.split("\n")[0].rstrip("\r")
            assert first_line in read.content
            if content:
                edited = await edit_file.invoke(
                    {"path": path, "old_text": content, "new_text": content + "!"}, context
                )
                assert not edited.is_error, edited.content
                assert (ws / path).read_bytes() == (content + "!").encode()

        loop.run_until_complete(scenario())
        assert sorted(p.name for p in root.iterdir()) == ["ws"]  # nothing written beside it


def test_links_to_inside_are_followed(loop, tmp_path):
    ws = build(tmp_path, [("l0", "inside.txt"), ("l1", "sub"), ("sub/l3", "LINK0")])
    context = ToolContext(workspace=ws)

    async def scenario() -> None:
        read = await read_file.invoke({"path": "sub/l3"}, context)
        assert INSIDE in read.content
        listed = await all_tools()[3].invoke({"path": "l1"}, context)
        assert "sub/file.txt" in listed.content
        written = await write_file.invoke({"path": "l0", "content": "new\n"}, context)
        assert written.content.startswith("Overwrote inside.txt")
        assert (ws / "l0").is_symlink() and (ws / "inside.txt").read_text() == "new\n"

    loop.run_until_complete(scenario())


def test_dangling_link_to_outside_is_not_written_through(loop, tmp_path):
    ws = build(tmp_path, [("l0", "ABS_OUTSIDE_MISSING")])
    result = loop.run_until_complete(
        write_file.invoke({"path": "l0", "content": "x"}, ToolContext(workspace=ws))
    )
    assert result.is_error and "outside the workspace" in result.content
    assert not (tmp_path / "outside" / "created-by-tool.txt").exists()
