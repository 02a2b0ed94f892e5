"""Permission decisions: rules, their combination, and the decision for one tool call.

A decision is ``allow``, ``ask`` or ``deny`` with a reason. Sources, weakest first:

1. the tool's ``default_permission``;
2. plugin hooks (``allos_check_permission``), combined with deny > ask > allow;
3. the user's rules (config files and command line): ``allow`` / ``ask`` / ``deny`` lists of
   patterns such as ``read_file``, ``shell_exec(git status*)`` or ``write_file(src/**)``;
4. the run's overrides: "yes to all asks" and answers "always for this session".

``deny`` from any source always wins, even against "yes to all".
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["allow", "ask", "deny"]
_STRENGTH = {"allow": 0, "ask": 1, "deny": 2}


@dataclass(frozen=True)
class PermissionDecision:
    """A decision with the reason a user is shown, and where it came from."""

    decision: Decision
    reason: str = ""
    source: str = ""

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

    def matches(self, tool_name: str, subject: str | None, *, path_like: bool = False) -> bool:
        if not fnmatch.fnmatchcase(tool_name, self.tool):
            return False
        if self.pattern is None or self.pattern in ("*", "**"):
            return True
        if subject is None:
            return False
        if path_like:
            return path_pattern_matches(self.pattern, subject)
        return fnmatch.fnmatchcase(subject, self.pattern)

    def __str__(self) -> str:
        return self.text or (f"{self.tool}({self.pattern})" if self.pattern else self.tool)


def path_pattern_matches(pattern: str, path: str) -> bool:
    """Glob match for workspace-relative paths: ``**`` spans folders, ``*`` stays in one."""
    if path.startswith("./"):
        path = path[2:]
    return _path_regex(pattern).fullmatch(path) is not None


_PATH_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _path_regex(pattern: str) -> re.Pattern[str]:
    cached = _PATH_REGEX_CACHE.get(pattern)
    if cached is not None:
        return cached
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    compiled = re.compile("".join(out), re.S)
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
        self, tool_name: str, subject: str | None, *, path_like: bool = False
    ) -> PermissionDecision | None:
        """The user's decision for one subject, or None when no rule matches."""
        for kind in ("deny", "ask", "allow"):
            for rule in getattr(self, kind):
                if rule.matches(tool_name, subject, path_like=path_like):
                    return PermissionDecision(kind, f"rule {rule}", "user rules")  # type: ignore[arg-type]
        return None

    def decide(
        self, tool_name: str, subjects: list[str | None], *, path_like: bool = False
    ) -> PermissionDecision | None:
        """The user's decision for a call with one or more subjects (the parts of a command).

        Any part denied denies the call; any part that must ask makes it ask; the call is allowed
        only when every part is allowed. None when no rule decides every part.
        """
        if not subjects:
            subjects = [None]
        answers = [self.decide_one(tool_name, s, path_like=path_like) for s in subjects]
        decided = [a for a in answers if a is not None]
        combined = strongest(decided)
        if combined is None:
            return None
        if combined.decision == "allow" and len(decided) < len(answers):
            return None  # some part no rule allows: fall back to the weaker sources
        return combined
