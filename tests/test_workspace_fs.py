"""The workspace resolver (allos_core.workspace_fs): every open happens beneath the workspace
descriptor; symlinks, ``..`` and magic links that lead out are refused, with both resolvers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from allos_core import workspace_fs
from allos_core.workspace_fs import UnsafePathError, WorkspaceFS, split_relative


@pytest.fixture(params=["openat2", "walk"])
def fs(request, tmp_path, monkeypatch) -> WorkspaceFS:
    """A resolver over tmp/ws, with tmp/outside/secret.txt next to it."""
    if request.param == "openat2" and not workspace_fs.has_openat2():
        pytest.skip("this kernel has no openat2")
    if request.param == "walk":
        monkeypatch.setattr(workspace_fs, "_openat2_state", [None])
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "sub").mkdir(parents=True)
    outside.mkdir()
    (ws / "sub" / "in.txt").write_text("inside")
    (outside / "secret.txt").write_text("SECRET")
    os.symlink(outside, ws / "out")  # absolute link out
    os.symlink("../outside/secret.txt", ws / "rel_out.txt")  # relative link out
    os.symlink("/proc/self/environ", ws / "environ")
    return WorkspaceFS(ws)


@pytest.mark.parametrize(
    "rel", ["out/secret.txt", "rel_out.txt", "environ", "sub/../../outside/secret.txt"]
)
def test_paths_leading_out_are_refused_before_reading(fs, rel):
    with pytest.raises((UnsafePathError, OSError)) as raised:
        fs.read_bytes(rel)
    assert "SECRET" not in str(raised.value)


@pytest.mark.parametrize("rel", ["/etc/passwd", "../outside/secret.txt", "a\x00b"])
def test_absolute_and_climbing_paths_are_refused_without_a_system_call(fs, rel):
    with pytest.raises(UnsafePathError):
        fs.open(rel)


def test_files_inside_are_read_and_written(fs):
    assert fs.read_bytes("sub/in.txt") == b"inside"
    fs.makedirs("sub/new/deeper")
    fs.atomic_write("sub/new/deeper/f.txt", b"written")
    assert (fs.root / "sub/new/deeper/f.txt").read_bytes() == b"written"
    assert fs.read_bytes("./sub//new/../new/deeper/f.txt") == b"written"


def test_makedirs_and_atomic_write_never_create_anything_through_a_link_out(fs):
    outside = fs.root.parent / "outside"
    with pytest.raises((UnsafePathError, OSError)):
        fs.makedirs("out/planted")
    with pytest.raises((UnsafePathError, OSError)):
        fs.atomic_write("out/planted.txt", b"x")
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_read_bytes_refuses_a_file_over_the_limit_unread(fs):
    (fs.root / "big.txt").write_bytes(b"x" * 100)
    with pytest.raises(OSError, match="too large"):
        fs.read_bytes("big.txt", limit=10)


def test_scandir_lists_through_the_descriptor(fs):
    with fs.scandir("sub") as entries:
        assert [e.name for e in entries] == ["in.txt"]
    with pytest.raises((UnsafePathError, OSError)), fs.scandir("out"):
        pass


def test_the_walk_refuses_even_symlinks_that_stay_inside(tmp_path, monkeypatch):
    # documented choice: callers pass canonical paths, so a symlink met during the walk means the
    # tree changed after the check
    monkeypatch.setattr(workspace_fs, "_openat2_state", [None])
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text("a")
    os.symlink("real", tmp_path / "alias")
    fs = WorkspaceFS(tmp_path)
    assert fs.read_bytes("real/a.txt") == b"a"
    with pytest.raises(UnsafePathError, match="symlink"):
        fs.read_bytes("alias/a.txt")


def test_split_relative_collapses_dots_and_keeps_inside():
    assert split_relative("./a//b/../c") == ["a", "c"]
    assert split_relative(Path(".")) == []
    with pytest.raises(UnsafePathError):
        split_relative("a/../../b")
