"""What a command really runs: wrappers seen through, shell scripts found, braces expanded.

Shared by the permission subjects (:mod:`allos_shell.commands`) and the default deny rules
(:mod:`allos_shell.safety`), so both see ``sudo -u root env X=1 nohup rm x`` as ``rm x`` and
``bash -c -- 'rm x'`` as the script ``rm x``. Everything here works on words after quote removal
(``r''m`` is ``rm``, ``\\rm`` is ``rm``) and errs towards finding *more* commands, never fewer.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

#: programs that run their arguments as a shell script with ``-c``, or read one from stdin
SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish"})

# wrapper -> its options that take a value (as a separate word)
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "--unset", "--chdir", "-P"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "exec": frozenset({"-a"}),
    "nohup": frozenset(),
    "command": frozenset(),
    "builtin": frozenset(),
    "time": frozenset({"-f", "--format", "-o", "--output"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "setsid": frozenset(),
    "xargs": frozenset(
        {
            "-a",
            "-d",
            "-E",
            "-I",
            "-L",
            "-n",
            "-P",
            "-s",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--max-lines",
            "--replace",
            "--eof",
        }
    ),  # fmt: skip
    "busybox": frozenset(),
    "chrt": frozenset(),
    "taskset": frozenset(),
    "unbuffer": frozenset(),
    "strace": frozenset({"-o", "-e", "-p", "-s", "-u", "-E"}),
    "ltrace": frozenset({"-o", "-e", "-p", "-s", "-u"}),
    "flock": frozenset({"-w", "-E", "--timeout", "--conflict-exit-code"}),
}
# wrappers whose first operand is not the program (timeout DURATION, flock FILE, taskset MASK ...)
_LEADING_OPERANDS = {"timeout": 1, "flock": 1, "taskset": 1, "chrt": 1}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")


def program_name(word: str) -> str:
    """The name a rule knows a program by: ``/bin/rm`` and ``\\rm`` are ``rm``."""
    return posixpath.basename(word.lstrip("\\")) or word


def is_assignment(word: str) -> bool:
    """``NAME=value`` (or ``NAME+=value``)."""
    return _ASSIGNMENT.match(word) is not None


@dataclass
class Layer:
    """One command a wrapper chain runs: its ``argv`` and the ``NAME=value`` words before it.

    ``from_input`` is True when ``xargs`` appends words read from stdin to ``argv``.
    """

    argv: list[str]
    assignments: list[str] = field(default_factory=list)
    from_input: bool = False

    def text(self, *, assignments: bool = True) -> str:
        """The layer as a subject: assignments, then the program (by name) and its arguments."""
        words = [*self.assignments] if assignments else []
        if self.argv:
            words += [program_name(self.argv[0]), *self.argv[1:]]
        if self.from_input:
            words.append("<input>")
        return " ".join(words)


def unwrap_layers(words: Sequence[str]) -> list[Layer]:
    """Every command a simple command runs, outermost first, through wrappers.

    ``sudo -u root nohup rm x`` gives ``sudo -u root nohup rm x``, ``nohup rm x`` and ``rm x``.
    Leading ``NAME=value`` words are kept with each layer (they change what a program does).
    """
    assignments: list[str] = []
    argv = list(words)
    while argv and is_assignment(argv[0]):
        assignments.append(argv.pop(0))
    layers = [Layer(list(argv), list(assignments))]
    from_input = False
    for _ in range(16):  # wrapper chains deeper than this are absurd; stop looking
        if not argv:
            break
        name = program_name(argv[0])
        if name not in _WRAPPERS:
            break
        rest = _skip_options(name, argv[1:])
        if name == "env":
            while rest and is_assignment(rest[0]):
                assignments.append(rest.pop(0))
        from_input = from_input or name == "xargs"
        argv = rest[_LEADING_OPERANDS.get(name, 0) :]
        if argv:
            layers.append(Layer(list(argv), list(assignments), from_input))
    return layers


def innermost(words: Sequence[str]) -> Layer:
    """The command that really runs, after every wrapper."""
    return unwrap_layers(words)[-1]


def _skip_options(wrapper: str, args: list[str]) -> list[str]:
    with_value = _WRAPPERS[wrapper]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            break
        if wrapper == "env" and arg in ("-S", "--split-string") and index + 1 < len(args):
            return args[index + 1].split() + args[index + 2 :]
        index += 2 if arg in with_value else 1
    return args[index:]


# -- shells ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShellInvocation:
    """How a shell is asked to run commands: ``script`` (``-c SCRIPT``), ``stdin`` (it reads its
    commands from its input: ``… | bash``) or ``file`` (``bash script.sh``)."""

    kind: str
    script: str = ""


_SHELL_OPTIONS_WITH_VALUE = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def shell_invocation(program: str, args: Sequence[str]) -> ShellInvocation | None:
    """What ``program args`` runs when ``program`` is a shell; None when it is not one."""
    if program == "busybox":
        if args and program_name(args[0]) in SHELLS:
            return shell_invocation(program_name(args[0]), args[1:])
        return None
    if program not in SHELLS:
        return None
    has_c = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("--", "-"):
            index += 1
            break
        if arg in _SHELL_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if arg.startswith("--"):
            index += 1
            continue
        if arg.startswith(("-", "+")):
            has_c = has_c or "c" in arg[1:]
            index += 1
            continue
        break
    operands = list(args[index:])
    if has_c:
        return ShellInvocation("script", operands[0] if operands else "")
    if operands:
        return ShellInvocation("file")
    return ShellInvocation("stdin")


# -- find ------------------------------------------------------------------------------------------

_FIND_RUNNERS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def find_roots(args: Sequence[str]) -> list[str]:
    """The starting points of ``find ARGS`` (after ``-H``, ``-L``, ``-P``, ``-D x``, ``-Ox``)."""
    index = 0
    while index < len(args) and (
        args[index] in ("-H", "-L", "-P", "-D") or re.match(r"^-O\d*$", args[index])
    ):
        index += 2 if args[index] == "-D" else 1
    roots = []
    for arg in args[index:]:
        if arg.startswith(("-", "(", "!", ")")):
            break
        roots.append(arg)
    return roots


def find_commands(args: Sequence[str]) -> list[list[str]]:
    """The commands ``find`` runs with ``-exec``, ``-execdir``, ``-ok`` and ``-okdir``."""
    commands: list[list[str]] = []
    index = 0
    while index < len(args):
        if args[index] in _FIND_RUNNERS:
            end = index + 1
            while end < len(args) and args[end] not in (";", "+", "\\;"):
                end += 1
            if end > index + 1:
                commands.append(list(args[index + 1 : end]))
            index = end
        index += 1
    return commands


# -- brace expansion -------------------------------------------------------------------------------

_MAX_BRACE_WORDS = 64


def expand_braces(word: str) -> list[str]:
    """Bash brace expansion of one word (``{a,b}c`` -> ``ac bc``, ``{1..3}``), capped.

    Quotes are gone by the time words get here, so a quoted ``'{a,b}'`` is expanded too: that
    only ever finds more words to check, never fewer.
    """
    results = [word]
    for _ in range(8):
        expanded: list[str] = []
        changed = False
        for item in results:
            parts = _expand_once(item)
            changed = changed or parts != [item]
            expanded.extend(parts)
            if len(expanded) > _MAX_BRACE_WORDS:
                return expanded[:_MAX_BRACE_WORDS]
        results = expanded
        if not changed:
            break
    return results


def has_brace_expansion(word: str) -> bool:
    """Whether ``word`` holds a brace expansion."""
    return _expand_once(word) != [word]


def _expand_once(word: str) -> list[str]:
    for start, char in enumerate(word):
        if char != "{" or (start and word[start - 1] == "$"):
            continue
        depth = 0
        commas: list[int] = []
        for end in range(start, len(word)):
            if word[end] == "{":
                depth += 1
            elif word[end] == "}":
                depth -= 1
                if depth == 0:
                    inner = word[start + 1 : end]
                    head, tail = word[:start], word[end + 1 :]
                    if commas:
                        cuts = [start, *commas, end]
                        return [
                            head + word[a + 1 : b] + tail
                            for a, b in zip(cuts, cuts[1:], strict=False)
                        ]
                    seq = re.fullmatch(r"(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])", inner)
                    if seq:
                        return [head + item + tail for item in _sequence(*seq.groups())]
                    break
            elif word[end] == "," and depth == 1:
                commas.append(end)
    return [word]


def _sequence(first: str, last: str) -> list[str]:
    if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
        a, b = int(first), int(last)
        step = 1 if b >= a else -1
        return [str(n) for n in range(a, b + step, step)][:_MAX_BRACE_WORDS]
    a, b = ord(first), ord(last)
    step = 1 if b >= a else -1
    return [chr(n) for n in range(a, b + step, step)][:_MAX_BRACE_WORDS]
