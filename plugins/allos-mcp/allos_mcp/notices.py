"""A configuration warning carried to the user as a tool source that cannot start.

The hook has no channel of its own to the terminal; a failing source is reported by the core in
one line at the start of the run (``warning: tool source mcp: ...``), in the CLI and for
embedders alike (a ``ToolSourceFailed`` event).
"""

from __future__ import annotations

from allos_core.errors import ConfigError
from allos_core.tool_sources import ToolSource
from allos_core.tools import Tool


class NoticeSource(ToolSource):
    """Offers no tools; its start fails with the configuration warnings, one line."""

    name = "mcp"
    prefix = "mcp_config__"
    kind = "mcp config"

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = list(warnings)

    async def start(self) -> list[Tool]:
        raise ConfigError("; ".join(self.warnings))

    async def stop(self) -> None:
        return None
