"""The batch runner: which tasks run, how many at once, and where their results go.

::

    from allos_core.batch import run_batch

    results = run_batch(
        [{"id": "a", "task": "add a docstring to util.py", "workspace": "repo"}],
        results="results.jsonl",
        concurrency=8,
        defaults=TaskDefaults(provider="openai", allow=("edit_file(**)",)),
    )

Tasks already in the results file are skipped (``rerun_failed=True`` runs again those that did
not answer). Each result is appended to the file as its task finishes. Cancelling
:func:`arun_batch` (Ctrl-C in the CLI) starts no new task, cancels the running ones (each agent
stops cleanly and saves its session), records nothing for them, and re-raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.batch.execute import TaskDefaults
from allos_core.batch.results import ResultsFile, TaskResult
from allos_core.batch.tasks import BatchTask, parse_tasks
from allos_core.errors import BatchTaskError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.batch.backends import BatchBackend
    from allos_core.plugins import PluginManager

logger = logging.getLogger("allos.batch")


@dataclass
class TaskStarted:
    """A task was handed to the backend."""

    id: str
    type: str = "task_started"


@dataclass
class TaskFinished:
    """A task finished and its result was recorded."""

    result: TaskResult
    type: str = "task_finished"


@dataclass
class TaskEvent:
    """An agent event of a running task (local backend only), e.g. a usage update."""

    id: str
    event: Any
    type: str = "task_event"


@dataclass
class BatchPlan:
    """What a batch will do, known before the first task starts."""

    tasks: list[BatchTask]
    todo: list[BatchTask]
    #: results already in the results file, by id (skipped tasks)
    previous: dict[str, TaskResult] = field(default_factory=dict)
    type: str = "batch_planned"


ProgressCallback = Callable[[Any], None]


def coerce_tasks(tasks: Iterable[BatchTask | Mapping[str, Any]]) -> list[BatchTask]:
    """Tasks given as :class:`BatchTask` objects or mappings, checked (ids unique)."""
    import json

    items = list(tasks)
    if all(isinstance(t, BatchTask) for t in items):
        checked: list[BatchTask] = items  # type: ignore[assignment]
        seen: set[str] = set()
        for task in checked:
            if task.id in seen:
                raise BatchTaskError(f"task id {task.id!r} is used twice")
            seen.add(task.id)
        return checked
    lines = [
        json.dumps(t.to_dict() if isinstance(t, BatchTask) else dict(t), default=str) for t in items
    ]
    return parse_tasks(lines, "tasks")


def plan_batch(
    tasks: Iterable[BatchTask | Mapping[str, Any]],
    results: ResultsFile | None,
    *,
    rerun_failed: bool = False,
) -> BatchPlan:
    """Which tasks still have to run, given the results file."""
    checked = coerce_tasks(tasks)
    if results is None:
        return BatchPlan(checked, list(checked))
    previous = results.read()
    todo_ids = set(results.todo([t.id for t in checked], rerun_failed=rerun_failed))
    return BatchPlan(
        checked,
        [t for t in checked if t.id in todo_ids],
        {t.id: previous[t.id] for t in checked if t.id in previous},
    )


def default_sessions_dir(results_path: str | Path) -> Path:
    """``RESULTS.sessions/`` next to ``RESULTS.jsonl``."""
    path = Path(results_path)
    return path.with_name(f"{path.stem}.sessions")


async def arun_batch(
    tasks: Iterable[BatchTask | Mapping[str, Any]],
    *,
    backend: str | BatchBackend = "local",
    concurrency: int = 1,
    results: str | Path | None = None,
    defaults: TaskDefaults | None = None,
    rerun_failed: bool = False,
    keep: bool = False,
    sessions_dir: str | Path | None = None,
    address: str | None = None,
    plugin_manager: PluginManager | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[TaskResult]:
    """Run the tasks; return every task's latest result (earlier runs' included), in task order.

    ``backend`` is a backend name (``local``, or one a plugin offers, built with ``address``
    and its ``[NAME]`` settings section) or a :class:`BatchBackend` instance. ``results`` is the
    JSON-lines file to resume from and append to (None: keep results in memory only);
    ``sessions_dir`` where each task's session is saved (default: ``RESULTS.sessions/`` when
    there is a results file, else no session files). ``on_progress`` receives a
    :class:`BatchPlan`, then :class:`TaskStarted`, :class:`TaskEvent` and :class:`TaskFinished`.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    defaults = defaults or TaskDefaults()
    results_file = ResultsFile(results) if results is not None else None
    plan = plan_batch(tasks, results_file, rerun_failed=rerun_failed)
    if sessions_dir is None and results is not None:
        sessions_dir = default_sessions_dir(results)
    sessions = Path(sessions_dir) if sessions_dir is not None else None
    # a results file or sessions folder inside a workspace is the batch's, not the task's
    own = [str(Path(p).resolve()) for p in (results, sessions) if p is not None]
    defaults = replace(defaults, exclude=(*defaults.exclude, *own))
    engine = _backend(backend, address, defaults, plugin_manager)
    notify = _notifier(on_progress)
    notify(plan)
    finished: dict[str, TaskResult] = dict(plan.previous)
    pending = iter(plan.todo)

    async def worker() -> None:
        for task in pending:
            notify(TaskStarted(task.id))
            result = await _run_one(engine, task, defaults, sessions, keep, notify)
            if results_file is not None:
                await asyncio.to_thread(results_file.append, result)
            finished[task.id] = result
            notify(TaskFinished(result))

    await engine.start()
    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(plan.todo)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for job in workers:
            job.cancel()
        for job in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await job
        try:
            await engine.close()
        finally:
            if results_file is not None:
                results_file.close()
    return [finished[t.id] for t in plan.tasks if t.id in finished]


