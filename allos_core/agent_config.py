"""``AgentConfig``: an agent's settings as one value, for ``Agent(AgentConfig(...))``.

The fields mirror :class:`~allos_core.agent.Agent`'s arguments one for one, with the same
defaults, so both spellings build the same agent::

    Agent(AgentConfig(provider="openai", model="gpt-4.1", tools=["read_file"]))
    Agent("openai", "gpt-4.1", tools=["read_file"])

A config is plain data: build it from a file or a form, copy it with
``dataclasses.replace(config, model=...)``, and pass it to as many agents as you like. Keyword
arguments given next to it win over its fields: ``Agent(config, on_event=print)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from allos_core.context import DEFAULT_MAX_TOOL_OUTPUT_CHARS

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.context import ContextBudget
    from allos_core.permissions import PermissionRules
    from allos_core.plugins import PluginManager
    from allos_core.providers import Provider
    from allos_core.sessions import Session
    from allos_core.tool_sources import ToolSource
    from allos_core.tools import Tool

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AgentConfig:
    """Everything :class:`~allos_core.agent.Agent` takes, as fields (see its docstring)."""

    provider: Provider | str
    model: str | None = None
    tools: list[Tool | str] | None = None
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    permissions: PermissionRules | None = None
    yes: bool = False
    ask: Callable[[Any], Any] | None = None
    workspace: str | Path | None = None
    plugin_manager: PluginManager | None = None
    provider_options: dict[str, Any] | None = None
    max_iterations: int | None = 50
    max_total_tokens: int | None = None
    stream: bool = True
    on_event: Callable[[Any], None] | None = None
    session: Session | str | Path | None = None
    context: ContextBudget | None = None
    max_tool_output_chars: int = DEFAULT_MAX_TOOL_OUTPUT_CHARS
    tool_context_extra: dict[str, Any] | None = None
    plugin_settings: Mapping[str, Any] | None = None
    deps: Any = None
    output_type: Any = None
    output_retries: int = 3
    max_cost: float | None = None
    prices: Mapping[str, Any] | None = None
    tool_sources: list[ToolSource] | None = None
    keep_tool_sources: bool = False

    def arguments(self) -> dict[str, Any]:
        """The fields as keyword arguments of ``Agent``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def accepts_config(init: F) -> F:
    """Let ``Agent.__init__`` take an :class:`AgentConfig` in place of ``provider``."""

    @functools.wraps(init)
    def wrapper(self: Any, provider: Any = None, *args: Any, **kwargs: Any) -> None:
        if isinstance(provider, AgentConfig):
            if args:
                raise TypeError(
                    "Agent(config, ...): after an AgentConfig, give other arguments by name"
                )
            init(self, **{**provider.arguments(), **kwargs})
            return
        if provider is None:
            raise TypeError("Agent() needs a provider (a name, a Provider, or an AgentConfig)")
        init(self, provider, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
