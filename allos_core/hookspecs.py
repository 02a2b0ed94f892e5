"""The plugin contract: the hooks a plugin can implement.

A plugin is a module (or object) named by an entry point in the group ``allos.providers`` or
``allos.tools``. It implements any of the hooks below, each marked with :data:`hookimpl`::

    from allos_core import hookimpl

    @hookimpl
    def allos_tools():
        from my_package.tools import count_lines   # import lazily: discovery must stay cheap
        return [count_lines]

A hook implementation may accept any subset of the arguments its spec names. Keep plugin modules
cheap to import: import SDKs and heavy modules inside the hooks or the classes they return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.batch.backends import BatchBackend
    from allos_core.messages import ToolCallPart
    from allos_core.permissions import PermissionDecision
    from allos_core.providers import Provider
    from allos_core.tools import Tool, ToolContext, ToolResult

PROJECT_NAME = "allos"
#: entry-point groups scanned for plugins
ENTRY_POINT_GROUPS = ("allos.providers", "allos.tools", "allos.batch")

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: mark a plugin function as the implementation of the hook of the same name
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class AllosHookSpecs:
    """Namespace of the hook specifications (pluggy collects the methods)."""

    @hookspec
    def allos_providers(self) -> list[type[Provider]]:
        """Return the :class:`~allos_core.providers.Provider` subclasses this plugin offers.

        Each class's ``name`` is what users pass to ``allos run -p NAME``. Two plugins offering the
        same name is reported as a conflict; the first one loaded keeps it. Return classes, not
        instances: a provider is built (and its SDK imported) only when it is used.
        """

    @hookspec
    def allos_tools(self) -> list[Tool]:
        """Return the :class:`~allos_core.tools.Tool` instances this plugin offers.

        Tool names are what models see and sessions record: keep them stable. Two plugins
        offering the same tool name is reported as a conflict; the first one loaded keeps it.
        """

    @hookspec
    def allos_check_permission(
        self, call: ToolCallPart, tool: Tool, args: Any, subject: str | None, context: ToolContext
    ) -> PermissionDecision | None:
        """Decide a tool call before it runs, or return None to abstain.

        ``args`` are the validated arguments and ``subject`` what rules match against (a path, a
        command). Every plugin's answer is combined: ``deny`` beats ``ask`` beats ``allow``. Plugin
        answers override the tool's default; the user's rules override plugin answers, except that
        a ``deny`` from anywhere always wins.
        """

    @hookspec
    def allos_before_tool_call(self, call: ToolCallPart, tool: Tool, context: ToolContext) -> None:
        """Called just before an allowed tool call runs (for auditing and logging)."""

    @hookspec
    def allos_after_tool_call(
        self, call: ToolCallPart, tool: Tool, result: ToolResult, context: ToolContext
    ) -> None:
        """Called after a tool call ran (or was refused), with its result."""

    @hookspec
    def allos_cli_commands(self) -> list[Any]:
        """Return extra ``click`` commands to add to the ``allos`` command line."""

    @hookspec
    def allos_batch_backends(self) -> list[type[BatchBackend]]:
        """Return the :class:`~allos_core.batch.backends.BatchBackend` subclasses this plugin offers.

        Each class's ``name`` is what users pass to ``allos batch --backend NAME`` (``local`` is
        built in and cannot be taken). The class is built once per batch with ``address`` (the
        ``--address`` value, or None), ``settings`` (the read-only ``[NAME]`` plugin section) and
        ``plugin_manager``; then ``start()``, ``run_task(...)`` for each task, ``close()``. A
        backend runs each task with :func:`allos_core.batch.execute.execute_task` wherever it
        runs it, and must never put provider keys in what it sends there: workers read their
        own environment. Two plugins offering the same name is reported as a conflict; the first
        one loaded keeps it. Return classes, not instances, and import the engine's SDK inside
        them: discovery must stay cheap. Register the plugin under the ``allos.batch`` entry-point
        group (or either of the others).
        """
