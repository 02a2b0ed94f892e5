"""How an :class:`~allos_core.agent.Agent` is put together: its provider, tools and session
looked up, the conversation it starts from, and the user's rules as tools see them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.context import repair_conversation
from allos_core.errors import ConfigError
from allos_core.messages import Message
from allos_core.providers import Provider
from allos_core.tools import Tool, ToolContext

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.checkpoints import CheckpointLog
    from allos_core.permissions import PermissionRules
    from allos_core.plugins import PluginManager
    from allos_core.sessions import Session
    from allos_core.tool_sources import ToolSource

__all__ = [
    "checkpoint_log",
    "initial_messages",
    "open_session",
    "read_denied",
    "resolve_provider",
    "resolve_tools",
    "rule_allows",
    "system_prompt_for",
    "tool_context_for",
]


def resolve_provider(
    manager: Callable[[], PluginManager],
    provider: Provider | str,
    model: str | None,
    options: dict[str, Any] | None,
) -> Provider:
    """A provider instance from a name (built by its plugin) or an instance (``model`` set).

    ``manager`` is called for the plugin manager only when a name must be looked up.
    """
    if isinstance(provider, str):
        cls = manager().get_provider_class(provider)
        return cls(model=model, **(options or {}))
    if not isinstance(provider, Provider):
        raise ConfigError(
            f"provider must be a Provider or a provider name, not {type(provider).__name__}",
            hint="pass for example Agent('openai', 'gpt-4o-mini') or a Provider instance",
        )
    if model:
        provider.model = model
    return provider


def resolve_tools(
    manager: Callable[[], PluginManager], tools: list[Tool | str] | None
) -> dict[str, Tool]:
    """The tools by name: ``None`` is every installed tool, names are looked up.

    ``manager`` is called for the plugin manager only when a tool must be looked up.
    """
    if tools is None:  # every installed tool: a name two plugins claim must be picked first
        manager().check_conflicts("tool")
    items = list(manager().tools().values()) if tools is None else list(tools)
    resolved: dict[str, Tool] = {}
    for item in items:
        tool = manager().get_tool(item) if isinstance(item, str) else item
        if not isinstance(tool, Tool):
            raise ConfigError(
                f"tools must be Tool instances or tool names, not {type(tool).__name__}",
                hint="decorate functions with allos_core.tools.tool",
            )
        if tool.name in resolved and resolved[tool.name] is not tool:
            raise ConfigError(
                f"two tools are named {tool.name!r}", hint="give one of them another name"
            )
        resolved[tool.name] = tool
    return resolved


def open_session(session: Session | str | Path | None, workspace: Path) -> Session | None:
    """The session to resume and save (opened from a name or path), noting its workspace."""
    if session is None:
        return None
    from allos_core.sessions import Session

    if not isinstance(session, Session):
        session = Session.open(session)
    session.metadata.setdefault("workspace", str(workspace))
    return session


def initial_messages(session: Session | None, system_prompt: str) -> list[Message]:
    """The conversation to start from: the session's (repaired), with this system prompt."""
    messages = session.messages if session is not None else []
    if messages:
        fixed, changes = repair_conversation(messages)
        if changes:
            messages[:] = fixed
    if system_prompt:
        system = Message.system(system_prompt)
        if messages and messages[0].role == "system":
            messages[0] = system  # this agent's tools and workspace, not the saved ones
        else:
            messages.insert(0, system)
    return messages


def rule_allows(
    rules: PermissionRules | None, workspace: Path, tool_name: str, subject: str
) -> str | None:
    """The user's allow rule deciding ``subject`` for ``tool_name`` (None: none does)."""
    if rules is None:
        return None
    answer = rules.decide_one(tool_name, subject, path_like=False, workspace=workspace)
    if answer is None or answer.decision != "allow":
        return None
    return answer.reason.removeprefix("rule ")


def read_denied(rules: PermissionRules | None, workspace: Path, relative_path: str) -> bool:
    """Whether the user's rules deny ``read_file`` for this workspace-relative path.

    Given to tools as :attr:`ToolContext.read_denied`, so searches (``grep``, ``glob``,
    listings) skip files the user keeps from ``read_file``. Only the user's rules count:
    plugins' ``allos_check_permission`` answers need a real call and are not consulted here.
    """
    if rules is None:
        return False
    answer = rules.decide_one("read_file", relative_path, path_like=True, workspace=workspace)
    return answer is not None and answer.decision == "deny"


def tool_context_for(
    agent: Agent,
    extra: Mapping[str, Any] | None,
    settings: Mapping[str, Any] | None,
    deps: Any,
) -> ToolContext:
    """The context every tool call of ``agent`` gets; the user's rules are read at call time,
    so replacing ``agent.permissions`` takes effect."""
    return ToolContext(
        workspace=agent.workspace,
        extra=dict(extra or {}),
        read_denied=lambda path: read_denied(agent.permissions, agent.workspace, path),
        rule_allows=lambda tool, subject: rule_allows(
            agent.permissions, agent.workspace, tool, subject
        ),
        settings=settings or {},
        deps=deps,
    )


def system_prompt_for(
    tools: list[Tool],
    sources: list[ToolSource] | None,
    workspace: Path,
    system_prompt: str | None,
    append: str | None,
) -> str:
    """The system prompt: the caller's or the default one, naming the tools and sources."""
    from allos_core.prompts import build_system_prompt
    from allos_core.tool_sources import source_summaries

    return build_system_prompt(
        [*tools, *source_summaries(sources or [])],
        workspace,
        system_prompt=system_prompt,
        append=append,
    )


def checkpoint_log(session: Session | None) -> CheckpointLog:
    """The file-change log of the session (kept in its metadata), or a new one."""
    from allos_core.checkpoints import CheckpointLog

    return CheckpointLog.from_data(session.metadata.get("checkpoints") if session else None)