def run_batch(tasks: Iterable[BatchTask | Mapping[str, Any]], **options: Any) -> list[TaskResult]:
    """The synchronous :func:`arun_batch` (same options). Not for use inside an event loop."""
    return asyncio.run(arun_batch(tasks, **options))


async def _run_one(
    engine: BatchBackend,
    task: BatchTask,
    defaults: TaskDefaults,
    sessions: Path | None,
    keep: bool,
    notify: ProgressCallback,
) -> TaskResult:
    started = time.perf_counter()
    try:
        return await engine.run_task(
            task,
            defaults,
            sessions_dir=sessions,
            keep=keep,
            on_event=lambda event: notify(TaskEvent(task.id, event)),
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a broken backend fails the task, not the batch
        logger.warning("the %s backend failed on task %s", engine.name, task.id, exc_info=True)
        hint = getattr(exc, "hint", None)
        message = str(exc) or type(exc).__name__
        return TaskResult(
            id=task.id,
            stop_reason="error",
            duration_s=round(time.perf_counter() - started, 3),
            error=f"the {engine.name} backend failed: {message}"
            + (f" (hint: {hint})" if hint else ""),
        )


def _backend(
    backend: str | BatchBackend,
    address: str | None,
    defaults: TaskDefaults,
    manager: PluginManager | None,
) -> BatchBackend:
    from allos_core.batch.backends import BatchBackend, get_backend_class

    if isinstance(backend, BatchBackend):
        return backend
    if manager is None:
        from allos_core.plugins import create_plugin_manager

        manager = create_plugin_manager()
    cls = get_backend_class(backend, manager)
    settings = _backend_settings(backend, defaults)
    return cls(address=address, settings=settings, plugin_manager=manager)


def _backend_settings(name: str, defaults: TaskDefaults) -> Mapping[str, Any]:
    """The ``[NAME]`` plugin section from the config files of the batch's base folder."""
    from allos_core.config import load_settings

    settings = load_settings(
        defaults.base_dir or Path.cwd(), trust_workspace=defaults.trust_workspace
    )
    return settings.plugin_settings().get(name, {})


def _notifier(callback: ProgressCallback | None) -> ProgressCallback:
    def notify(item: Any) -> None:
        if callback is None:
            return
        try:
            callback(item)
        except Exception:  # a broken progress display must not stop the batch
            logger.warning("a batch progress callback failed", exc_info=True)

    return notify
