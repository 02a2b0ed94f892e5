"""Batch backends: where the tasks of a batch run.

The runner (:mod:`allos_core.batch.runner`) decides *which* tasks run and how many at once; a
backend runs *one* task and returns its :class:`~allos_core.batch.results.TaskResult`. The
built-in ``local`` backend runs tasks as asyncio tasks in this process. Other engines come from
plugins through the ``allos_batch_backends`` hook (``allos-ray`` offers ``ray``); subclass
:class:`BatchBackend` and return the class from the hook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from allos_core.errors import BatchError, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.batch.execute import TaskDefaults
    from allos_core.batch.results import TaskResult
    from allos_core.batch.tasks import BatchTask
    from allos_core.plugins import PluginManager


class BatchBackend:
    """Runs batch tasks somewhere. Subclass it to add an engine.

    ``address`` is what the user passed with ``--address`` (``None``: the engine's default; a
    backend that has no use for it should refuse it with a :class:`ConfigError`). ``settings``
    is the read-only plugin section named after the backend (``[ray]`` in ``allos.toml`` or the
    user config file). The runner calls :meth:`start` once, :meth:`run_task` for each task (up to
    its concurrency at a time, from one event loop), then :meth:`close`, however the batch ends.
    Cancelling a :meth:`run_task` coroutine must stop that task (its result is not recorded).
    """

    #: the name users pass to ``--backend``
    name: ClassVar[str] = ""
    #: one line for ``allos batch --help`` and the docs
    description: ClassVar[str] = ""

    def __init__(
        self,
        *,
        address: str | None = None,
        settings: Mapping[str, Any] | None = None,
        plugin_manager: PluginManager | None = None,
    ) -> None:
        self.address = address
        self.settings = dict(settings or {})
        self._plugin_manager = plugin_manager

    @property
    def plugin_manager(self) -> PluginManager:
        if self._plugin_manager is None:
            from allos_core.plugins import create_plugin_manager

            self._plugin_manager = create_plugin_manager()
        return self._plugin_manager

    async def start(self) -> None:
        """Connect or start the engine (called once, before the first task)."""

    async def run_task(
        self,
        task: BatchTask,
        defaults: TaskDefaults,
        *,
        sessions_dir: Path | None,
        keep: bool,
        on_event: Callable[[Any], None] | None = None,
    ) -> TaskResult:
        """Run one task in its own copy of its workspace and return its result.

        ``sessions_dir`` is where the task's session file must end up (on this machine),
        ``keep`` whether its workspace copy is kept (its location goes in the result), and
        ``on_event`` may receive the agent's events when the engine can deliver them.
        """
        raise NotImplementedError

    async def close(self) -> None:
        """Release the engine (called once, however the batch ended)."""


class LocalBackend(BatchBackend):
    """Runs each task as an asyncio task in this process (``-j N`` at a time)."""

    name = "local"
    description = "asyncio tasks in this process (the default)"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.address:
            raise ConfigError(
                "the local backend takes no --address",
                hint="drop --address, or pick a cluster backend with --backend (e.g. ray)",
            )

    async def run_task(
        self,
        task: BatchTask,
        defaults: TaskDefaults,
        *,
        sessions_dir: Path | None,
        keep: bool,
        on_event: Callable[[Any], None] | None = None,
    ) -> TaskResult:
        from allos_core.batch.execute import execute_task

        return await execute_task(
            task,
            defaults,
            manager=self.plugin_manager,
            sessions_dir=sessions_dir,
            keep=keep,
            on_event=on_event,
        )


def backend_classes(manager: PluginManager) -> dict[str, type[BatchBackend]]:
    """Every backend by name: ``local`` and those plugins offer (a plugin may not take ``local``)."""
    found: dict[str, type[BatchBackend]] = {LocalBackend.name: LocalBackend}
    for name, cls in manager.batch_backends().items():
        found.setdefault(name, cls)
    return found


def get_backend_class(name: str, manager: PluginManager) -> type[BatchBackend]:
    """The backend class called ``name``; a :class:`ConfigError` naming the installed ones."""
    classes = backend_classes(manager)
    if name not in classes:
        raise ConfigError(
            f"unknown batch backend {name!r} (installed: {', '.join(sorted(classes))})",
            hint=f"install its plugin, for example: pip install allos-{name}",
        )
    cls = classes[name]
    if not (isinstance(cls, type) and issubclass(cls, BatchBackend)):
        raise BatchError(
            f"the batch backend {name!r} is not a BatchBackend subclass",
            hint="report it to the plugin's authors; see `allos plugins list`",
        )
    return cls
