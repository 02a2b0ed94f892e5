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
    from collections.abc import Mapping
    from pathlib import Path

    from allos_core.messages import ToolCallPart
    from allos_core.permissions import PermissionDecision
    from allos_core.providers import Provider
    from allos_core.tool_sources import ToolSource
    from allos_core.tools import Tool, ToolContext, ToolResult

PROJECT_NAME = "allos"
#: entry-point groups scanned for plugins
ENTRY_POINT_GROUPS = ("allos.providers", "allos.tools")

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
