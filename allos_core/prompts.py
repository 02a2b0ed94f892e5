"""The default system prompt of the coding agent, and project instructions (``ALLOS.md``).

:func:`build_system_prompt` is what :class:`~allos_core.agent.Agent` uses when no
``system_prompt`` is given: the default prompt below, the workspace and the tools, followed by the
project's own instructions from ``ALLOS.md`` (or ``AGENTS.md``) in the workspace root. A caller's
``system_prompt`` replaces all of it; ``append_system_prompt`` is added at the end either way.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: files in the workspace root whose text is appended to the default prompt, in this order
PROJECT_FILES = ("ALLOS.md", "AGENTS.md")
#: project instructions longer than this are cut (head and tail kept)
MAX_PROJECT_FILE_CHARS = 20_000

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


def load_project_instructions(
    workspace: str | Path, names: Iterable[str] = PROJECT_FILES
) -> list[tuple[str, str]]:
    """``(file name, text)`` for each project instruction file present in ``workspace``."""
    from allos_core.context import cap_text

    found = []
    root = Path(workspace)
    for name in names:
        path = root / name
        try:
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if text:
            found.append((name, cap_text(text, MAX_PROJECT_FILE_CHARS)))
    return found


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
