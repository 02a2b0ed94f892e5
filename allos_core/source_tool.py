"""How a tool source's tools are listed: names valid for every provider, and calls that fail
cleanly once their source is down. Used by :mod:`allos_core.tool_sources`.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from allos_core.tools import Tool, ToolContext, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.providers import ToolSchema
    from allos_core.tool_sources import ToolSource, ToolSourceRunner

#: the strictest provider limit on tool names (OpenAI: ``^[a-zA-Z0-9_-]{1,64}$``)
MAX_TOOL_NAME_LENGTH = 64
#: a tool name or prefix: letters, digits, "_" and "-"
VALID_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_HASH_LENGTH = 8


def safe_name(text: str, max_length: int) -> str:
    """``text`` as a name of letters, digits, ``_`` and ``-`` of at most ``max_length`` chars.

    Names that already qualify are returned unchanged; any other is cleaned and cut, and gets a
    short hash of the original so that two different names never end up the same.
    """
    if text and len(text) <= max_length and VALID_NAME.match(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
    cleaned = _INVALID_CHARS.sub("_", text)
    keep = max(max_length - _HASH_LENGTH - 1, 0)
    return f"{cleaned[:keep]}_{digest}" if keep else digest[:max_length]


def source_tool_name(prefix: str, tool_name: str) -> str:
    """The name a source's tool is listed under: ``prefix + tool_name``, made valid for every
    provider (see :func:`safe_name`)."""
    return prefix + safe_name(tool_name, MAX_TOOL_NAME_LENGTH - len(prefix))


class SourceTool(Tool):
    """A source's tool under its listed name; calls fail cleanly once the source is down."""

    def __init__(self, inner: Tool, name: str, source: ToolSource, runner: ToolSourceRunner):
        self.inner = inner
        self.name = name
        self.source = source
        self._runner = runner
        self.read_only = inner.read_only
        self.default_permission = inner.default_permission
        self.path_subject = inner.path_subject

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.inner.description

    def args_model(self) -> Any:
        return self.inner.args_model()

    def parameters_schema(self) -> dict[str, Any]:
        return self.inner.parameters_schema()

    def schema(self) -> ToolSchema:
        from allos_core.providers import ToolSchema

        return ToolSchema(self.name, self.description, self.parameters_schema())

    def validate(self, arguments: dict[str, Any]) -> Any:
        return self.inner.validate(arguments)

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        return self.inner.permission_subject(args, context)

    def permission_subjects(self, args: Any, context: ToolContext) -> list[str | None]:
        return self.inner.permission_subjects(args, context)

    def preview(self, args: Any, context: ToolContext) -> str | None:
        return self.inner.preview(args, context)

    async def run(self, args: Any, context: ToolContext) -> ToolResult | str:
        return await self.inner.run(args, context)

    async def invoke_validated(self, args: Any, context: ToolContext) -> ToolResult:
        down = self._runner.down_reason(self.source)
        if down is not None:
            return ToolResult.error(f"{self.name} is unavailable: {down}")
        if self._runner.hosted:  # the source lives on the host loop: so does the call
            from allos_core.source_host import on_host

            result = await on_host(self.inner.invoke_validated(args, context))
        else:
            result = await self.inner.invoke_validated(args, context)
        self._runner.down_reason(self.source)  # reports a source that died during the call
        return result
