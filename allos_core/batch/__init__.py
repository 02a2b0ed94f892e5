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

from allos_core.batch.backends import BatchBackend, LocalBackend
from allos_core.batch.execute import TaskDefaults, execute_task
from allos_core.batch.results import ResultsFile, TaskResult
from allos_core.batch.runner import (
    BatchPlan,
    TaskEvent,
    TaskFinished,
    TaskStarted,
    arun_batch,
    run_batch,
)
from allos_core.batch.tasks import BatchTask, load_tasks, parse_tasks

__all__ = [
    "BatchBackend",
    "BatchPlan",
    "BatchTask",
    "LocalBackend",
    "ResultsFile",
    "TaskDefaults",
    "TaskEvent",
    "TaskFinished",
    "TaskResult",
    "TaskStarted",
    "arun_batch",
    "execute_task",
    "load_tasks",
    "parse_tasks",
    "run_batch",
]
