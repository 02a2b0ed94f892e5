"""Turn command-line options and settings into an :class:`~allos_core.agent.Agent`.

Provider choice: ``-p``, else the environment (``ALLOS_PROVIDER``) and config files, else the
first configured provider (a key in the environment, a reachable Ollama), in the order openai,
anthropic, google, ollama, then any other installed provider. ``scripted`` is never chosen on
its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.errors import ConfigError, UnknownProviderError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.cli.options import AgentOptions
    from allos_core.config import Settings
    from allos_core.plugins import PluginManager
    from allos_core.tools import Tool

#: auto-choice order of the first-party providers
PREFERRED_PROVIDERS = ("openai", "anthropic", "google", "ollama")
#: providers never chosen automatically
NOT_AUTO = frozenset({"scripted"})

DEMO_HINT = "To try Allos offline, with no key and no server: allos demo"


class NoProviderError(ConfigError):
    """No provider was given and none is configured."""


@dataclass
class ProviderChoice:
    """The provider to use, and why."""

    name: str
    model: str | None
    options: dict[str, Any]
    reason: str


def choose_provider(
    manager: PluginManager, settings: Settings, base_url: str | None = None
) -> ProviderChoice:
    """Pick the provider (see the module docstring); raise a helpful error when there is none."""
    classes = manager.providers()
    name = settings.provider
    if name:
        if name not in classes:
            manager.get_provider_class(name)  # raises UnknownProviderError with a hint
        reason = settings.source("provider")
    else:
        name, reason = _first_configured(classes, settings, manager.infos)
    options = settings.provider_options(name)
    if base_url:
        options["base_url"] = base_url
    return ProviderChoice(name, settings.model_for(name), options, reason)


def _auto_order(classes: dict[str, Any]) -> list[str]:
    first = [n for n in PREFERRED_PROVIDERS if n in classes]
    rest = sorted(n for n in classes if n not in PREFERRED_PROVIDERS and n not in NOT_AUTO)
    return first + rest


def _first_configured(
    classes: dict[str, Any], settings: Settings, infos: list[Any] | None = None
) -> tuple[str, str]:
    details = []
    for name in _auto_order(classes):
        options = settings.provider_options(name)
        try:
            status = classes[name].status(**options)
        except Exception as exc:  # a broken status check must not hide the others
            details.append(f"{name}: status check failed ({exc})")
            continue
        if status.configured:
            return name, f"auto: {status.detail}"
        details.append(f"{name}: {status.detail}")
    raise NoProviderError("no model provider is configured", hint=no_provider_hint(classes, infos))


def no_provider_hint(classes: dict[str, Any], infos: list[Any] | None = None) -> str:
    """How to configure each installed provider, and how to try the offline demo.

    ``infos`` (the plugin manager's) tell an installed-but-disabled or broken provider plugin
    from one that is not installed: only the latter gets a ``pip install`` hint.
    """
    ways = []
    if "openai" in classes:
        ways.append("set OPENAI_API_KEY (openai)")
    if "anthropic" in classes:
        ways.append("set ANTHROPIC_API_KEY (anthropic)")
    if "google" in classes:
        ways.append("set GEMINI_API_KEY (google)")
    if "ollama" in classes:
        ways.append("start a local Ollama with `ollama serve` (ollama)")
    for name in _auto_order(classes):
        if name not in PREFERRED_PROVIDERS:
            env = getattr(classes[name], "api_key_env", None)
            ways.append(f"set {env} ({name})" if env else f"pass -p {name}")
    if not classes or set(classes) <= NOT_AUTO:
        ways.extend(_provider_plugin_ways(infos or []))
    return "; ".join(ways) + ", then run again (or pick a provider with -p NAME).\n" + DEMO_HINT


def _provider_plugin_ways(infos: list[Any]) -> list[str]:
    present = {info.distribution: info for info in infos if info.distribution}
    ways, missing = [], []
    for name in PREFERRED_PROVIDERS:
        dist = f"allos-{name}"
        info = present.get(dist)
        if info is None:
            missing.append(dist)
        elif info.status in ("disabled", "failed"):
            ways.append(f"{dist} is installed but {info.status} ({info.error})")
    if missing:
        others = f" (or {', '.join(missing[1:])})" if missing[1:] else ""
        ways.append(f"install a provider plugin: pip install {missing[0]}{others}")
    return ways


def check_tools(manager: PluginManager, names: tuple[str, ...]) -> list[Tool | str] | None:
    """The ``-t`` names checked against the installed tools (None: every tool)."""
    if not names:
        return None
    installed = manager.tools()
    for name in names:
        if name not in installed:
            manager.get_tool(name)  # raises UnknownToolError naming the installed tools
    return list(dict.fromkeys(names))


def load_cli_settings(options: AgentOptions) -> Settings:
    """The merged settings for these options (files, environment, flags).

    What the workspace's ``allos.toml`` may not set (secrets, endpoints, and its allow rules
    unless the workspace is trusted) is left out with one line on stderr each. Provider keys
    may also come from ``.env`` files (:mod:`allos_core.config.dotenv_keys`).
    """
    from allos_core.cli.ui import print_warning
    from allos_core.config import resolve_settings

    settings = resolve_settings(
        options.workspace or Path.cwd(),
        flags=options.flags(),
        trust_workspace=options.trust_workspace,
    )
    for level, message in settings.warnings():
        print_warning(level, message)
    return settings


@dataclass
class AgentSetup:
    """An agent and what was decided to build it."""

    agent: Agent
    settings: Settings
    choice: ProviderChoice
    manager: PluginManager


def build_agent(
    options: AgentOptions,
    *,
    on_event: Callable[[Any], None] | None = None,
    ask: Callable[[Any], Any] | None = None,
    manager: PluginManager | None = None,
    settings: Settings | None = None,
    session: Any = None,
    output_type: Any = None,
) -> AgentSetup:
    """Build the agent the options describe. Raises AllosError subclasses with hints."""
    from allos_core.plugins import create_plugin_manager

    settings = settings or load_cli_settings(options)
    manager = manager or create_plugin_manager()
    from allos_core.cli.plugin_report import prepare_plugins

    prepare_plugins(manager, settings, verbose=options.verbose)
    choice = choose_provider(manager, settings, options.base_url)
    if options.think:
        choice.options["think"] = options.think
    if options.no_cache:
        choice.options["cache"] = False
    tools = check_tools(manager, options.tools)
    show_run_notes(
        manager, settings, [str(t) for t in tools] if tools else None, verbose=options.verbose
    )
    if session is None and options.session:
        from allos_core.sessions import Session

        session = Session.open(options.session)
    from allos_core.agent import Agent

    agent = Agent(
        choice.name,
        choice.model,
        tools=tools,
        system_prompt=settings.system_prompt,
        append_system_prompt=settings.append_system_prompt,
        permissions=settings.permission_rules(),
        yes=options.yes,
        ask=ask,
        workspace=options.workspace or Path.cwd(),
        plugin_manager=manager,
        provider_options=choice.options,
        max_iterations=settings.max_iterations,
        max_total_tokens=settings.max_total_tokens,
        stream=bool(settings.stream),
        on_event=on_event,
        session=session,
        plugin_settings=settings.plugin_settings(),
        max_cost=settings.max_cost,
        prices=settings.prices,
        output_type=output_type,
        tool_sources=_tool_sources(manager, settings, options) if tools is None else None,
    )
    return AgentSetup(agent, settings, choice, manager)


def _tool_sources(manager: PluginManager, settings: Settings, options: AgentOptions) -> list[Any]:
    """The plugins' tool sources (MCP servers, ...): offered with every tool (no ``-t``)."""
    from allos_core.tool_sources import collect_tool_sources

    return collect_tool_sources(
        manager,
        settings.plugin_settings(),
        options.workspace or Path.cwd(),
        workspace_trusted=settings.workspace_trusted,
    )


