"""Permission decisions: rules, their combination, and the decision for one tool call.

A decision is ``allow``, ``ask`` or ``deny`` with a reason. Sources, weakest first:

1. the tool's ``default_permission``;
2. plugin hooks (``allos_check_permission``), combined with deny > ask > allow;
3. the user's rules (config files and command line): ``allow`` / ``ask`` / ``deny`` lists of
   patterns such as ``read_file``, ``shell_exec(git status*)`` or ``write_file(src/**)``;
4. the run's overrides: "yes to all asks" and answers "always for this session".

``deny`` from a plugin or a user rule always wins, even against "yes to all".

:func:`decide_permission` combines the sources for one call; :class:`SessionPermissions`
remembers "always" answers (in memory only); :class:`PermissionRequest` is what the agent hands to
the caller's prompt function when the decision is ``ask``.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Decision = Literal["allow", "ask", "deny"]
#: the only values ``PermissionDecision.decision`` may take (exactly, lower case)
DECISIONS: tuple[str, ...] = ("allow", "ask", "deny")
_STRENGTH = {"allow": 0, "ask": 1, "deny": 2}

_OPAQUE_SUBJECT = re.compile(r"^<[a-z][a-z-]*> ")


def is_opaque_subject(subject: str | None) -> bool:
    """Whether ``subject`` is *opaque*: written ``<kind> TEXT`` by a tool that cannot know
    statically what the call will do (a shell line the parser cannot read, a program computed at
    run time such as ``$X`` or ``$(…)``).

    No allow rule with a pattern matches an opaque subject (only one that covers every call of
    the tool, ``tool`` or ``tool(*)``); every ``ask`` and ``deny`` rule for the tool matches it,
    whatever its pattern. So an opaque call is never allowed by a rule written for some other
    command, and it is denied as soon as the user has a deny rule for that tool.
    """
    return bool(subject) and _OPAQUE_SUBJECT.match(subject) is not None  # type: ignore[arg-type]


@dataclass(frozen=True)
class PermissionDecision:
    """A decision with the reason a user is shown, and where it came from.

    Build one with :meth:`allow`, :meth:`ask` or :meth:`deny`, for example
    ``PermissionDecision.deny("secrets stay private", source="my-policy")``. ``decision`` must be
    exactly ``"allow"``, ``"ask"`` or ``"deny"``; anything else raises ``ValueError`` (and a
    plugin that answers with an invalid decision denies the call).
    """

    decision: Decision
    reason: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(
                f"a permission decision is 'allow', 'ask' or 'deny', not {self.decision!r}"
            )

    @classmethod
    def allow(cls, reason: str = "", source: str = "") -> PermissionDecision:
        return cls("allow", reason, source)

    @classmethod
    def ask(cls, reason: str = "", source: str = "") -> PermissionDecision:
        return cls("ask", reason, source)

    @classmethod
    def deny(cls, reason: str = "", source: str = "") -> PermissionDecision:
        return cls("deny", reason, source)


def strongest(decisions: list[PermissionDecision]) -> PermissionDecision | None:
    """The combination of several answers: deny beats ask beats allow (None if no answers)."""
    best: PermissionDecision | None = None
    for decision in decisions:
        if best is None or _STRENGTH[decision.decision] > _STRENGTH[best.decision]:
            best = decision
    return best


_RULE = re.compile(r"^\s*([A-Za-z0-9_.\-*]+)\s*(?:\((.*)\))?\s*$", re.S)


@dataclass(frozen=True)
class Rule:
    """One rule: a tool name (glob allowed) and an optional pattern for the permission subject.

    ``tool`` matches every call of the tool; ``tool(pattern)`` matches calls whose subject matches
    the glob ``pattern``. For paths, ``**`` crosses folders and ``*`` does not; for other subjects
    (commands) ``*`` matches anything.

    Path patterns are normalised like the subjects they meet (see :func:`path_pattern_matches`):
    ``./.env`` is ``.env``, and an absolute pattern such as ``/home/me/proj/.env`` matches the
    workspace file it names when the workspace is known.
    """

    tool: str
    pattern: str | None = None
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Rule:
        match = _RULE.match(text)
        if not match:
            from allos_core.errors import ConfigError

            raise ConfigError(
                f"invalid permission rule {text!r}",
                hint="write TOOL or TOOL(PATTERN), for example shell_exec(git status*)",
            )
        return cls(match.group(1), match.group(2), text.strip())

    def matches(
        self,
        tool_name: str,
        subject: str | None,
        *,
        path_like: bool = False,
        workspace: str | os.PathLike[str] | None = None,
    ) -> bool:
        """Whether this rule covers a call of ``tool_name`` with ``subject``.

        ``path_like`` subjects are workspace-relative paths matched with path globbing;
        ``workspace`` (the real workspace root) lets absolute path patterns match them.
        """
        if not fnmatch.fnmatchcase(tool_name, self.tool):
            return False
        if self.pattern is None or self.pattern in ("*", "**"):
            return True
        if subject is None:
            return False
        if path_like:
            return path_pattern_matches(self.pattern, subject, workspace=workspace)
        return fnmatch.fnmatchcase(subject, self.pattern)

    def __str__(self) -> str:
        return self.text or (f"{self.tool}({self.pattern})" if self.pattern else self.tool)


def path_pattern_matches(
    pattern: str, path: str, *, workspace: str | os.PathLike[str] | None = None
) -> bool:
    """Glob match for workspace-relative paths: ``**`` spans folders, ``*`` stays in one.

    Pattern and path are normalised alike first (:func:`normalize_rule_path`: a leading ``./``
    dropped, ``//`` and ``/./`` collapsed), so ``./.env`` and ``.env`` are the same rule.

    An absolute pattern is matched against the absolute path of the subject, ``workspace /
    path``: ``/home/me/proj/.env`` covers ``.env`` in the workspace ``/home/me/proj``. The
    pattern's folder part is also tried with its symlinks resolved, as the workspace root is
    (``/tmp`` may really be ``/private/tmp``). Without ``workspace`` an absolute pattern only
    matches absolute subjects (paths outside the workspace, which tools report as written). A
    relative pattern is matched against the subject as it is.
    """
    pattern = normalize_rule_path(pattern)
    path = normalize_rule_path(path)
    if not _is_absolute(pattern):
        return _path_regex(pattern).fullmatch(path)
    if not _is_absolute(path):
        if workspace is None:
            return False
        root = Path(os.fspath(workspace)).as_posix().rstrip("/")
        path = (root or "/") if path == "." else f"{root}/{path}"
    return any(_path_regex(p).fullmatch(path) for p in _absolute_variants(pattern))


def normalize_rule_path(text: str) -> str:
    """A path or path pattern in the one spelling rules compare: ``/`` separators, no leading
    ``./``, no ``//`` or ``/./`` inside (``..`` is kept: patterns are text, not real paths)."""
    if "\\" in text and os.sep == "\\":
        text = text.replace("\\", "/")
    if "//" in text:
        text = re.sub(r"/{2,}", "/", text)
    while "/./" in text:
        text = text.replace("/./", "/")
    while text.startswith("./"):
        text = text[2:]
    if text.endswith("/.") and len(text) > 2:
        text = text[:-2]
    return text or "."


def _is_absolute(text: str) -> bool:
    return text.startswith("/") or (len(text) > 2 and text[1] == ":" and text[2] == "/")


@functools.lru_cache(maxsize=256)
def _absolute_variants(pattern: str) -> tuple[str, ...]:
    """An absolute pattern, and the same with the symlinks of its literal folder part resolved."""
    glob_at = min((i for i, ch in enumerate(pattern) if ch in "*?"), default=-1)
    if glob_at < 0:
        literal, rest = pattern, ""
    else:
        cut = pattern.rfind("/", 0, glob_at)
        if cut <= 0:
            return (pattern,)
        literal, rest = pattern[:cut], pattern[cut:]
    try:
        real = Path(os.path.realpath(literal)).as_posix()
    except (OSError, ValueError):
        return (pattern,)
    variant = normalize_rule_path(real + rest)
    return (pattern,) if variant == pattern else (pattern, variant)


_PATH_REGEX_CACHE: dict[str, _PathGlob] = {}


class _PathGlob:
    """A path pattern matched by stepping a set of positions through the path: time linear in
    the path for any pattern (a regex ``[^/]*a[^/]*a…`` backtracks for minutes on ``aaa…``, and
    an untrusted workspace's ``deny`` rules always apply)."""

    def __init__(self, pattern: str) -> None:
        tokens: list[str] = []
        i = 0
        while i < len(pattern):
            for token in ("**/", "**", "*", "?"):
                if pattern.startswith(token, i):
                    tokens.append(token)
                    i += len(token)
                    break
            else:
                tokens.append("=" + pattern[i])
                i += 1
        self.tokens = tokens

    def _closure(self, states: set[Any]) -> set[Any]:
        todo = list(states)
        while todo:
            state = todo.pop()
            if (
                isinstance(state, int)
                and state < len(self.tokens)
                and self.tokens[state] in ("*", "**", "**/")
                and state + 1 not in states
            ):
                states.add(state + 1)
                todo.append(state + 1)
        return states

    def fullmatch(self, path: str) -> bool:
        end = len(self.tokens)
        states = self._closure({0})
        for char in path:
            following: set[Any] = set()
            for state in states:
                if isinstance(state, tuple):  # inside a "**/": anything, a "/" may end it
                    following.add(state)
                    if char == "/":
                        following.add(state[1] + 1)
                    continue
                if state == end:
                    continue
                token = self.tokens[state]
                if token == "**/":
                    following.add(("in", state))
                    if char == "/":
                        following.add(state + 1)
                elif token == "**":
                    following.add(state)
                elif token == "*":
                    if char != "/":
                        following.add(state)
                elif token == "?":
                    if char != "/":
                        following.add(state + 1)
                elif token[1] == char:
                    following.add(state + 1)
            if not following:
                return False
            states = self._closure(following)
        return end in states


def _path_regex(pattern: str) -> _PathGlob:
    cached = _PATH_REGEX_CACHE.get(pattern)
    if cached is not None:
        return cached
    compiled = _PathGlob(pattern)
    _PATH_REGEX_CACHE[pattern] = compiled
    return compiled


@dataclass
class PermissionRules:
    """The user's allow / ask / deny lists."""

    allow: list[Rule] = field(default_factory=list)
    ask: list[Rule] = field(default_factory=list)
    deny: list[Rule] = field(default_factory=list)

    @classmethod
    def from_lists(
        cls,
        allow: list[str] | None = None,
        ask: list[str] | None = None,
        deny: list[str] | None = None,
    ) -> PermissionRules:
        return cls(
            [Rule.parse(r) for r in allow or []],
            [Rule.parse(r) for r in ask or []],
            [Rule.parse(r) for r in deny or []],
        )

    def merged(self, other: PermissionRules) -> PermissionRules:
        return PermissionRules(
            self.allow + other.allow, self.ask + other.ask, self.deny + other.deny
        )

    def decide_one(
        self,
        tool_name: str,
        subject: str | None,
        *,
        path_like: bool = False,
        workspace: str | os.PathLike[str] | None = None,
    ) -> PermissionDecision | None:
        """The user's decision for one subject, or None when no rule matches.

        ``workspace`` (the real workspace root) lets absolute path patterns match
        workspace-relative subjects; see :func:`path_pattern_matches`.
        """
        opaque = not path_like and is_opaque_subject(subject)
        for kind in ("deny", "ask", "allow"):
            for rule in getattr(self, kind):
                if opaque and kind != "allow" and fnmatch.fnmatchcase(tool_name, rule.tool):
                    reason = f"rule {rule} (what this command runs cannot be known beforehand)"
                    return PermissionDecision(kind, reason, "user rules")
                if opaque and rule.pattern not in (None, "*", "**"):
                    continue  # only a rule for every call allows what cannot be known
                if rule.matches(tool_name, subject, path_like=path_like, workspace=workspace):
                    return PermissionDecision(kind, f"rule {rule}", "user rules")
        return None

    def decide(
        self,
        tool_name: str,
        subjects: list[str | None],
        *,
        path_like: bool = False,
        workspace: str | os.PathLike[str] | None = None,
        aliases: list[str] | None = None,
    ) -> PermissionDecision | None:
        """The user's decision for a call with one or more subjects (the parts of a command, or
        a path both as written and as its real target).

        Any part denied denies the call; any part that must ask makes it ask; the call is allowed
        only when every part is allowed. None when no rule decides every part.

        ``aliases`` are other spellings of the same parts (``rm`` for ``/bin/rm`` or ``r''m``,
        see :meth:`allos_core.tools.Tool.permission_aliases`): ``deny`` and ``ask`` rules see
        them too, but an allow rule never needs to match them.
        """
        if not subjects:
            subjects = [None]
        answers = [
            self.decide_one(tool_name, s, path_like=path_like, workspace=workspace)
            for s in subjects
        ]
        decided = [a for a in answers if a is not None]
        for alias in aliases or ():
            answer = self.decide_one(tool_name, alias, path_like=path_like, workspace=workspace)
            if answer is not None and answer.decision != "allow":
                decided.append(answer)
        combined = strongest(decided)
        if combined is None:
            return None
        if combined.decision == "allow" and len(decided) < len(answers):
            return None  # some part no rule allows: fall back to the weaker sources
        return combined


# -- the decision for one call -------------------------------------------------------------------

Answer = Literal["yes", "no", "always"]
_ANSWERS: dict[object, Answer] = {
    True: "yes",
    False: "no",
    "y": "yes",
    "yes": "yes",
    "allow": "yes",
    "n": "no",
    "no": "no",
    "deny": "no",
    "a": "always",
    "always": "always",
}


def normalize_answer(value: object) -> Answer:
    """An answer from a prompt function as ``yes`` / ``no`` / ``always`` (unknown means ``no``)."""
    if isinstance(value, str):
        value = value.strip().lower()
    try:
        return _ANSWERS.get(value, "no")
    except TypeError:  # unhashable
        return "no"


@dataclass
class PermissionRequest:
    """What a prompt function is asked to decide: one tool call whose decision is ``ask``.

    ``subject`` is what rules match (a path, a command), ``subjects`` every part of it that needs
    allowing (the simple commands of a compound shell line), ``preview`` what the call would do
    (a unified diff for edits and writes), ``always_rule`` what answering ``always`` allows for
    the rest of the session.
    """

    call: Any
    tool_name: str
    arguments: dict[str, Any]
    subject: str | None
    reason: str
    preview: str | None = None
    subjects: list[str | None] = field(default_factory=list)
    always_rule: str = ""
    read_only: bool = False


def rule_text(tool_name: str, subject: str | None) -> str:
    """``tool(subject)``, or just ``tool`` when there is no subject (for display)."""
    return tool_name if subject is None else f"{tool_name}({subject})"


#: a subject that names its kind, such as ``domain:docs.python.org``: suggested exactly
_TYPED_SUBJECT = re.compile(r"^[a-z][a-z_-]*:\S+$")


def suggested_rule(tool_name: str, subject: str | None, *, path_like: bool = False) -> str:
    """A rule a user may add to allow calls like this one (for "how to allow it" messages).

    Paths and typed subjects (``domain:docs.python.org``) are suggested exactly; commands by
    their first word (``shell_exec(pytest*)``).
    """
    if subject is None:
        return tool_name
    if path_like or _TYPED_SUBJECT.match(subject):
        return f"{tool_name}({subject})"
    if is_opaque_subject(subject):
        return tool_name  # no narrower rule can allow what cannot be known beforehand
    first = subject.split()[0] if subject.split() else subject
    return f"{tool_name}({first}*)"


def unapproved_subjects(
    tool_name: str,
    subjects: list[str | None],
    rules: PermissionRules | None,
    *,
    path_like: bool = False,
    workspace: str | os.PathLike[str] | None = None,
) -> list[str | None]:
    """The subjects of a call that no user ``allow`` rule covers: what an ``ask`` is about.

    For ``echo hi > out.txt`` under ``--allow 'shell_exec(echo*)'`` that is ``> out.txt`` (a
    write redirection is a subject of its own). All of them when none is covered.
    """
    if rules is None:
        return list(subjects)
    needed = []
    for subject in subjects:
        answer = rules.decide_one(tool_name, subject, path_like=path_like, workspace=workspace)
        if answer is None or answer.decision != "allow":
            needed.append(subject)
    return needed or list(subjects)


def no_prompt_denial(
    tool_name: str,
    subjects: list[str | None],
    reason: str | None,
    *,
    path_like: bool = False,
) -> PermissionDecision:
    """The denial of an ``ask`` no one can answer: which part of the call needs approval, and
    the rules that would allow exactly those parts.

    ``subjects`` are the parts still needing approval (see :func:`unapproved_subjects`); a part
    that writes through a shell redirection (``> FILE``) is named as such.
    """
    rules: list[str] = []
    for subject in subjects or [None]:
        rule = suggested_rule(tool_name, subject, path_like=path_like)
        if rule not in rules:
            rules.append(rule)
    named = [s for s in subjects if s]
    parts = ""
    if named and len(named) < 4:
        shown = ", ".join(
            f"'{s}' (a write redirection)" if s.startswith(">") else f"'{s}'" for s in named
        )
        parts = f" for {shown}"
    allow = " ".join(f"--allow '{rule}'" for rule in rules)
    why = f" ({reason})" if reason else ""
    return PermissionDecision.deny(
        f"not allowed: {tool_name} needs approval{parts}{why} and there is no one to ask. "
        f"Allow it with {allow} or approve every ask with -y",
        "no prompt",
    )


class SessionPermissions:
    """Calls the user allowed "for the rest of this session" (answers ``always``).

    Kept in memory only, never written to a session file. What ``always`` remembers is
    deliberately narrow:

    - a tool whose calls have a subject (a path, a command) is allowed for **exactly** those
      subjects: ``write_file(src/app.py)``, or the exact command line ``shell_exec(pytest -q)``;
      for a compound command every simple command is remembered on its own;
    - a tool without a subject is allowed entirely.

    A ``deny`` (plugin or user rule) still wins over anything remembered here.
    """

    def __init__(self) -> None:
        self._grants: set[tuple[str, str | None]] = set()

    def grant(self, tool_name: str, subjects: list[str | None]) -> str:
        """Remember ``always`` for these subjects; returns the rule(s) as text."""
        subjects = subjects or [None]
        for subject in subjects:
            self._grants.add((tool_name, subject))
        return ", ".join(rule_text(tool_name, s) for s in subjects)

    def allows(self, tool_name: str, subjects: list[str | None]) -> bool:
        if (tool_name, None) in self._grants:
            return True
        subjects = subjects or [None]
        return all((tool_name, s) in self._grants for s in subjects)

    def rules(self) -> list[str]:
        """The remembered grants as rule text, for display."""
        return sorted(rule_text(t, s) for t, s in self._grants)

    def clear(self) -> None:
        self._grants.clear()

    def __len__(self) -> int:
        return len(self._grants)


def decide_permission(
    tool: Any,
    call: Any,
    args: Any,
    context: Any,
    *,
    rules: PermissionRules | None = None,
    plugin_manager: Any = None,
    session: SessionPermissions | None = None,
    yes: bool = False,
    subjects: list[str | None] | None = None,
    subject: str | None = None,
) -> PermissionDecision:
    """Decide one tool call from every source; the result's ``source`` says which one decided.

    1. the tool's ``default_permission`` (source ``default``);
    2. the plugins' ``allos_check_permission`` answers, combined deny > ask > allow (override 1);
    3. the user's ``rules`` (override 1 and 2);
    4. an ``ask`` becomes ``allow`` when the session remembers an ``always`` answer for the call
       (source ``session``) or when ``yes`` is set (source ``yes``).

    A ``deny`` from a plugin or a user rule always wins, whatever comes later. ``subjects``
    defaults to ``tool.permission_subjects(args, context)`` and ``subject`` (what plugins see) to
    ``tool.permission_subject(args, context)``. ``context.workspace`` lets absolute path rules
    match.
    """
    if subjects is None:
        subjects = tool.permission_subjects(args, context)
    if subject is None and plugin_manager is not None:
        subject = tool.permission_subject(args, context)
    decision = PermissionDecision(tool.default_permission, f"default for {tool.name}", "default")
    denials: list[PermissionDecision] = []
    if plugin_manager is not None:
        answer = plugin_manager.check_permission(
            call=call, tool=tool, args=args, subject=subject, context=context
        )
        if answer is not None:
            decision = _with_source(answer, "plugin")
            if answer.decision == "deny":
                denials.append(decision)
    if rules is not None:
        answer = rules.decide(
            tool.name,
            subjects,
            path_like=getattr(tool, "path_subject", False),
            workspace=getattr(context, "workspace", None),
            aliases=_aliases(tool, args, context),
        )
        if answer is not None:
            decision = answer
            if answer.decision == "deny":
                denials.append(answer)
    if denials:
        return denials[0]
    if decision.decision == "ask":
        if session is not None and session.allows(tool.name, subjects):
            return PermissionDecision.allow("allowed earlier for this session", "session")
        if yes:
            return PermissionDecision.allow("every ask approved (yes to all)", "yes")
    return decision


def _aliases(tool: Any, args: Any, context: Any) -> list[str]:
    """``tool.permission_aliases(args, context)``, if the tool has them (failures fail closed)."""
    method = getattr(tool, "permission_aliases", None)
    if method is None:
        return []
    return [a for a in method(args, context) if a]


def _with_source(decision: PermissionDecision, default: str) -> PermissionDecision:
    if decision.source:
        return decision
    return PermissionDecision(decision.decision, decision.reason, default)
