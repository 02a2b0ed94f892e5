"""Batch tasks: one JSON object per line of a tasks file, checked before anything runs.

A line looks like::

    {"id": "fix-1", "task": "make the tests pass", "workspace": "repos/one",
     "provider": "openai", "model": "gpt-4.1-mini", "allow": ["shell_exec(pytest*)"],
     "max_iterations": 20}

``id`` (a non-empty string, unique in the file) and ``task`` (the instruction) are required.
Optional: ``workspace`` (a folder; relative paths are relative to the current directory; default
the current directory) or ``repo`` (a git URL or path cloned for the task) with ``ref`` (a
branch, tag or commit; default the remote's HEAD); ``provider``, ``model``, ``system``;
``allow`` / ``ask`` / ``deny`` (lists of permission rules, added to the command line's);
``max_iterations``, ``max_total_tokens``, ``max_cost`` (positive numbers) and ``schema`` (a JSON
schema object for a structured answer). Any other key is an error: a typo must not be ignored.
Blank lines are skipped. Every problem is reported, each with its line number, in one
:class:`~allos_core.errors.BatchTaskError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allos_core.errors import BatchTaskError, ConfigError

RULE_FIELDS = ("allow", "ask", "deny")
_TEXT_FIELDS = ("workspace", "repo", "ref", "provider", "model", "system")
_INT_FIELDS = ("max_iterations", "max_total_tokens")
KNOWN_FIELDS = frozenset(
    {"id", "task", *_TEXT_FIELDS, *RULE_FIELDS, *_INT_FIELDS, "max_cost", "schema"}
)


@dataclass(frozen=True)
class BatchTask:
    """One task of a batch, as read from its line (``None``: use the batch's default)."""

    id: str
    task: str
    workspace: str | None = None
    repo: str | None = None
    ref: str | None = None
    provider: str | None = None
    model: str | None = None
    system: str | None = None
    allow: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_iterations: int | None = None
    max_total_tokens: int | None = None
    max_cost: float | None = None
    schema: dict[str, Any] | None = None
    #: where the task was read (``tasks.jsonl:3``), for messages
    origin: str = field(default="", compare=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "") -> BatchTask:
        """Check one task object; raise :class:`ConfigError` naming what is wrong."""
        problems = task_problems(data)
        if problems:
            raise ConfigError(f"{origin or 'task'}: {problems[0]}", hint=HINT)
        values: dict[str, Any] = {k: v for k, v in data.items() if k in KNOWN_FIELDS}
        for kind in RULE_FIELDS:
            values[kind] = tuple(values.get(kind) or ())
        if values.get("max_cost") is not None:
            values["max_cost"] = float(values["max_cost"])
        return cls(**values, origin=origin)

    def to_dict(self) -> dict[str, Any]:
        """The task as its JSON line would give it (fields left out when not set)."""
        data: dict[str, Any] = {"id": self.id, "task": self.task}
        for name in sorted(KNOWN_FIELDS - {"id", "task"}):
            value = getattr(self, name)
            if value not in (None, ()):
                data[name] = list(value) if isinstance(value, tuple) else value
        return data

    def workspace_path(self, base: str | os.PathLike[str] | None = None) -> Path:
        """The task's workspace folder, resolved (``base`` or the current directory if unset)."""
        root = Path(base) if base is not None else Path.cwd()
        return (root / (self.workspace or ".")).resolve()


HINT = (
    'each line must be a JSON object such as {"id": "t1", "task": "fix the failing test"}; '
    "see docs/batch.md"
)


def task_problems(data: Any) -> list[str]:
    """What is wrong with one task object (empty when it is valid)."""
    if not isinstance(data, Mapping):
        return [f"a task must be a JSON object, not {type(data).__name__}"]
    problems = []
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        problems.append(f"unknown field {', '.join(map(repr, unknown))}")
    for name in ("id", "task"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name!r} is required and must be a non-empty string")
    for name in _TEXT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], str):
            problems.append(f"{name!r} must be a string")
    if data.get("workspace") is not None and data.get("repo") is not None:
        problems.append("give 'workspace' or 'repo', not both")
    if data.get("ref") is not None and data.get("repo") is None:
        problems.append("'ref' needs a 'repo'")
    for name in _INT_FIELDS:
        value = data.get(name)
        if value is not None and (type(value) is not int or value < 1):
            problems.append(f"{name!r} must be a positive whole number")
    cost = data.get("max_cost")
    if cost is not None and (type(cost) not in (int, float) or not cost > 0):
        problems.append("'max_cost' must be a positive number")
    if data.get("schema") is not None and not isinstance(data["schema"], dict):
        problems.append("'schema' must be a JSON object (a JSON schema)")
    for kind in RULE_FIELDS:
        problems.extend(_rule_problems(kind, data.get(kind)))
    return problems


def _rule_problems(kind: str, rules: Any) -> list[str]:
    if rules is None:
        return []
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        return [f"{kind!r} must be a list of rule strings"]
    from allos_core.config.files import check_rule

    problems = []
    for rule in rules:
        try:
            check_rule(rule, f"{kind} {rule!r}")
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def parse_tasks(lines: Iterable[str], source: str = "tasks") -> list[BatchTask]:
    """Read tasks from JSON lines; raise :class:`BatchTaskError` listing every bad line."""
    tasks: list[BatchTask] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            problems.append(f"{where}: not valid JSON ({exc})")
            continue
        found = task_problems(data)
        if found:
            problems.extend(f"{where}: {problem}" for problem in found)
            continue
        task = BatchTask.from_mapping(data, where)
        if task.id in first_line:
            problems.append(
                f"{where}: id {task.id!r} is already used on line {first_line[task.id]}"
            )
            continue
        first_line[task.id] = number
        tasks.append(task)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise BatchTaskError(
            f"{source} has {count}, nothing was run:\n  " + "\n  ".join(problems),
            hint=HINT,
            problems=problems,
        )
    if not tasks:
        raise BatchTaskError(f"{source} has no tasks", hint=HINT)
    return tasks


def load_tasks(path: str | os.PathLike[str]) -> list[BatchTask]:
    """Read and check a tasks file (``-`` is not special here: pass a real path)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BatchTaskError(f"cannot read tasks file {file}: {reason}", hint=HINT) from None
    return parse_tasks(text.splitlines(), str(file))
