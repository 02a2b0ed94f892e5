"""Reading a chat message: prompt_toolkit at a terminal, plain lines otherwise.

At a terminal: history across chats (up/down, Ctrl-R), Enter sends, Alt-Enter (or Esc then
Enter) starts a new line, a paste keeps its newlines, Tab completes slash commands and ``@path``
mentions of workspace files. Without a terminal (a pipe, a test) or on a ``TERM=dumb`` one,
lines are read with ``input()``. Either way a line ending with ``\\`` continues on the next one, and a line holding
only ``\"\"\"`` starts (and ends) a block.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# this module is imported only when a chat starts: prompt_toolkit costs nothing elsewhere
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.utils import is_dumb_terminal

BLOCK = '"""'
PROMPT, MORE = "› ", "… "
#: at most this many completions for one @path
MAX_PATH_COMPLETIONS = 200


class ChatInput:
    """Reads one message at a time; raises EOFError (Ctrl-D) and KeyboardInterrupt (Ctrl-C)."""

    def __init__(self, workspace: Path, history_file: Path | None, commands: Iterable[str]):
        self.workspace = workspace
        self.history_file = history_file
        self.commands = sorted(set(commands))
        self._session: Any = None
        self.terminal = sys.stdin.isatty()
        # prompt_toolkit needs a real terminal; TERM=dumb (Emacs shells, some CI) gets input()
        self.interactive = self.terminal and sys.stdout.isatty() and not is_dumb_terminal()

    def _prompt_session(self) -> Any:
        if self._session is None:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory, InMemoryHistory
            from prompt_toolkit.key_binding import KeyBindings

            bindings = KeyBindings()

            @bindings.add("escape", "enter")
            def _newline(event: Any) -> None:
                event.current_buffer.insert_text("\n")

            history: Any = InMemoryHistory()
            if self.history_file is not None:
                try:
                    self.history_file.parent.mkdir(parents=True, exist_ok=True)
                    history = FileHistory(str(self.history_file))
                except OSError:
                    pass
            self._session = PromptSession(
                history=history,
                completer=ChatCompleter(self.commands, self.workspace),
                complete_while_typing=False,
                key_bindings=bindings,
                enable_history_search=True,
            )
        return self._session

    def _line(self, prompt: str) -> str:
        if self.interactive:
            return str(self._prompt_session().prompt(prompt))
        return input(prompt if self.terminal else "")

    def read(self) -> str:
        """One message: continued lines (ending with \\) and \"\"\" blocks are joined."""
        first = self._line(PROMPT)
        if first.strip() == BLOCK:
            lines: list[str] = []
            while True:
                line = self._line(MORE)
                if line.strip() == BLOCK:
                    return "\n".join(lines)
                lines.append(line)
        lines = []
        line = first
        while line.endswith("\\"):
            lines.append(line[:-1])
            line = self._line(MORE)
        lines.append(line)
        return "\n".join(lines)


class ChatCompleter(Completer):
    """Completes ``/commands`` at the start of the input and ``@paths`` anywhere.

    Paths are listed inside the workspace only: a mention never reaches outside it.
    """

    def __init__(self, commands: list[str], workspace: Path) -> None:
        self.commands = commands
        self.workspace = workspace

    def get_completions(self, document: Any, complete_event: Any) -> Iterator[Completion]:
        before = document.text_before_cursor
        if before.startswith("/") and " " not in before:
            for command in self.commands:
                if command.startswith(before):
                    yield Completion(command, start_position=-len(before))
            return
        word = before.split()[-1] if before and not before[-1].isspace() else ""
        if word.startswith("@"):
            for path in complete_path(self.workspace, word[1:]):
                yield Completion("@" + path, start_position=-len(word))


def complete_path(workspace: Path, partial: str) -> list[str]:
    """Workspace-relative paths starting with ``partial`` (folders end with ``/``)."""
    folder_text, _, stem = partial.rpartition("/")
    root = Path(os.path.realpath(workspace))
    folder = Path(os.path.realpath(root / folder_text)) if folder_text else root
    if folder != root and root not in folder.parents:
        return []
    found: list[str] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem):
            continue
        name = f"{folder_text}/{entry.name}" if folder_text else entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        found.append(name + "/" if is_dir else name)
        if len(found) >= MAX_PATH_COMPLETIONS:
            break
    return found
