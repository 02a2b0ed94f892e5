"""The command line's short forms: ``allos "TASK"`` runs a task, ``allos -i`` opens a chat.

Like ``llm "prompt"`` (which is ``llm prompt``), a first word that is not a command is a task for
``allos run``; ``-i`` / ``--interactive`` is ``allos chat``. Options may come before or after the
task (``allos "fix the tests" -p openai``, ``allos -p openai "fix the tests"``). The commands
keep their names and win: ``allos run ...``, ``allos chat``, ``allos --help`` and plugin
commands work as before. A single lower-case word (``allos sesions``, ``allos nope``) reads as a
command name, not a task: an unknown one gets the usual "No such command" error instead of
being sent to a model (``allos run refactor`` gives a one-word task).
"""

from __future__ import annotations

from collections.abc import Iterable

#: the options of the ``allos`` group itself (everything else belongs to a command)
GROUP_OPTIONS = frozenset({"-h", "--help", "--version"})
INTERACTIVE = frozenset({"-i", "--interactive"})


def expand_aliases(args: list[str], commands: Iterable[str]) -> list[str]:
    """``args`` with the short forms spelled out (``run ...`` / ``chat ...``), else unchanged."""
    if not args:
        return args
    first = args[0]
    names = set(commands)
    if first in names or first in GROUP_OPTIONS:
        return args
    options = _leading_options(args)
    if INTERACTIVE & set(options):
        return ["chat", *[a for a in args if a not in INTERACTIVE]]
    if first.startswith("-") and first != "-":
        return ["run", *args]  # `allos -p openai "task"`: the options of run, then the task
    if _looks_like_command(first):
        return args  # a command name (a plugin's, or a typo the group reports)
    return ["run", *args]


def _leading_options(args: list[str]) -> list[str]:
    """The arguments before ``--`` (a task text after ``--`` is never an option)."""
    return args[: args.index("--")] if "--" in args else list(args)


def _looks_like_command(word: str) -> bool:
    return word.replace("-", "").replace("_", "").isalnum() and word.islower()
