"""Run one batch task: its own workspace copy, its own agent, no one to ask, one result.

:func:`execute_task` is what every backend runs for a task, wherever it runs (the local backend
in this process, ``allos-ray`` on a cluster worker). Settings are read as ``allos run`` reads
them, for the task's *original* workspace (so its ``allos.toml`` and trust apply), from the
files and environment of the machine running the task: provider keys never travel with a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.batch.results import TaskResult
from allos_core.batch.tasks import BatchTask
from allos_core.batch.workspace import WorkspaceCopy, prepare_workspace, slug
from allos_core.errors import AllosError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.plugins import PluginManager

EventCallback = Callable[[Any], None]


@dataclass
class TaskDefaults:
    """What the command line says for every task; a task's own fields win.

    Rule lists add up: a task's ``allow`` / ``ask`` / ``deny`` are added to these (and a
    ``deny`` from anywhere still wins). Holds no secrets, so it may travel to other machines.
    """

    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    tools: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    yes: bool = False
    max_iterations: int | None = None
    max_total_tokens: int | None = None
    max_cost: float | None = None
    system: str | None = None
    append_system: str | None = None
    trust_workspace: bool = False
    #: the folder a task's relative ``workspace`` is resolved against (default: the current one)
    base_dir: str | None = None
    #: paths left out of every workspace copy and diff (the batch's results file and sessions)
    exclude: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskDefaults:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("tools", "allow", "ask", "deny", "exclude"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


class UnsupportedTaskField(AllosError):
    """A task asks for something this allos-core cannot do yet (``max_cost``, ``schema``)."""


def task_flags(task: BatchTask, defaults: TaskDefaults) -> dict[str, Any]:
    """The settings layer for one task, as :func:`~allos_core.config.load_settings` takes it."""
    provider = task.provider or defaults.provider
    model: str | None
    if task.model is not None:
        model = task.model
    elif task.provider is None or task.provider == defaults.provider:
        model = defaults.model
    else:
        model = None  # the command line's model belongs to another provider
    return {
        "provider": provider,
        "model": model,
        "max_iterations": task.max_iterations or defaults.max_iterations,
        "max_total_tokens": task.max_total_tokens or defaults.max_total_tokens,
        "system_prompt": task.system or defaults.system,
        "append_system_prompt": defaults.append_system,
        "stream": False,
        "permissions": {
            kind: [*getattr(defaults, kind), *getattr(task, kind)]
            for kind in ("allow", "ask", "deny")
        },
    }


def _agent_parameter(*names: str) -> str | None:
    """The first of ``names`` that :class:`Agent` accepts (feature test for newer cores)."""
    from allos_core.agent import Agent

    parameters = inspect.signature(Agent.__init__).parameters
    return next((name for name in names if name in parameters), None)


def _optional_features(task: BatchTask, defaults: TaskDefaults) -> dict[str, Any]:
    """``max_cost`` and ``schema`` as Agent arguments, or an error if this core lacks them."""
    extra: dict[str, Any] = {}
    max_cost = task.max_cost if task.max_cost is not None else defaults.max_cost
    if max_cost is not None:
        name = _agent_parameter("max_cost")
        if name is None:
            raise UnsupportedTaskField(
                "max_cost is not supported by this allos-core (no cost limit in Agent)",
                hint="upgrade allos-core, or remove max_cost from the task",
            )
        extra[name] = max_cost
    if task.schema is not None:
        name = _agent_parameter("output_schema", "schema", "output_type")
        if name is None:
            raise UnsupportedTaskField(
                "schema is not supported by this allos-core (no structured output in Agent)",
                hint="upgrade allos-core, or remove schema from the task",
            )
        extra[name] = task.schema
    return extra


def build_task_agent(
    task: BatchTask,
    defaults: TaskDefaults,
    workspace: Path,
    original: Path | None,
    *,
    manager: PluginManager,
    session: Any = None,
    on_event: EventCallback | None = None,
) -> Agent:
    """The agent for one task, working in ``workspace`` with the settings of ``original``."""
    from allos_core.agent import Agent
    from allos_core.cli.setup import check_tools, choose_provider
    from allos_core.config import load_settings

    settings = load_settings(
        original or workspace,
        flags=task_flags(task, defaults),
        trust_workspace=defaults.trust_workspace,
    )
    choice = choose_provider(manager, settings, defaults.base_url)
    tools: list[Any] | None = check_tools(manager, defaults.tools)
    return Agent(
        choice.name,
        choice.model,
        tools=tools,
        system_prompt=settings.system_prompt,
        append_system_prompt=settings.append_system_prompt,
        permissions=settings.permission_rules(),
        yes=defaults.yes,
        ask=None,  # no one is there: an ask becomes a deny that says how to allow the call
        workspace=workspace,
        plugin_manager=manager,
        provider_options=choice.options,
        max_iterations=settings.max_iterations,
        max_total_tokens=settings.max_total_tokens,
        stream=False,
        on_event=on_event,
        session=session,
        plugin_settings=settings.plugin_settings(),
        **_optional_features(task, defaults),
    )


def new_session_path(sessions_dir: Path, task_id: str) -> Path:
    """A session file for this task that does not exist yet (a re-run gets a new one)."""
    base = slug(task_id)
    path = sessions_dir / f"{base}.json"
    attempt = 1
    while path.exists():
        attempt += 1
        path = sessions_dir / f"{base}.{attempt}.json"
    return path


async def _prepare(task: BatchTask, defaults: TaskDefaults) -> WorkspaceCopy:
    """The copy, made on a thread; a copy still being made when we are cancelled is removed."""
    original = None if task.repo else task.workspace_path(defaults.base_dir)
    job = asyncio.ensure_future(
        asyncio.to_thread(
            prepare_workspace,
            workspace=original,
            repo=task.repo,
            ref=task.ref,
            label=slug(task.id),
            exclude=defaults.exclude,
        )
    )
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            copy = await job  # the thread cannot be stopped: wait for it, then undo its work
            await asyncio.to_thread(copy.remove)
        raise


async def execute_task(
    task: BatchTask,
    defaults: TaskDefaults,
    *,
    manager: PluginManager | None = None,
    sessions_dir: Path | None = None,
    keep: bool = False,
    on_event: EventCallback | None = None,
) -> TaskResult:
    """Run ``task`` in its own copy of its workspace and return its result.

    Failures (a missing workspace, an unknown provider, a provider error) become a result with
    ``stop_reason`` ``error``; they never raise. Cancelling the coroutine stops the agent
    cleanly (its session is saved), removes the copy unless ``keep``, and re-raises.
    """
    started = time.perf_counter()
    if manager is None:
        from allos_core.plugins import create_plugin_manager

        manager = create_plugin_manager()
    try:
        copy = await _prepare(task, defaults)
    except AllosError as exc:
        return _failed(task, exc, started)
    except OSError as exc:
        return _failed(task, AllosError(f"cannot copy the workspace: {exc}"), started)
    cancelled = False
    try:
        return await _run_in(copy, task, defaults, manager, sessions_dir, keep, on_event, started)
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        if not keep or cancelled:
            await asyncio.to_thread(copy.remove)


async def _run_in(
    copy: WorkspaceCopy,
    task: BatchTask,
    defaults: TaskDefaults,
    manager: PluginManager,
    sessions_dir: Path | None,
    keep: bool,
    on_event: EventCallback | None,
    started: float,
) -> TaskResult:
    session = None
    if sessions_dir is not None:
        from allos_core.sessions import Session

        # kept in memory during the run and written once at the end, off the event loop: a
        # save (with its fsyncs) after every turn would stall every other task of the batch
        session = Session(metadata={"batch_task": task.id, "workspace": copy.original})
    original = None if copy.kind == "clone" else Path(copy.original)
    try:
        agent = build_task_agent(
            task, defaults, copy.path, original, manager=manager, session=session, on_event=on_event
        )
    except AllosError as exc:
        return _failed(task, exc, started)
    try:
        run = await agent.arun(task.task)
    finally:
        saved = await _save_session(session, sessions_dir, task.id)
    try:
        diff = await asyncio.to_thread(copy.diff)
    except AllosError as exc:
        diff = f"(no diff: {exc})"
    error = None
    if run.stop_reason != "answered":
        error = run.error or _stop_message(run.stop_reason, run.iterations)
        if run.error_hint:
            error += f" (hint: {run.error_hint})"
    output = getattr(run, "output", None)
    usage = run.usage
    cost = getattr(run, "cost", None)
    if cost is None:
        cost = getattr(usage, "cost", None)
    return TaskResult(
        id=task.id,
        stop_reason=run.stop_reason,
        output=output if output is not None else run.text,
        usage=usage.model_dump(),
        cost=cost,
        duration_s=round(time.perf_counter() - started, 3),
        diff=diff,
        workspace=str(copy.path) if keep else None,
        session=saved,
        error=error,
    )


async def _save_session(session: Any, sessions_dir: Path | None, task_id: str) -> str | None:
    """Write the task's session to a new file in ``sessions_dir``; its path, or None."""
    if session is None or sessions_dir is None:
        return None
    from allos_core.errors import SessionError

    path = new_session_path(sessions_dir, task_id)
    session.name, session.path = path.stem, path
    try:
        await asyncio.to_thread(session.save)
    except SessionError:
        return None
    return str(path)


def _stop_message(stop_reason: str, iterations: int) -> str:
    if stop_reason == "iteration_limit":
        return f"stopped after {iterations} model requests (iteration limit)"
    if stop_reason == "usage_limit":
        return "stopped at the usage limit"
    return f"the run stopped: {stop_reason}"


def _failed(task: BatchTask, exc: AllosError, started: float) -> TaskResult:
    error = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
    return TaskResult(
        id=task.id,
        stop_reason="error",
        duration_s=round(time.perf_counter() - started, 3),
        error=error,
    )