def show_run_notes(
    manager: PluginManager, settings: Settings, tools: list[str] | None, *, verbose: bool = False
) -> None:
    """Print the plugins' ``allos_run_notes`` lines (the run header), one line each, on stderr.

    Warnings always; notices on a terminal or with ``-v`` (scripts reading stderr are spared).
    """
    import sys

    from allos_core.cli.ui import print_warning

    show_notices = verbose or sys.stderr.isatty()
    try:
        answers = manager.hook.allos_run_notes(settings=settings.plugin_settings(), tools=tools)
    except Exception as exc:  # a plugin's note must never stop the run
        print_warning("warning", f"a plugin's run notes failed: {exc}")
        return
    for notes in answers:
        for level, message in notes or []:
            if level == "warning" or show_notices:
                print_warning("warning" if level == "warning" else "notice", str(message))


def provider_for_switch(
    manager: PluginManager, settings: Settings, name: str
) -> tuple[str, str | None, dict[str, Any]]:
    """Name, model and options for switching to provider ``name`` mid-chat."""
    if name not in manager.providers():
        manager.get_provider_class(name)  # a conflict, or unknown with a hint that tells the truth
        raise UnknownProviderError(
            f"unknown provider {name!r} (installed: {', '.join(sorted(manager.providers()))})",
            hint="see `allos providers list`",
        )
    return name, settings.model_for(name), settings.provider_options(name)
