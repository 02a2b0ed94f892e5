"""Allos: a provider-agnostic agent SDK and command-line coding agent.

The public names below are imported lazily, so ``import allos_core`` stays cheap: the CLI and
plugin discovery pay only for what they use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "hookimpl": "allos_core.hookspecs",
    "hookspec": "allos_core.hookspecs",
    "Message": "allos_core.messages",
    "TextPart": "allos_core.messages",
    "ToolCallPart": "allos_core.messages",
    "ToolResultPart": "allos_core.messages",
    "Usage": "allos_core.messages",
    "Provider": "allos_core.providers",
    "ModelRequest": "allos_core.providers",
    "ModelResponse": "allos_core.providers",
    "Capabilities": "allos_core.providers",
    "ToolSchema": "allos_core.providers",
    "Tool": "allos_core.tools",
    "ToolContext": "allos_core.tools",
    "ToolResult": "allos_core.tools",
    "tool": "allos_core.tools",
    "ToolSource": "allos_core.tool_sources",
    "PluginManager": "allos_core.plugins",
    "create_plugin_manager": "allos_core.plugins",
    "Decision": "allos_core.permissions",
    "PermissionDecision": "allos_core.permissions",
    "PermissionRules": "allos_core.permissions",
    "Agent": "allos_core.agent",
    "AgentConfig": "allos_core.agent_config",
    "RunResult": "allos_core.agent",
    "Session": "allos_core.sessions",
    "AllosError": "allos_core.errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent, RunResult
    from allos_core.agent_config import AgentConfig
    from allos_core.errors import AllosError
    from allos_core.hookspecs import hookimpl, hookspec
    from allos_core.messages import Message, TextPart, ToolCallPart, ToolResultPart, Usage
    from allos_core.permissions import Decision, PermissionDecision, PermissionRules
    from allos_core.plugins import PluginManager, create_plugin_manager
    from allos_core.providers import (
        Capabilities,
        ModelRequest,
        ModelResponse,
        Provider,
        ToolSchema,
    )
    from allos_core.sessions import Session
    from allos_core.tool_sources import ToolSource
    from allos_core.tools import Tool, ToolContext, ToolResult, tool


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'allos_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
