"""A task's own copy of its workspace, and the diff of that copy against the original.

Three kinds, chosen by :func:`prepare_workspace`:

- ``worktree``: the workspace is inside a git repository whose work tree is clean; the copy is a
  ``git worktree add --detach`` of HEAD (cheap, shares the objects). Ignored files (``.venv``,
  ``node_modules``) are not in it. The diff is ``git diff`` of everything the task changed,
  committed or not, against that HEAD, with paths relative to the workspace.
- ``clone``: the task names a ``repo`` (URL or path) and maybe a ``ref``; it is cloned and the
  ref checked out. The diff is against that commit.
- ``copy``: any other folder (or a repository with uncommitted changes, so the task sees exactly
  what the user sees) is copied whole; the diff compares the two trees file by file.

Paths given as ``exclude`` (the batch's own results file and sessions folder, when they sit
inside a workspace) are left out of copies, of the clean-tree check and of diffs.

Git runs with hooks and fsmonitor switched off and the ``ext::`` transport refused: a workspace
is not trusted, and a repository's own config must not run commands here.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from allos_core.errors import BatchError

GIT_SAFE = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "core.quotePath=false",
)
#: git worktree add/remove take repository-wide locks: one at a time in this process
_WORKTREE_LOCK = threading.Lock()
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")

Kind = Literal["copy", "worktree", "clone"]


def slug(task_id: str) -> str:
    """A file-name-safe, unique form of a task id (the id itself may be anything)."""
    digest = hashlib.sha1(task_id.encode("utf-8")).hexdigest()[:8]
    readable = _SLUG.sub("-", task_id).strip(".-")[:40] or "task"
    return f"{readable}-{digest}"


def _git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(
            ["git", *GIT_SAFE, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise BatchError(
            "git is not installed", hint="install git, or use folders that are not repositories"
        ) from None
    if check and done.returncode != 0:
        what = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise BatchError(
            f"git {args[0]} failed in {cwd}: {what[-1] if what else f'exit {done.returncode}'}",
            hint="check that the repository and the ref exist and can be read",
        )
    return done


@dataclass
class WorkspaceCopy:
    """Where one task runs (:attr:`path`) and how to diff and remove it."""

    kind: Kind
    original: str
    path: Path
    #: the temporary folder holding the copy (removed by :meth:`remove`)
    root: Path
    #: git only: the repository top of the copy and the commit the diff is taken against
    git_top: Path | None = None
    base_commit: str | None = None
    #: worktree only: the repository the worktree belongs to
    source_repo: Path | None = None
    #: copy only: paths (relative to the original, POSIX) left out of the copy and the diff
    excluded: frozenset[str] = frozenset()

    def diff(self) -> str:
        """A unified diff of the copy against the original ("" when nothing changed)."""
        if self.base_commit is None:
            return tree_diff(Path(self.original), self.path, self.excluded)
        assert self.git_top is not None
        _git("add", "-A", "--", ".", cwd=self.git_top)
        done = _git(
            "diff",
            "--cached",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--relative",
            self.base_commit,
            cwd=self.path,
        )
        return done.stdout

    def remove(self) -> None:
        """Delete the copy (a worktree is also unregistered from its repository)."""
        if self.kind == "worktree" and self.source_repo is not None and self.git_top is not None:
            with _WORKTREE_LOCK:
                _git(
                    "worktree",
                    "remove",
                    "--force",
                    str(self.git_top),
                    cwd=self.source_repo,
                    check=False,
                )
        shutil.rmtree(self.root, ignore_errors=True)


def prepare_workspace(
    *,
    workspace: Path | None = None,
    repo: str | None = None,
    ref: str | None = None,
    label: str,
    exclude: Iterable[str | Path] = (),
) -> WorkspaceCopy:
    """Make a task's own copy of ``workspace`` (or a clone of ``repo`` at ``ref``).

    ``label`` names the temporary folder (a task id's :func:`slug`); ``exclude`` lists paths
    to leave out (see the module docstring). Raises
    :class:`~allos_core.errors.BatchError` when the folder is missing or git fails.
    """
    root = Path(tempfile.mkdtemp(prefix=f"allos-batch-{label}-"))
    try:
        if repo is not None:
            return _clone(repo, ref, root)
        assert workspace is not None
        if not workspace.is_dir():
            raise BatchError(
                f"workspace {workspace} is not a folder",
                hint="fix the task's 'workspace', or create the folder",
            )
        skipped = relative_inside(workspace, exclude)
        top = _clean_git_top(workspace, relative_inside(workspace, exclude, posix=False))
        if top is not None:
            return _worktree(workspace, top, root)
        target = root / (workspace.name or "workspace")
        shutil.copytree(workspace, target, symlinks=True, ignore=_ignore(workspace, skipped))
        return WorkspaceCopy("copy", str(workspace), target, root, excluded=skipped)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def relative_inside(
    folder: Path, paths: Iterable[str | Path], *, posix: bool = True
) -> frozenset[str]:
    """Those of ``paths`` inside ``folder``, relative to it."""
    found = set()
    for path in paths:
        try:
            relative = Path(path).resolve().relative_to(folder.resolve())
        except ValueError:
            continue
        if relative.parts:
            found.add(relative.as_posix() if posix else str(relative))
    return frozenset(found)


def _ignore(folder: Path, skipped: frozenset[str]) -> Callable[[str, list[str]], set[str]]:
    def ignore(current: str, names: list[str]) -> set[str]:
        base = Path(current).relative_to(folder)
        return {name for name in names if (base / name).as_posix() in skipped}

    return ignore


def _clean_git_top(workspace: Path, skipped: frozenset[str] = frozenset()) -> Path | None:
    """The top of the git repository holding ``workspace`` if its work tree is clean."""
    if shutil.which("git") is None:
        return None
    done = _git("rev-parse", "--show-toplevel", cwd=workspace, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        return None
    top = Path(done.stdout.strip()).resolve()
    if _git("rev-parse", "--verify", "--quiet", "HEAD", cwd=top, check=False).returncode != 0:
        return None  # no commit yet
    excludes = [f":(exclude){workspace / name}" for name in sorted(skipped)]
    status = _git("status", "--porcelain", "-z", "--", str(top), *excludes, cwd=top, check=False)
    if status.returncode != 0 or status.stdout:
        return None
    return top


def _worktree(workspace: Path, top: Path, root: Path) -> WorkspaceCopy:
    base = _git("rev-parse", "HEAD", cwd=top).stdout.strip()
    tree = root / top.name
    with _WORKTREE_LOCK:
        _git("worktree", "add", "--detach", "--quiet", str(tree), base, cwd=top)
    path = tree / workspace.relative_to(top)
    return WorkspaceCopy("worktree", str(workspace), path, root, tree, base, top)


def _clone(repo: str, ref: str | None, root: Path) -> WorkspaceCopy:
    tree = root / "repo"
    _git("clone", "--quiet", "--", repo, str(tree), cwd=root)
    if ref:
        _git("checkout", "--quiet", "--detach", ref, cwd=tree)
    base = _git("rev-parse", "HEAD", cwd=tree).stdout.strip()
    return WorkspaceCopy("clone", repo, tree, root, tree, base)


# -- the diff of two folders ---------------------------------------------------------------------


def _files(folder: Path, skipped: frozenset[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for current, dirs, names in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(
            d
            for d in dirs
            if d != ".git"
            and not (here / d).is_symlink()
            and (here / d).relative_to(folder).as_posix() not in skipped
        )
        links = [d for d in os.listdir(current) if (here / d).is_symlink()]
        for name in sorted({*names, *links}):
            relative = (here / name).relative_to(folder).as_posix()
            if relative not in skipped:
                found[relative] = here / name
    return found


def _content(path: Path | None) -> bytes | None:
    if path is None:
        return None
    if path.is_symlink():
        return f"symlink -> {os.readlink(path)}\n".encode()
    try:
        return path.read_bytes()
    except OSError:
        return None


def _text(data: bytes) -> list[str] | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def tree_diff(original: Path, copy: Path, skipped: frozenset[str] = frozenset()) -> str:
    """A git-style unified diff of folder ``copy`` against ``original``.

    ``.git`` and the ``skipped`` relative paths are left out.
    """
    before, after = _files(original, skipped), _files(copy, skipped)
    out: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        old, new = _content(before.get(name)), _content(after.get(name))
        if old == new:
            continue
        a = f"a/{name}" if old is not None else "/dev/null"
        b = f"b/{name}" if new is not None else "/dev/null"
        out.append(f"diff --git a/{name} b/{name}\n")
        if old is None:
            out.append("new file\n")
        elif new is None:
            out.append("deleted file\n")
        old_lines, new_lines = _text(old or b""), _text(new or b"")
        if old_lines is None or new_lines is None:
            out.append(f"Binary files {a} and {b} differ\n")
            continue
        for line in difflib.unified_diff(old_lines, new_lines, a, b):
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
