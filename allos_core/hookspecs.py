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

Plugins load in a fixed order (explicit plugins first, then entry points sorted by distribution
name), but no answer depends on it: names are never shared by load order, permission answers
are combined, and observers all see the same read-only copies. What a plugin hands back is
checked (:mod:`allos_core.plugin_checks`): the core fails closed on anything it cannot read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping
    from pathlib import Path

    from allos_core.batch.backends import BatchBackend
    from allos_core.events import Event
    from allos_core.messages import ToolCallPart
    from allos_core.permissions import PermissionDecision
    from allos_core.providers import Provider
    from allos_core.tool_sources import ToolSource
    from allos_core.tools import Tool, ToolContext, ToolResult

PROJECT_NAME = "allos"
#: entry-point groups scanned for plugins (``allos.plugins``: observers, policies;
#: ``allos.batch``: batch backends)
ENTRY_POINT_GROUPS = ("allos.providers", "allos.tools", "allos.plugins", "allos.batch")

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: mark a plugin function as the implementation of the hook of the same name
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class AllosHookSpecs:
    """Namespace of the hook specifications (pluggy collects the methods)."""

    @hookspec
    def allos_providers(self) -> list[type[Provider]]:
        """Return the :class:`~allos_core.providers.Provider` subclasses this plugin offers.

        Called once per plugin manager, when providers are first looked up (``allos run``,
        ``allos providers list``, ``allos plugins list``). Each class's ``name`` is what users
        pass to ``allos run -p NAME``. Return classes, not instances: a provider is built (and its
        SDK imported) only when it is used.

        On error: if the hook raises, or returns something that is not a ``Provider`` subclass
        with a ``name``, the plugin is marked ``failed`` (with a message saying what to return)
        and offers nothing. Conflict: a name offered by two plugins goes to neither until the user
        picks one (``[plugins.providers] NAME = "DISTRIBUTION"``); a run refuses to start meanwhile.
        """

    @hookspec
    def allos_tools(self) -> list[Tool]:
        """Return the :class:`~allos_core.tools.Tool` instances this plugin offers.

        Called once per plugin manager, when tools are first looked up. Tool names are what models
        see and sessions record: keep them stable, and within ``^[A-Za-z_][A-Za-z0-9_-]{0,63}$``
        so every provider accepts them. Decorate functions with :func:`allos_core.tool`.

        On error: if the hook raises, or returns anything that is not a ``Tool`` instance (a
        plain function, say), the plugin is marked ``failed`` and offers nothing. Conflict: a
        name offered by two plugins goes to neither until the user picks one
        (``[plugins.tools] NAME = "DISTRIBUTION"``); a run refuses to start meanwhile.
        """

    @hookspec
    def allos_check_permission(
        self,
        call: ToolCallPart,
        tool: Tool,
        args: Any,
        subject: str | None,
        context: ToolContext[Any],
    ) -> PermissionDecision | None:
        """Decide a tool call before it runs: return a ``PermissionDecision``, or None to abstain.

        Called once per tool call, after its arguments were validated and before any prompt.
        Build the answer with ``PermissionDecision.allow(reason, source)``, ``.ask(...)`` or
        ``.deny(...)``. ``call`` is the model's :class:`~allos_core.messages.ToolCallPart`,
        ``args`` the validated arguments (an instance of the tool's pydantic ``Args`` model:
        read ``args.path``, not ``args["path"]``), ``subject`` what rules match against (for path
        tools the workspace-relative real path, see ``ToolContext.path_subject``; for the shell
        the command line), ``context`` the :class:`~allos_core.tools.ToolContext`.

        Every plugin's answer is combined: ``deny`` beats ``ask`` beats ``allow``. Plugin
        answers override the tool's default; the user's rules override plugin answers, except
        that a ``deny`` from anywhere always wins.

        On error (fail closed): a hook that raises, or answers anything but None or a
        ``PermissionDecision`` of exactly ``allow``/``ask``/``deny``, denies the call; the
        denial the model and the user see names the plugin.
        """

    @hookspec
    def allos_before_tool_call(
        self, call: ToolCallPart, tool: Tool, context: ToolContext[Any]
    ) -> None:
        """Observe an allowed tool call just before it runs (auditing, logging); returns nothing.

        ``call`` is a read-only copy (its ``arguments`` a read-only dict): an observer cannot
        change what runs. On error: a hook that raises is reported in one line naming the plugin
        and the hook (the traceback only with ``-v``), the plugin is marked ``degraded`` in
        ``allos plugins list`` for the rest of the process, and the call runs anyway.
        """

    @hookspec
    def allos_after_tool_call(
        self, call: ToolCallPart, tool: Tool, result: ToolResult, context: ToolContext[Any]
    ) -> None:
        """Observe a tool call after it ran, or was refused, with its result; returns nothing.

        ``call`` and ``result`` are read-only copies: the result the model sees cannot be
        changed (assigning to the copy raises ``AttributeError``). On error: as for
        :meth:`allos_before_tool_call`, reported in one line, the plugin marked ``degraded``,
        the run goes on.
        """

    @hookspec
    def allos_on_event(self, event: Event, context: ToolContext[Any]) -> None:
        """Called for every event an agent emits, after the agent's own ``on_event`` callback.

        ``event`` is one of :mod:`allos_core.events` (``run_started``, ``model_request``,
        ``assistant_message``, ``tool_call``, ``permission``, ``tool_result``, ``usage``,
        ``compaction``, ``session_saved``, ``stop``, ...; check ``event.type`` and ignore types you
        don't know). ``context`` is the agent's tool context (workspace, read-only plugin
        settings). For observers: tracing, metrics, logs (``allos-otel`` is built on it). The
        event is shared with every other observer, so treat it as read-only. It is called on the
        agent's event loop for every streamed text delta too: return quickly. Returns nothing; a
        hook that raises is logged and the run goes on.
        """

    @hookspec
    def allos_cli_commands(self) -> list[Any]:
        """Return extra ``click`` commands to add to the ``allos`` command line (``allos NAME``).

        Called only when the command line meets a name it does not know, and by
        ``allos plugins list``. On error: the plugin is marked ``failed`` and its commands are
        missing; the rest of the CLI works. Conflict: as for tools (``[plugins.commands]``).
        """

    @hookspec
    def allos_tool_sources(
        self, settings: Mapping[str, Any], workspace: Path, workspace_trusted: bool
    ) -> list[ToolSource]:
        """Return the :class:`~allos_core.tool_sources.ToolSource` objects configured for a run.

        For tools that exist only once something is started (an MCP server, an OpenAPI spec).
        ``settings`` are the user's plugin sections, read-only (``settings["mcp"]["servers"]``);
        the workspace's own sections are in it only when the workspace is trusted.
        ``workspace_trusted`` says whether configuration the plugin reads from the workspace
        itself (a ``.mcp.json``) may be used: a workspace-defined source that starts a program
        needs trust, like an allow rule.

        Called when an agent is built: return sources configured but not started (cheap). The
        core starts them when a run first needs tools (in parallel, each with its start-up
        timeout), lists their tools under each source's ``prefix``, reports a source that fails
        in one line and goes on without it, and stops every source when the run ends.
        """

    @hookspec
    def allos_run_notes(self, settings: Any, tools: list[str] | None) -> list[tuple[str, str]]:
        """Return ``(level, message)`` lines to show once at the start of a CLI run or chat.

        ``level`` is ``"notice"`` or ``"warning"``; ``settings`` are the plugin settings (the
        read-only mapping tools get as ``ToolContext.settings``); ``tools`` the names of the
        tools the run offers (None: every installed tool). Use it to say what a plugin enforces
        or cannot enforce, for example the shell sandbox. A failing implementation is reported
        as a warning and does not stop the run.
        """

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
