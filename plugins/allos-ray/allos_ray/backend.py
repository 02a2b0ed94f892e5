"""The ``ray`` batch backend: each task a Ray task, on a cluster or a local Ray.

``allos batch TASKS.jsonl -o RESULTS.jsonl --backend ray [--address ADDR] -j N``: up to N tasks
are submitted at once (Ray schedules them on free CPUs). With no ``--address`` (and no
``RAY_ADDRESS``) a local Ray is started for the batch and stopped after it; in a process where
Ray is already initialised, that Ray is used. Settings, in the ``[ray]`` section of the user
config (or a trusted workspace's ``allos.toml``):

- ``max_workspace_mb`` (default 100): the cap on a packed workspace (gzipped tar);
- ``num_cpus`` (default 1): CPUs Ray reserves for each task;
- ``runtime_env``: passed to ``ray.init`` (e.g. ``pip = ["allos-core", "allos-openai"]`` for
  workers that lack the packages).

Provider keys are never sent: each worker reads its own environment and config files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.batch.backends import BatchBackend
from allos_core.errors import AllosError, BatchError, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.batch.execute import TaskDefaults
    from allos_core.batch.results import TaskResult
    from allos_core.batch.tasks import BatchTask

#: the default cap on a packed workspace (compressed), in MiB; ``[ray] max_workspace_mb`` changes it
DEFAULT_MAX_WORKSPACE_MB = 100


class RayBackend(BatchBackend):
    """Runs each task as a Ray task (see the module docstring)."""

    name = "ray"
    description = "Ray tasks on a cluster (--address), or on a local Ray"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = int(
            _positive(self.settings, "max_workspace_mb", DEFAULT_MAX_WORKSPACE_MB) * 1024 * 1024
        )
        self.num_cpus = _positive(self.settings, "num_cpus", 1)
        self._owns_ray = False
        self._remote: Any = None

    async def start(self) -> None:
        import ray

        from allos_ray.worker import run_payload

        if not ray.is_initialized():
            options: dict[str, Any] = {"address": self.address, "log_to_driver": False}
            if self.settings.get("runtime_env"):
                options["runtime_env"] = dict(self.settings["runtime_env"])
            try:
                ray.init(**options)  # on the main thread: Ray installs signal handlers there
            except Exception as exc:
                raise BatchError(
                    f"cannot start or reach Ray ({self.address or 'local'}): {exc}",
                    hint="check --address (e.g. ray://head:10001) and that the cluster is up",
                ) from None
            self._owns_ray = True
        self._remote = ray.remote(run_payload).options(num_cpus=self.num_cpus, max_retries=0)

    async def run_task(
        self,
        task: BatchTask,
        defaults: TaskDefaults,
        *,
        sessions_dir: Path | None,
        keep: bool,
        on_event: Callable[[Any], None] | None = None,
    ) -> TaskResult:
        import asyncio

        import ray

        from allos_core.batch.execute import new_session_path
        from allos_core.batch.results import TaskResult
        from allos_core.files import atomic_write
        from allos_ray.payload import build_payload

        payload = await asyncio.to_thread(
            build_payload, task, defaults, keep=keep, max_bytes=self.max_bytes
        )
        ref = self._remote.remote(payload)
        try:
            reply = await ref
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise
        except ray.exceptions.RayError as exc:
            raise _task_failure(exc) from None
        result = TaskResult.from_dict(reply["result"])
        if reply.get("session") is not None and sessions_dir is not None:
            path = new_session_path(sessions_dir, task.id)
            sessions_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, reply["session"], create_mode=0o600)
            result.session = str(path)
        return result

    async def close(self) -> None:
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False


def _task_failure(exc: BaseException) -> BatchError:
    """One clear line for a failed Ray task (its str() holds a coloured remote traceback)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, AllosError):
        return BatchError(f"on the Ray worker: {cause}", hint=cause.hint)
    if isinstance(cause, BaseException):
        return BatchError(f"the Ray task failed: {type(cause).__name__}: {cause}")
    last = (str(exc).strip().splitlines() or [""])[-1]
    return BatchError(
        f"the Ray task failed: {type(exc).__name__}: {last}",
        hint="see the worker's log (ray logs) for what happened",
    )


def _positive(settings: dict[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    if type(value) not in (int, float) or value <= 0:
        raise ConfigError(
            f"[ray] {key} must be a positive number, not {value!r}",
            hint=f"fix {key} in the [ray] section of your allos config",
        )
    return value
