"""``allos mcp serve``: this installation's tools as a stdio MCP server.

Every call is decided as in an agent run: the tool's default, the plugins' answers and the user's
rules (``allow`` / ``ask`` / ``deny``); the tools keep their own guards (the workspace resolver,
the shell sandbox from ``[sandbox]``). Nobody can answer a prompt over MCP, so a call that would
ask is refused with a message saying which rule would allow it. MCP servers' own tools are not
re-served (no loops between agents).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.permissions import PermissionRules
    from allos_core.plugins import PluginManager
    from allos_core.tools import Tool, ToolContext, ToolResult


class ToolServer:
    """Decides and runs calls to the installed tools on behalf of an MCP client."""

    def __init__(
        self,
        tools: Mapping[str, Tool],
        context: ToolContext,
        *,
        rules: PermissionRules | None,
        plugin_manager: PluginManager | None,
    ) -> None:
        self.tools = dict(tools)
        self.context = context
        self.rules = rules
        self.plugin_manager = plugin_manager

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """One call: checked, decided (asks refused), run; every failure is an error result."""
        from allos_core.context import DEFAULT_MAX_TOOL_OUTPUT_CHARS, cap_text
        from allos_core.errors import ToolArgumentsError
        from allos_core.messages import ToolCallPart
        from allos_core.permissions import decide_permission, suggested_rule
        from allos_core.providers import new_tool_call_id
        from allos_core.tools import ToolResult

        tool = self.tools.get(name)
        if tool is None:
            return ToolResult.error(f"unknown tool {name!r}; available: {', '.join(self.tools)}")
        try:
            args = tool.validate(arguments)
        except ToolArgumentsError as exc:
            return ToolResult.error(str(exc))
        call = ToolCallPart(id=new_tool_call_id(), name=name, arguments=dict(arguments))
        try:
            subjects = tool.permission_subjects(args, self.context)
            decision = decide_permission(
                tool,
                call,
                args,
                self.context,
                rules=self.rules,
                plugin_manager=self.plugin_manager,
                subjects=subjects,
            )
        except Exception as exc:
            return ToolResult.error(f"{name} refused: {exc}")
        if decision.decision == "deny":
            return ToolResult.error(f"denied: {decision.reason}")
        if decision.decision == "ask":
            rules = sorted(
                {suggested_rule(name, s, path_like=tool.path_subject) for s in subjects or [None]}
            )
            allow = ", ".join(repr(r) for r in rules)
            return ToolResult.error(
                f"not allowed: {name} needs approval ({decision.reason}) and nobody can answer "
                f"over MCP. The user can allow it with {allow} in the allow list of their Allos "
                "config"
            )
        self._hook("allos_before_tool_call", call=call, tool=tool)
        result = await tool.invoke_validated(args, self.context)
        self._hook("allos_after_tool_call", call=call, tool=tool, result=result)
        result.content = cap_text(result.content, DEFAULT_MAX_TOOL_OUTPUT_CHARS)
        return result

    def _hook(self, name: str, **kwargs: Any) -> None:
        if self.plugin_manager is None:
            return
        import logging

        try:
            getattr(self.plugin_manager.hook, name)(context=self.context, **kwargs)
        except Exception:  # an auditing hook never breaks a call
            logging.getLogger("allos.mcp").warning("plugin hook %s failed", name, exc_info=True)

    def build(self) -> Any:
        """The ``mcp`` SDK's low-level ``Server`` answering ``tools/list`` and ``tools/call``."""
        import mcp_types as types
        from mcp.server.lowlevel import Server

        from allos_mcp import __version__

        def definition(tool: Tool) -> Any:
            annotations = types.ToolAnnotations(
                read_only_hint=tool.read_only, destructive_hint=not tool.read_only
            )
            return types.Tool(
                name=tool.name,
                description=tool.description,
                input_schema=tool.parameters_schema(),
                annotations=annotations,
            )

        async def list_tools(_ctx: Any, _params: Any) -> Any:
            return types.ListToolsResult(tools=[definition(t) for t in self.tools.values()])

        async def call_tool(_ctx: Any, params: Any) -> Any:
            result = await self.call(params.name, dict(params.arguments or {}))
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=result.content)],
                is_error=result.is_error,
            )

        return Server(
            "allos",
            version=__version__,
            instructions="Allos's tools: files and shell inside one workspace, with the user's "
            "permission rules applied. Calls that need approval are refused.",
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )


def build_tool_server(workspace: Path, *, trust_workspace: bool = False) -> ToolServer:
    """A :class:`ToolServer` for the installed tools, with the user's settings and rules."""
    from allos_core.config import load_settings
    from allos_core.plugins import create_plugin_manager
    from allos_core.tools import ToolContext

    settings = load_settings(workspace, trust_workspace=trust_workspace)
    rules = settings.permission_rules()
    manager = create_plugin_manager()
    root = Path(workspace).resolve()

    def read_denied(relative_path: str) -> bool:
        answer = rules.decide_one("read_file", relative_path, path_like=True, workspace=root)
        return answer is not None and answer.decision == "deny"

    context: ToolContext[None] = ToolContext(
        workspace=root, read_denied=read_denied, settings=settings.plugin_settings()
    )
    return ToolServer(manager.tools(), context, rules=rules, plugin_manager=manager)


async def serve_stdio(server: ToolServer) -> None:
    """Serve over stdin/stdout until the client closes the connection."""
    from mcp.server.stdio import stdio_server

    lowlevel = server.build()
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
