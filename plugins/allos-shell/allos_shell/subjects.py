"""The permission subjects of a command line, with wrappers seen through (fail closed).

:class:`SubjectCollector` turns a line into two lists (see :func:`allos_shell.commands.permission_subjects`):

- ``primary``: what every allow rule must cover. Each simple command as written; then each
  command a wrapper runs (``sudo -u root rm x`` also gives ``rm x``); the commands of
  ``bash -c SCRIPT``, ``eval``, ``su -c``, ``trap``, ``find -exec``; redirection targets
  (``> FILE``). A command whose program is only known at run time (``$X``, ``$(…)``, a backtick,
  a glob or brace expansion in command position, a shell reading its script from stdin) gives
  ``<dynamic> TEXT``, and a line the parser cannot read ``<unparsed> LINE``: both are *opaque*
  (:func:`allos_core.permissions.is_opaque_subject`), so no allow rule for a command matches them
  and any deny rule for ``shell_exec`` denies them.
- ``aliases``: other spellings deny and ask rules must also see: the program by name
  (``/bin/rm`` -> ``rm``, quotes removed), and ``find … -delete`` and ``unlink`` as ``rm …``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from allos_shell.commands import (
    DYNAMIC_PREFIX,
    ParsedCommandLine,
    parse_command_line,
    unparsed_subject,
)
from allos_shell.wrappers import (
    find_commands,
    find_roots,
    has_brace_expansion,
    program_name,
    shell_invocation,
    unwrap_layers,
)

_MAX_DEPTH = 4
_GLOB = re.compile(r"[*?]|\[.*\]")


def is_dynamic_program(word: str) -> bool:
    """Whether a program word (after quote removal) is only known when the shell runs it."""
    if not word or "$" in word or "`" in word:
        return True
    if word in ("[", "[["):
        return False
    return _GLOB.search(word) is not None or has_brace_expansion(word)


class SubjectCollector:
    """Collects the primary subjects and aliases of one or more command lines."""

    def __init__(self) -> None:
        self.primary: list[str] = []
        self.aliases: list[str] = []

    def add_line(self, command: str, depth: int = 0) -> None:
        """Add the subjects of the command line ``command`` (a script at ``depth`` > 0)."""
        if depth > _MAX_DEPTH:
            self.primary.append(unparsed_subject(command))
            return
        parsed = parse_command_line(command)
        if not parsed.parsed:
            self.primary.append(unparsed_subject(command))
            return
        self._add_parsed(parsed, depth)

    def _add_parsed(self, parsed: ParsedCommandLine, depth: int) -> None:
        for simple in parsed.commands:
            words = list(simple.words)
            program = words[0] if words else None
            if program is not None and is_dynamic_program(program):
                self.primary.append(DYNAMIC_PREFIX + simple.text)
            elif simple.text:
                self.primary.append(simple.text)
            self.primary.extend(r.subject for r in simple.redirects if r.subject)
            if program is not None and not is_dynamic_program(program):
                self.add_words([*simple.assignments, *words], depth, outer_written=simple.text)
        self.primary.extend(r.subject for r in parsed.redirects if r.subject)

    def add_words(self, words: Sequence[str], depth: int, outer_written: str | None = None) -> None:
        """Add what the simple command ``words`` (after quote removal) runs."""
        layers = unwrap_layers(words)
        for index, layer in enumerate(layers):
            if not layer.argv:
                continue
            written = " ".join([*layer.assignments, *layer.argv])
            if layer.from_input:
                written += " <input>"
            if is_dynamic_program(layer.argv[0]):
                self.primary.append(DYNAMIC_PREFIX + written)
                return
            if index == 0 and outer_written is not None:
                written = outer_written
            else:
                self.primary.append(written)
            canonical = layer.text()
            if canonical != written:
                self.aliases.append(canonical)
            if layer.assignments:  # deny rules see the program without its NAME=value words
                self.aliases.append(layer.text(assignments=False))
        self._add_inner_commands(layers[-1].argv, depth)

    def _add_inner_commands(self, argv: list[str], depth: int) -> None:
        """Scripts and commands the innermost program runs in turn."""
        if not argv:
            return
        program, args = program_name(argv[0]), argv[1:]
        invocation = shell_invocation(program, args)
        if invocation is not None:
            if invocation.kind == "script":
                self.add_line(invocation.script, depth + 1)
            elif invocation.kind == "stdin":
                self.primary.append(f"{DYNAMIC_PREFIX}{' '.join(argv)} <commands from its input>")
            return
        if program == "eval":
            self.add_line(" ".join(args), depth + 1)
        elif program == "trap" and args and args[0] != "--":
            self.add_line(args[0], depth + 1)
        elif program == "su":
            script = _option_value(args, ("-c", "--command"))
            if script:
                self.add_line(script, depth + 1)
        elif program == "alias" and any("=" in a for a in args):
            # later lines may run the alias: what they run is not known from their words
            self.primary.append(f"{DYNAMIC_PREFIX}{' '.join(argv)} <defines an alias>")
        elif program == "watch":
            words = [a for a in args if not a.startswith("-")]
            if words:
                self.add_line(" ".join(words), depth + 1)
        elif program == "unlink":
            self.aliases.append("rm " + " ".join(args))
        elif program == "find":
            for command in find_commands(args):
                self.add_words(command, depth + 1)
            if "-delete" in args:
                self.aliases.append("rm " + " ".join(find_roots(args) or ["."]))


def _option_value(args: Sequence[str], names: tuple[str, ...]) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None
