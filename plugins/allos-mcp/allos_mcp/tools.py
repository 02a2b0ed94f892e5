"""An MCP server's tool as an Allos :class:`~allos_core.tools.Tool`, and its results as text.

The name is the server's; the core lists it as ``mcp__SERVER__TOOL``. Annotations decide the
default permission: ``readOnlyHint`` allows (and lets calls run concurrently), anything else asks;
``destructiveHint`` is said in the description and in the permission prompt's reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from allos_core.errors import ToolArgumentsError
from allos_core.tools import Tool, ToolContext, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from allos_mcp.source import McpServerSource

DESTRUCTIVE_NOTE = "(The server marks this tool as destructive.)"
#: control characters a server may not pass on (terminal escapes, bells); newlines and tabs stay
_CONTROL = {c: None for c in [*range(0, 9), 11, 12, *range(13, 32), 127, *range(128, 160)]}


def clean(text: str) -> str:
    """Server text without control characters: it reaches the terminal and the model."""
    return text.translate(_CONTROL)


class McpTool(Tool):
    """One tool of one MCP server (``definition`` is the SDK's ``mcp.types.Tool``)."""

    def __init__(self, definition: Any, source: McpServerSource) -> None:
        self.name = str(definition.name)
        self.source = source
        self.definition = definition
        annotations = definition.annotations
        self.read_only = bool(annotations is not None and annotations.read_only_hint)
        self.destructive = bool(
            not self.read_only and annotations is not None and annotations.destructive_hint
        )
        self.default_permission = "allow" if self.read_only else "ask"
        description = clean(definition.description or "").strip()
        if self.destructive:
            description = f"{description}\n\n{DESTRUCTIVE_NOTE}".strip()
        self._description = description
        schema = dict(definition.input_schema or {})
        schema.pop("$schema", None)
        schema["type"] = "object"
        schema.setdefault("properties", {})
        self._schema = schema

    @property
    def description(self) -> str:  # type: ignore[override]
        return self._description

    def parameters_schema(self) -> dict[str, Any]:
        return self._schema

    def validate(self, arguments: dict[str, Any]) -> Any:
        """The arguments as given (the server validates them against its schema)."""
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(f"Invalid arguments for {self.name}: expected an object")
        missing = [k for k in self._schema.get("required", []) if k not in arguments]
        if missing:
            raise ToolArgumentsError(
                f"Invalid arguments for {self.name}:\n"
                + "\n".join(f"- {k}: Field required" for k in missing)
            )
        return dict(arguments)

    def preview(self, args: Any, context: ToolContext) -> str | None:
        shown = json.dumps(args, ensure_ascii=False, indent=2)
        where = f"MCP server {self.source.name} ({self.source.config.target})"
        note = f"\n{DESTRUCTIVE_NOTE}" if self.destructive else ""
        return f"{where} will run {self.name} with:\n{shown}{note}"

    async def run(self, args: Any, context: ToolContext) -> ToolResult:
        result = await self.source.call(self.name, args)
        return result_to_tool_result(result)


def result_to_tool_result(result: Any) -> ToolResult:
    """An MCP ``CallToolResult`` as a ToolResult.

    Text blocks are kept; structured content is used (as JSON) when there is no text; images,
    audio and resources are described in text (the conversation carries text only for now);
    ``is_error`` makes an error result.
    """
    pieces: list[str] = []
    for block in result.content or []:
        pieces.append(_describe(block))
    structured = result.structured_content
    if structured is not None and not any(getattr(b, "type", "") == "text" for b in result.content):
        pieces.append(json.dumps(structured, ensure_ascii=False, indent=2))
    text = clean("\n".join(p for p in pieces if p))
    metadata: dict[str, Any] = {}
    if structured is not None:
        metadata["structured_content"] = structured
    if result.is_error:
        return ToolResult(content=text or "the tool reported an error", is_error=True)
    return ToolResult(content=text, metadata=metadata)


def _describe(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(block.data or "") * 3 // 4
        return f"[{kind} {block.mime_type}, about {size} bytes: not shown, this conversation carries text only]"
    if kind == "resource_link":
        label = block.title or block.name
        mime = f", {block.mime_type}" if block.mime_type else ""
        return f"[resource link {label}: {block.uri}{mime}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource {resource.uri}]\n{text}"
        size = len(getattr(resource, "blob", "") or "") * 3 // 4
        mime = resource.mime_type or "binary"
        return f"[resource {resource.uri}: {mime}, about {size} bytes: not shown]"
    return f"[{kind or 'unknown'} content: not shown]"
