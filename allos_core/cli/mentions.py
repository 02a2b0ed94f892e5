"""``@path`` in a chat message attaches that file's content, read through ``read_file``.

The file is read by the agent's own ``read_file`` tool with :meth:`Agent.call_tool`, so the
workspace resolver, the user's permission rules (``read_file(.env)`` denied stays denied) and any
``ask`` apply exactly as for the model's reads. A word is a mention when it starts with ``@`` at
the start of the message or after a space, and names something in the workspace or contains a
``/`` (so ``@here`` in prose is left alone, and ``user@example.com`` never matches).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

MENTION = re.compile(r"(?<!\S)@(\S+)")
_TRAILING = ",.;:!?)]}'\""


def find_mentions(text: str, workspace: Path) -> list[str]:
    """The paths ``text`` mentions, in order, without duplicates."""
    found: list[str] = []
    for match in MENTION.finditer(text):
        raw = match.group(1)
        for candidate in (raw, raw.rstrip(_TRAILING)):
            if candidate and (
                "/" in candidate or os.path.lexists(os.path.join(workspace, candidate))
            ):
                if candidate not in found:
                    found.append(candidate)
                break
    return found


class MentionError(Exception):
    """A mentioned file could not be attached (the message is not sent)."""


def attach_mentions(text: str, agent: Any) -> tuple[str, list[str]]:
    """``text`` with every mentioned file's content appended; and the paths attached.

    Raises :class:`MentionError` naming the file when ``read_file`` refuses or fails.
    """
    paths = find_mentions(text, agent.workspace)
    return attach_files(text, paths, agent), paths


def attach_files(text: str, paths: list[str], agent: Any) -> str:
    """``text`` followed by the content of each file (read with ``read_file``)."""
    blocks = []
    for path in paths:
        result = agent.call_tool("read_file", {"path": path})
        if result.is_error:
            raise MentionError(f"cannot attach {path}: {result.content}")
        blocks.append(f'<file path="{path}">\n{result.content}\n</file>')
    if not blocks:
        return text
    return text + "\n\n" + "\n\n".join(blocks)
