"""The default system prompt of the coding agent, and project instructions (``ALLOS.md``).

:func:`build_system_prompt` is what :class:`~allos_core.agent.Agent` uses when no
``system_prompt`` is given: the default prompt below, the workspace and the tools, followed by the
project's own instructions from ``ALLOS.md`` (or ``AGENTS.md``) in the workspace root. A caller's
``system_prompt`` replaces all of it; ``append_system_prompt`` is added at the end either way.

Instruction files come with the project, so they are read like any file opened on the model's
behalf: through the workspace resolver (:mod:`allos_core.workspace_fs`). Only a regular file
inside the workspace is loaded (a symlink is followed only when it resolves inside; one leading
out, to ``/proc/self/environ`` or to a device, is skipped), at most
:data:`MAX_PROJECT_FILE_BYTES` bytes of it (a larger file is skipped); its text is then cut to
:data:`MAX_PROJECT_FILE_CHARS` characters. :func:`find_project_instructions` says what was
loaded and what was skipped and why, for the run header.
"""

from __future__ import annotations

import errno
import os
import platform
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: files in the workspace root whose text is appended to the default prompt, in this order
PROJECT_FILES = ("ALLOS.md", "AGENTS.md")
#: project instructions longer than this are cut (head and tail kept)
MAX_PROJECT_FILE_CHARS = 20_000
#: an instruction file larger than this (bytes) is not loaded at all
MAX_PROJECT_FILE_BYTES = 256 * 1024

DEFAULT_SYSTEM_PROMPT = """\
You are Allos, a careful coding agent. You work in a software project on the user's machine \
through the tools listed below, and you finish the task you are given.

How to work:
- Understand before you change anything: read the files involved (and search the code) before \
editing them. Never guess what a file contains.
- Make small, focused changes that do what the task asks; prefer editing a file over rewriting it, \
keep the project's style, and leave unrelated code alone.
- Be careful with anything that writes, deletes or runs commands. Do not run destructive \
commands (deleting files or folders, `git reset --hard`, force pushes, installing software) unless \
the task asks for them.
- After changing code, run the project's tests or checks when it has some, and fix what you broke.
- If a tool call is denied, do not retry the same call: take another approach or explain what you \
need from the user.
- A tool result that starts with an error is information, not a reason to stop: read it, adjust, \
and go on.
- When you are done, answer briefly: what you did, what you changed, and how you checked it. Say \
plainly if something is left undone or failed.\
"""


def describe_tools(tools: Iterable[Any]) -> str:
    """One line per tool: its name and the first line of its description."""
    lines = []
    for tool in tools:
        description = (tool.description or "").strip().splitlines()
        first = description[0] if description else ""
        lines.append(f"- {tool.name}: {first}" if first else f"- {tool.name}")
    return "\n".join(lines) if lines else "(no tools: answer from what you know)"


@dataclass(frozen=True)
class InstructionFile:
    """One project instruction file: its text when loaded, else why it was skipped."""

    name: str
    text: str | None = None
    skipped: str | None = None


def find_project_instructions(
    workspace: str | Path, names: Iterable[str] = PROJECT_FILES
) -> list[InstructionFile]:
    """Each instruction file present in ``workspace``: loaded (text capped) or skipped (reason).

    Missing and empty files are left out. Never raises for a file's sake.
    """
    from allos_core.context import cap_text
    from allos_core.workspace_fs import UnsafePathError, WorkspaceFS

    fs = WorkspaceFS(workspace)
    found: list[InstructionFile] = []
    for name in names:
        try:
            info = fs.lstat(name)
        except (OSError, UnsafePathError):
            continue
        rel: str = name
        if stat.S_ISLNK(info.st_mode):
            target = _inside_target(fs.root, name)
            if target is None:
                found.append(
                    InstructionFile(name, skipped="a symlink leading outside the workspace")
                )
                continue
            rel = target
        try:
            data = fs.read_bytes(rel, limit=MAX_PROJECT_FILE_BYTES)
        except UnsafePathError:
            found.append(InstructionFile(name, skipped="its path leads outside the workspace"))
            continue
        except OSError as exc:
            why = (
                f"larger than {MAX_PROJECT_FILE_BYTES // 1024} KB"
                if exc.errno == errno.EFBIG
                else "not a regular file"
                if exc.errno == errno.EINVAL
                else f"unreadable ({exc.strerror or exc})"
            )
            found.append(InstructionFile(name, skipped=why))
            continue
        text = data.decode("utf-8", errors="replace").strip()
        if text:
            found.append(InstructionFile(name, text=cap_text(text, MAX_PROJECT_FILE_CHARS)))
    return found


def _inside_target(root: Path, name: str) -> str | None:
    """The workspace-relative real path of the symlink ``name``, or None when it leads out."""
    real = os.path.realpath(root / name)
    prefix = str(root).rstrip(os.sep) + os.sep
    if not real.startswith(prefix):
        return None
    return os.path.relpath(real, root)


def load_project_instructions(
    workspace: str | Path, names: Iterable[str] = PROJECT_FILES
) -> list[tuple[str, str]]:
    """``(file name, text)`` for each project instruction file loaded from ``workspace`` (see
    :func:`find_project_instructions` for what is skipped)."""
    return [
        (item.name, item.text)
        for item in find_project_instructions(workspace, names)
        if item.text is not None
    ]


def build_system_prompt(
    tools: Iterable[Any],
    workspace: str | Path,
    *,
    system_prompt: str | None = None,
    append: str | None = None,
    project_files: Iterable[str] = PROJECT_FILES,
) -> str:
    """The system prompt for an agent.

    With ``system_prompt`` given, it is used as is (project files are not added). Otherwise the
    default prompt, the workspace path, the platform and the tools, then the project instruction
    files found in the workspace under a heading each. ``append`` always comes last.
    """
    if system_prompt is not None:
        pieces = [system_prompt]
    else:
        pieces = [
            DEFAULT_SYSTEM_PROMPT,
            f"Workspace: {workspace}\nEvery path you give a tool is relative to the workspace; "
            f"tools refuse paths outside it.\nPlatform: {platform.system() or 'unknown'}",
            "Tools:\n" + describe_tools(tools),
        ]
        for name, text in load_project_instructions(workspace, project_files):
            pieces.append(f"# Project instructions ({name})\n\n{text}")
    if append:
        pieces.append(append)
    return "\n\n".join(piece.strip("\n") for piece in pieces if piece)
