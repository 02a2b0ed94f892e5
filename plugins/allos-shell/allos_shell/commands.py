"""Split a shell command line into the simple commands it runs, for permission rules.

A permission rule such as ``shell_exec(git status*)`` is a glob on one command. A command line can
hold many: ``git status; rm -rf ~`` runs two, ``git status $(curl x | sh)`` runs three. So the
shell tool does not match rules against the whole line: it asks for permission for *every* simple
command in it, and the call is allowed only when each one is (see
:meth:`allos_core.permissions.PermissionRules.decide`).

:func:`permission_subjects` returns those subjects:

- one subject per simple command, wherever it sits: after ``;``, ``&&``, ``||``, ``&``, a newline
  or a pipe; inside ``( … )``, ``{ …; }``, ``if``/``while``/``for`` bodies and function bodies;
  inside command substitutions (``$( … )``, backticks) and process substitutions
  (``<( … )``, ``>( … )``), because those run too. The outer command keeps its words as written,
  so ``git status $(id)`` gives ``git status $(id)`` and ``id``;
- the subject of a command is its words (and its assignments and input redirections) as written,
  joined by single spaces, so ``git   status`` matches ``git status*``; output redirections and
  descriptor duplications (``2>&1``) are taken out of it;
- one subject ``> TARGET`` per redirection that writes to a file (``>``, ``>>``, ``>|``, ``&>``,
  ``&>>``, ``<>``, ``>& file``), so an allow rule for a command never lets it overwrite
  ``~/.bashrc``. Write rules for targets like ``shell_exec(> build/*)``. Duplications such as
  ``2>&1`` and writes to ``/dev/null``, ``/dev/stdout``, ``/dev/stderr`` and ``/dev/fd/N`` are
  harmless and give no subject;
- when the line cannot be parsed with certainty (bashlex does not know ``[[ ]]``, ``case``,
  ``$(( ))``, quoted here-document delimiters, ...; a ``${x:-$(cmd)}`` or an unquoted
  here-document hides a command from it), a single subject ``<unparsed> LINE`` that no ordinary
  allow rule matches, so the call falls back to asking. Nothing that cannot be parsed is allowed by
  a rule written for a simple command.

:func:`permission_subjects` also sees through wrappers and scripts (``sudo rm x`` gives ``rm x``,
``bash -c 'rm x'`` gives ``rm x``), and marks a command whose program is only known at run time
as ``<dynamic> …``; :func:`permission_aliases` gives the spellings deny rules must also see
(``/bin/rm`` is ``rm``). Both are computed in :mod:`allos_shell.subjects`.

:func:`parse_command_line` exposes the parsed structure (words, redirections, function
definitions) for other checks such as the default deny rules in :mod:`allos_shell.safety`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: prefix of the subject given to a command line that could not be parsed
UNPARSED_PREFIX = "<unparsed> "
#: prefix of the subject of a command whose program is only known when it runs (``$X``, ``$(…)``)
DYNAMIC_PREFIX = "<dynamic> "

#: redirection targets that write nowhere that matters
HARMLESS_WRITE_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})

_HIDDEN_COMMAND_MARKERS = ("$(", "`", "<(", ">(")


@dataclass(frozen=True)
class Redirect:
    """One redirection: its operator (``>``, ``>>``, ``<``, ``&>``, ...) and its target as written.

    ``word`` is the target as the shell sees it after quote removal (``"a b"`` -> ``a b``);
    ``text`` is the source text. For duplications (``2>&1``) ``target_fd`` is the number and
    ``word``/``text`` are empty.
    """

    op: str
    text: str = ""
    word: str = ""
    target_fd: int | None = None

    @property
    def writes(self) -> bool:
        """True when the redirection opens a file for writing."""
        if self.target_fd is not None or self.word == "-":
            return False
        return ">" in self.op

    @property
    def subject(self) -> str | None:
        """The permission subject ``> TARGET`` of a write to a file, or None."""
        if not self.writes:
            return None
        if self.word in HARMLESS_WRITE_TARGETS or self.word.startswith("/dev/fd/"):
            return None
        return f"> {self.text}"


@dataclass(frozen=True)
class SimpleCommand:
    """One simple command: ``NAME=value ... word word ... <redirections>``.

    ``text`` is its permission subject (see the module documentation); ``words`` are its words
    after quote removal (``words[0]`` is the program), ``assignments`` the leading ``NAME=value``
    words, ``redirects`` every redirection on it.
    """

    text: str
    words: tuple[str, ...] = ()
    assignments: tuple[str, ...] = ()
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class FunctionDef:
    """A shell function definition ``name() { body; }``.

    ``calls`` are the program names its body runs; ``forks`` tells whether the body starts a
    pipeline or a background job (together with a call to itself: a fork bomb).
    """

    name: str
    calls: frozenset[str] = frozenset()
    forks: bool = False


@dataclass
class ParsedCommandLine:
    """The result of :func:`parse_command_line`.

    When ``parsed`` is False, ``error`` says why and the other lists are empty: treat the line as
    unknown.
    """

    source: str
    parsed: bool
    commands: list[SimpleCommand] = field(default_factory=list)
    #: redirections attached to compound commands: ``{ …; } > out``, ``( … ) > out``, loops
    redirects: list[Redirect] = field(default_factory=list)
    functions: list[FunctionDef] = field(default_factory=list)
    error: str | None = None

    def all_redirects(self) -> Iterator[Redirect]:
        """Every redirection in the line, on simple and on compound commands."""
        for command in self.commands:
            yield from command.redirects
        yield from self.redirects


class _Unsafe(Exception):
    """The parse tree cannot be trusted to show every command (bashlex hides one)."""


def parse_command_line(command: str) -> ParsedCommandLine:
    """Parse ``command`` with bashlex into its simple commands, redirections and functions.

    Never raises: a line bashlex rejects, or one whose tree may hide a command, comes back with
    ``parsed=False`` and the reason in ``error``.
    """
    if not command.strip():
        return ParsedCommandLine(command, parsed=True)
    if "$'" in command or '$"' in command:  # bashlex misreads ANSI-C and locale quoting
        return ParsedCommandLine(command, parsed=False, error="$'…' quoting is not understood")
    try:
        import bashlex

        trees = bashlex.parse(command)
    except Exception as exc:  # bashlex raises ParsingError, NotImplementedError, AttributeError...
        return ParsedCommandLine(command, parsed=False, error=_describe(exc))
    except RecursionError as exc:  # pragma: no cover - absurdly nested input
        return ParsedCommandLine(command, parsed=False, error=_describe(exc))
    result = ParsedCommandLine(command, parsed=True)
    try:
        for tree in trees:
            _Walker(command, result).visit(tree)
    except _Unsafe as exc:
        return ParsedCommandLine(command, parsed=False, error=str(exc))
    except Exception as exc:  # an unexpected tree shape: do not guess
        return ParsedCommandLine(command, parsed=False, error=_describe(exc))
    return result


def permission_subjects(command: str) -> list[str]:
    """Every subject a permission rule must allow before ``command`` may run.

    See the module documentation for what they are. The list keeps source order and has no
    duplicates; it is never empty (a line with no command at all gives its stripped text).
    """
    return list(_subjects(command)[0])


def permission_aliases(command: str) -> list[str]:
    """Other spellings of the subjects, which ``deny`` and ``ask`` rules also see.

    ``/bin/rm x``, ``\\rm x`` and ``"rm" x`` give ``rm x``; ``find . -delete`` gives ``rm .``.
    An allow rule never needs to match these (``git status*`` must not allow ``/tmp/x/git``).
    """
    return list(_subjects(command)[1])


@functools.lru_cache(maxsize=128)
def _subjects(command: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from allos_shell.subjects import SubjectCollector

    collector = SubjectCollector()
    collector.add_line(command)
    primary = list(dict.fromkeys(collector.primary)) or [command.strip()]
    aliases = [a for a in dict.fromkeys(collector.aliases) if a not in primary]
    return tuple(primary), tuple(aliases)


def unparsed_subject(command: str) -> str:
    """The subject of a line that could not be parsed: no ordinary allow rule matches it."""
    return UNPARSED_PREFIX + command.strip()


# -- the tree walk ---------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _children(node: Any) -> list[Any]:
    """The child nodes of a bashlex node, whatever attribute holds them."""
    found: list[Any] = []
    for attr in ("parts", "list", "command", "output", "redirects", "heredoc"):
        value = getattr(node, attr, None)
        if value is None or isinstance(value, (int, str)):
            continue
        if isinstance(value, list):
            found.extend(v for v in value if hasattr(v, "kind"))
        elif hasattr(value, "kind"):
            found.append(value)
    return found


class _Walker:
    """Collects simple commands, redirections and functions from one bashlex tree."""

    def __init__(self, source: str, result: ParsedCommandLine) -> None:
        self.source = source
        self.result = result

    def text(self, node: Any) -> str:
        start, end = node.pos
        return self.source[start:end]

    def visit(self, node: Any) -> None:
        kind = node.kind
        if kind == "command":
            self.result.commands.append(self.simple_command(node))
            for child in _children(node):
                self.visit(child)
            return
        if kind == "function":
            self.result.functions.append(self.function(node))
        elif kind == "compound":
            for redirect in getattr(node, "redirects", None) or []:
                self.result.redirects.append(self.redirect(redirect))
        elif kind == "parameter":
            value = getattr(node, "value", "") or ""
            if any(marker in value for marker in _HIDDEN_COMMAND_MARKERS):
                raise _Unsafe(f"a command inside the parameter expansion ${{{value}}}")
        elif kind == "tilde":
            value = getattr(node, "value", "") or ""
            if any(marker in value for marker in ("$", "`")):
                raise _Unsafe(f"a command hidden after ~ in {value}")
        elif kind == "heredoc":
            body = getattr(node, "value", "") or ""
            if any(marker in body for marker in ("$(", "`")):
                raise _Unsafe("a command substitution inside a here-document")
        for child in _children(node):
            self.visit(child)

    def simple_command(self, node: Any) -> SimpleCommand:
        pieces: list[str] = []
        words: list[str] = []
        assignments: list[str] = []
        redirects: list[Redirect] = []
        for part in node.parts:
            if part.kind == "redirect":
                redirect = self.redirect(part)
                redirects.append(redirect)
                if not redirect.writes and redirect.target_fd is None:
                    pieces.append(self.redirect_text(part))
            elif part.kind == "assignment":
                assignments.append(part.word)
                pieces.append(self.text(part))
            elif part.kind == "word":
                words.append(part.word)
                pieces.append(self.text(part))
            else:
                pieces.append(self.text(part))
        return SimpleCommand(" ".join(pieces), tuple(words), tuple(assignments), tuple(redirects))

    def redirect(self, node: Any) -> Redirect:
        op = str(getattr(node, "type", ""))
        output = getattr(node, "output", None)
        if isinstance(output, int):
            return Redirect(op, target_fd=output)
        if output is None or not hasattr(output, "kind"):
            return Redirect(op)
        return Redirect(op, text=self.text(output), word=getattr(output, "word", ""))

    def redirect_text(self, node: Any) -> str:
        """A redirection as written, without a here-document's body."""
        output = getattr(node, "output", None)
        if getattr(node, "heredoc", None) is not None and hasattr(output, "pos"):
            assert output is not None
            return self.source[node.pos[0] : output.pos[1]]
        return self.text(node)

    def function(self, node: Any) -> FunctionDef:
        name = ""
        body = None
        for part in node.parts:
            if part.kind == "word" and not name:
                name = part.word
            elif part.kind == "compound":
                body = part
        calls: set[str] = set()
        forks = False
        stack = [body] if body is not None else []
        while stack:
            current = stack.pop()
            if current.kind == "command":
                first = next((p for p in current.parts if p.kind == "word"), None)
                if first is not None:
                    calls.add(first.word)
            elif current.kind == "pipe" or (
                current.kind == "operator" and getattr(current, "op", "") == "&"
            ):
                forks = True
            stack.extend(_children(current))
        return FunctionDef(name, frozenset(calls), forks)
