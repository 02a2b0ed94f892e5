"""The default deny rules: commands that are destructive beyond any doubt.

:func:`destructive_reason` looks at every simple command of a command line (including those in
substitutions, subshells, function bodies, and the strings of ``bash -c '…'``, ``su -c``,
``eval`` and ``trap``) and returns why it must never run, or None. The plugin hook turns a reason into a ``deny`` decision, which beats
every ``allow`` — even a user who answers "yes to all".

Denied (after stripping wrappers such as ``sudo``, ``env``, ``nohup``, ``nice``, ``timeout``,
``command``, ``exec``, ``xargs`` and leading ``NAME=value`` assignments, see
:mod:`allos_shell.wrappers`, and after brace expansion, so ``{rm,-rf,~}`` is ``rm -rf ~``):

- ``rm`` with ``--no-preserve-root``, or recursive (``-r``, ``-R``, ``-rf``, ``--recursive``) on
  ``/``, ``/*``, ``~``, ``~/*``, ``$HOME``, ``${HOME}``, ``$HOME/*`` or a top-level system
  folder (``/usr``, ``/etc``, ``/home``, ...), or on a path that may expand to one of them
  (``$X``, ``${HOME%/}``, ``"$DIR"/*``; see :mod:`allos_shell.paths`); ``*`` or ``.`` after a
  ``cd`` to ``/``, ``~`` or an unknown place (``cd && rm -rf *``); the words ``echo``,
  ``printf`` or ``find`` feed to ``xargs rm -r``;
- an unknown program (``$X``, ``$(…)``) run with options on such a path;
- a shell reading its script from stdin (``… | sh``) fed a destructive ``echo``/``printf``;
- recursive ``chmod``, ``chown`` or ``chgrp`` of those same paths;
- ``find`` of those paths (after ``-H``/``-L``/``-P``) with ``-delete`` or ``-exec rm``;
- ``mkfs``, ``mkfs.*`` and ``mke2fs`` (formatting a filesystem);
- ``dd of=/dev/…``, ``shred``, ``wipefs``, ``blkdiscard`` or ``mkswap`` of a device, and any
  redirection that writes to a device (``> /dev/sda``); pseudo-devices such as ``/dev/null``,
  ``/dev/zero``, ``/dev/stdout`` and ``/dev/tty`` are fine;
- fork bombs: a function that runs itself in a pipeline or in the background
  (``:(){ :|:& };:``).

A line bashlex cannot parse is still checked: it is cut at every shell operator (even quoted ones,
erring towards denying) and each piece is checked the same way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence

from allos_shell.commands import ParsedCommandLine, parse_command_line
from allos_shell.paths import is_dangerous_operand, is_device, unquote_ansi_c
from allos_shell.subjects import is_dynamic_program
from allos_shell.wrappers import (
    expand_braces,
    find_commands,
    find_roots,
    innermost,
    program_name,
    shell_invocation,
)

_FORK_BOMB = re.compile(
    r"([^\s(){};|&<>]+)\s*\(\s*\)\s*\{[^}]*?(?<![^\s{;|&])\1\s*\|\s*\1\s*&", re.S
)
_MAX_DEPTH = 4


def destructive_reason(command: str, _depth: int = 0) -> str | None:
    """Why ``command`` must be denied, or None when no default deny rule applies."""
    if _depth > _MAX_DEPTH:
        return None
    if _FORK_BOMB.search(command):
        return "a fork bomb (a function that keeps starting copies of itself)"
    parsed = parse_command_line(command)
    if parsed.parsed:
        return _reason_in_tree(parsed, _depth)
    for words, redirect_targets in _lexical_commands(command):
        reason = _reason_for_words(words, _depth) or _reason_for_targets(redirect_targets)
        if reason:
            return reason
    return None


def _reason_in_tree(parsed: ParsedCommandLine, depth: int) -> str | None:
    for function in parsed.functions:
        if function.name in function.calls and function.forks:
            return f"a fork bomb (function {function.name} keeps starting copies of itself)"
    line = _LineContext.of([[*c.assignments, *c.words] for c in parsed.commands])
    for simple in parsed.commands:
        reason = _reason_for_words([*simple.assignments, *simple.words], depth, line)
        if reason:
            return reason
    targets = [r.word for r in parsed.all_redirects() if r.writes]
    return _reason_for_targets(targets)


class _LineContext:
    """What other commands of the same line tell about one command.

    ``inputs`` are words that may reach a command on its stdin (the arguments of ``echo`` and
    ``printf``, the roots of ``find``): ``echo ~ | xargs rm -rf`` removes ``~``. ``home_dirs``
    holds the index of each command that runs after a ``cd`` to ``/``, ``~`` or an unknown place.
    """

    def __init__(self) -> None:
        self.inputs: list[str] = []
        self.scripts: list[str] = []
        self.dangerous_cwd_from: int | None = None
        self.position = 0

    @classmethod
    def of(cls, commands: Sequence[Sequence[str]]) -> _LineContext:
        context = cls()
        for index, words in enumerate(commands):
            argv = innermost(words).argv
            if not argv:
                continue
            program, args = program_name(argv[0]), argv[1:]
            if program in ("echo", "printf"):
                context.inputs.extend(args)
                context.scripts.append(" ".join(a for a in args if not a.startswith("%")))
            elif program == "find":
                context.inputs.extend(find_roots(args))
            elif program in ("cd", "pushd") and context.dangerous_cwd_from is None:
                operands = [a for a in args if not a.startswith("-") or a == "-"]
                target = operands[0] if operands else "~"
                if target == "-" or is_dangerous_operand(target):
                    context.dangerous_cwd_from = index
        return context

    def cwd_is_dangerous(self) -> bool:
        return self.dangerous_cwd_from is not None and self.position > self.dangerous_cwd_from


def _reason_for_targets(targets: Iterable[str]) -> str | None:
    for target in targets:
        if is_device(target):
            return f"writes to the device {target}"
    return None


# -- one command -----------------------------------------------------------------------------------


def _reason_for_words(
    words: Sequence[str], depth: int, line: _LineContext | None = None
) -> str | None:
    line = line or _LineContext()
    reason = _reason_for_argv(_expanded(words), depth, line)
    line.position += 1
    return reason


def _expanded(words: Sequence[str]) -> list[str]:
    """Words after brace expansion (``{rm,-rf,~}`` is ``rm -rf ~``)."""
    return [item for word in words for item in expand_braces(word)]


def _reason_for_argv(words: list[str], depth: int, line: _LineContext) -> str | None:
    layer = innermost(words)
    argv = layer.argv
    if not argv:
        return None
    program = program_name(argv[0])
    args = list(argv[1:])
    if layer.from_input:
        args += line.inputs  # xargs appends what the line feeds it
    if line.cwd_is_dangerous():
        args = [_in_dangerous_cwd(a) for a in args]
    if is_dynamic_program(argv[0]):
        options, operands = _split_options(args)
        hit = _first_dangerous(operands)
        if hit and (options or not operands[1:]):
            return f"an unknown program ({argv[0]}) run on {hit}"
        return None
    invocation = shell_invocation(program, args)
    if invocation is not None:
        if invocation.kind == "script":
            return destructive_reason(invocation.script, depth + 1)
        if invocation.kind == "stdin":
            for script in line.scripts:
                reason = destructive_reason(script, depth + 1)
                if reason:
                    return reason
        return None
    if program == "eval":
        return destructive_reason(" ".join(args), depth + 1)
    if program == "trap":
        return destructive_reason(args[0], depth + 1) if args and args[0] != "--" else None
    if program == "su":
        su_script = _option_value(args, ("-c", "--command"))
        return destructive_reason(su_script, depth + 1) if su_script else None
    if program == "rm":
        return _rm_reason(args)
    if program in ("chmod", "chown", "chgrp"):
        options, operands = _split_options(args)
        if _has_flag(options, "R", "--recursive"):
            hit = _first_dangerous(operands)
            if hit:
                return f"{program} -R of {hit}"
        return None
    if program.startswith("mkfs") or program == "mke2fs":
        return f"{program} formats a filesystem"
    if program == "dd":
        for arg in args:
            if arg.startswith("of=") and is_device(arg[3:]):
                return f"dd writes to the device {arg[3:]}"
        return None
    if program in ("shred", "wipefs", "blkdiscard", "mkswap"):
        _, operands = _split_options(args)
        for operand in operands:
            if is_device(operand):
                return f"{program} of the device {operand}"
        return None
    if program == "find":
        hit = _first_dangerous(find_roots(args))
        if hit and "-delete" in args:
            return f"find {hit} -delete"
        if hit and any(program_name(innermost(c).argv[0]) == "rm" for c in find_commands(args)):
            return f"find {hit} -exec rm"
    return None


def _in_dangerous_cwd(arg: str) -> str:
    """An operand as seen from ``/`` or ``~``: ``*`` and ``.`` there are everything there."""
    if arg in ("*", ".", "./", "./*", ".*", "./.*", ".."):
        return "~/*"
    return arg


def _option_value(args: list[str], names: tuple[str, ...]) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None


def _rm_reason(args: list[str]) -> str | None:
    options, operands = _split_options(args)
    if "--no-preserve-root" in options:
        return "rm --no-preserve-root"
    if not _has_flag(options, "rR", "--recursive"):
        return None
    hit = _first_dangerous(operands)
    return f"rm -r of {hit}" if hit else None


def _split_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    options: list[str] = []
    operands: list[str] = []
    only_operands = False
    for arg in args:
        if only_operands:
            operands.append(arg)
        elif arg == "--":
            only_operands = True
        elif arg.startswith("-") and arg != "-":
            options.append(arg)
        else:
            operands.append(arg)
    return options, operands


def _has_flag(options: Iterable[str], letters: str, long_name: str) -> bool:
    for option in options:
        if option == long_name:
            return True
        short = option.startswith("-") and not option.startswith("--")
        if short and any(letter in option[1:] for letter in letters):
            return True
    return False


# -- paths -----------------------------------------------------------------------------------------


def _first_dangerous(paths: Iterable[str]) -> str | None:
    for path in paths:
        if is_dangerous_operand(path):
            return path
    return None


# -- lines bashlex cannot parse --------------------------------------------------------------------

_SEPARATORS = re.compile(r"\$\(|`|<\(|>\(|[(){}]|;|\|\||&&|\|&?|(?<![<>])&(?!>)|\n")
_REDIRECT = re.compile(r"^\d*(?:&>>?|>>?|>\||<>|>&)(.*)$")


def _lexical_commands(command: str) -> list[tuple[list[str], list[str]]]:
    """Cut a line at every operator, quoted or not, into (words, write-redirection targets)."""
    text = unquote_ansi_c(command.replace("${HOME}", "$HOME"))  # $'\x2f' is /
    pieces: list[tuple[list[str], list[str]]] = []
    for segment in _SEPARATORS.split(text):
        try:
            tokens = shlex.split(segment, comments=False, posix=True)
        except ValueError:
            tokens = [t.strip("'\"") for t in segment.split()]
        words: list[str] = []
        targets: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            match = _REDIRECT.match(token)
            if match:
                target = match.group(1)
                if not target and index + 1 < len(tokens):
                    index += 1
                    target = tokens[index]
                targets.append(target)
            else:
                words.append(token)
            index += 1
        if words or targets:
            pieces.append((words, targets))
    return pieces
