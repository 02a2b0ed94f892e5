"""Many agent runs at once: ``allos batch`` and its library, :func:`run_batch`.

Each task runs in its own copy of its workspace, with its own agent and no one to ask; its
result is appended to a JSON-lines results file as it finishes, and a batch started again with
the same file skips what is done. Where tasks run is a backend: ``local`` (asyncio, in this
process) or one a plugin offers through the ``allos_batch_backends`` hook. See docs/batch.md.

Modules: :mod:`~allos_core.batch.tasks` (the tasks file), :mod:`~allos_core.batch.workspace`
(copies and diffs), :mod:`~allos_core.batch.results` (the results file),
:mod:`~allos_core.batch.execute` (one task), :mod:`~allos_core.batch.backends` and
:mod:`~allos_core.batch.runner`.
"""

from __future__ import annotations

import importlib
from typing import Any

# the public names, imported on first use: a plugin that only subclasses BatchBackend (allos-ray,
# loaded by `allos plugins list`) must not pay for the runner, asyncio and the agent
_EXPORTS = {
    "BatchBackend": "backends",
    "LocalBackend": "backends",
    "TaskDefaults": "execute",
    "execute_task": "execute",
    "ResultsFile": "results",
    "TaskResult": "results",
    "BatchPlan": "runner",
    "TaskEvent": "runner",
    "TaskFinished": "runner",
    "TaskStarted": "runner",
    "arun_batch": "runner",
    "run_batch": "runner",
    "BatchTask": "tasks",
    "load_tasks": "tasks",
    "parse_tasks": "tasks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'allos_core.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"allos_core.batch.{module}"), name)
    globals()[name] = value
    return value
