"""The plugin manager: discovers plugins, records failures and conflicts, answers hooks.

Plugins are found through the entry-point groups ``allos.providers`` and ``allos.tools``. A plugin
that fails to import or to register is recorded with its error and skipped; two plugins offering
the same provider or tool name are recorded as a conflict (the first one loaded keeps the name).
Nothing here raises for a broken plugin: the CLI and embedders keep working.

Environment variables (documented in the README):

- ``ALLOS_PLUGINS``: comma-separated plugin or distribution names; when set, only these load.
- ``ALLOS_DISABLE_PLUGINS``: comma-separated plugin or distribution names that never load.

Embedders and tests can skip discovery: ``create_plugin_manager([my_plugin], discover=False)``.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from allos_core.hookspecs import ENTRY_POINT_GROUPS, PROJECT_NAME, AllosHookSpecs

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.permissions import PermissionDecision
    from allos_core.providers import Provider
    from allos_core.tools import Tool

ENV_ONLY = "ALLOS_PLUGINS"
ENV_DISABLE = "ALLOS_DISABLE_PLUGINS"


@dataclass
class PluginInfo:
    """What ``allos plugins list`` shows about one plugin."""

    name: str
    module: str
    group: str
    distribution: str | None = None
    version: str | None = None
    providers: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    batch_backends: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | failed | disabled | conflict
    error: str | None = None
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "group": self.group,
            "module": self.module,
            "providers": list(self.providers),
            "tools": list(self.tools),
            "commands": list(self.commands),
            "status": self.status,
            "error": self.error,
        }


def _split_env(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


class PluginManager:
    """Holds the loaded plugins and what they register.

    Build one with :func:`create_plugin_manager`. ``providers()`` and ``tools()`` call each
    plugin's hook once, separately, so a failure is pinned on the plugin that caused it.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(AllosHookSpecs)
        self.infos: list[PluginInfo] = []
        self.conflicts: list[str] = []
        self._info_by_plugin: dict[int, PluginInfo] = {}
        self._providers: dict[str, type[Provider]] | None = None
        self._tools: dict[str, Tool] | None = None
        self._commands: dict[str, Any] | None = None
        self._batch_backends: dict[str, Any] | None = None

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- loading ---------------------------------------------------------------------------------
    def register(
        self,
        plugin: Any,
        *,
        name: str | None = None,
        group: str = "explicit",
        distribution: str | None = None,
        version: str | None = None,
    ) -> PluginInfo:
        """Register a plugin object or module; failures are recorded, not raised."""
        module = getattr(plugin, "__name__", type(plugin).__name__)
        info = PluginInfo(
            name=name or module,
            module=module,
            group=group,
            distribution=distribution,
            version=version,
        )
        registered_name = f"{group}:{info.name}"
        suffix = 1
        while self.pm.has_plugin(registered_name):  # two explicit plugins of the same class
            suffix += 1
            registered_name = f"{group}:{info.name}#{suffix}"
        try:
            self.pm.register(plugin, name=registered_name)
        except Exception as exc:
            _mark_failed(info, exc)
        else:
            self._info_by_plugin[id(plugin)] = info
        self.infos.append(info)
        self._forget_collected()
        return info

    def _forget_collected(self) -> None:
        """Drop what the hooks registered, so the next lookup collects afresh (and once)."""
        self._providers = self._tools = self._commands = None
        self._batch_backends = None
        self.conflicts.clear()
        for info in self.infos:
            info.providers.clear()
            info.tools.clear()
            info.commands.clear()
            info.batch_backends.clear()
            if info.status == "conflict":
                info.status, info.error = "ok", None

    def load_entry_points(self, groups: Iterable[str] = ENTRY_POINT_GROUPS) -> None:
        """Discover and register plugins from installed distributions."""
        from importlib_metadata import entry_points

        only, disabled = _split_env(ENV_ONLY), _split_env(ENV_DISABLE)
        found = []
        for group in groups:
            for ep in entry_points(group=group):
                dist_name, version = _name_and_version(ep.dist)
                found.append((dist_name, ep.name, group, ep, version))
        for dist_name, ep_name, group, ep, version in sorted(found, key=lambda f: f[:3]):
            names = {ep_name, dist_name}
            info_kwargs = {
                "name": ep_name,
                "group": group,
                "distribution": dist_name or None,
                "version": version,
            }
            if (only and not names & only) or names & disabled:
                why = ENV_DISABLE if names & disabled else ENV_ONLY
                self.infos.append(
                    PluginInfo(module=ep.value, status="disabled", error=f"by {why}", **info_kwargs)
                )
                continue
            try:
                plugin = ep.load()
            except BaseException as exc:  # a plugin may even call sys.exit on import
                if isinstance(exc, KeyboardInterrupt):
                    raise
                info = PluginInfo(module=ep.value, **info_kwargs)
                _mark_failed(info, exc)
                self.infos.append(info)
                continue
            if self.pm.is_registered(plugin):
                continue  # one module named by two entry points
            self.register(plugin, **info_kwargs)

    # -- what plugins register -------------------------------------------------------------------
    def _collect(self, hook_name: str, key: Any, kind: str) -> dict[str, Any]:
        registry: dict[str, Any] = {}
        owners: dict[str, PluginInfo] = {}
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order
            info = self._info_by_plugin.get(id(impl.plugin))
            if info is None or info.status == "failed":
                continue
            try:
                items = list(impl.function() or [])
                names = [key(item) for item in items]
            except Exception as exc:
                _mark_failed(info, exc, during=hook_name)
                continue
            for item_name, item in zip(names, items, strict=True):
                if item_name in registry:
                    first = owners[item_name]
                    message = (
                        f"{kind} {item_name!r} is registered by both {_label(first)} and "
                        f"{_label(info)}; using {_label(first)}. Uninstall one, or disable it with "
                        f"{ENV_DISABLE}={info.name}"
                    )
                    self.conflicts.append(message)
                    if info.status == "ok":
                        info.status = "conflict"
                        info.error = message
                    continue
                registry[item_name] = item
                owners[item_name] = info
                getattr(info, f"{kind}s").append(item_name)
        return registry

    def providers(self) -> dict[str, type[Provider]]:
        """Provider classes by name."""
        if self._providers is None:
            self._providers = self._collect("allos_providers", lambda cls: cls.name, "provider")
        return self._providers

    def tools(self) -> dict[str, Tool]:
        """Tool instances by name."""
        if self._tools is None:
            self._tools = self._collect("allos_tools", lambda t: t.name, "tool")
        return self._tools

    def commands(self) -> dict[str, Any]:
        """Extra ``click`` commands by name (``allos_cli_commands``)."""
        if self._commands is None:
            self._commands = self._collect("allos_cli_commands", lambda c: c.name, "command")
        return self._commands

    def batch_backends(self) -> dict[str, Any]:
        """Batch backend classes by name (``allos_batch_backends``)."""
        if self._batch_backends is None:
            self._batch_backends = self._collect(
                "allos_batch_backends", lambda cls: cls.name, "batch_backend"
            )
        return self._batch_backends

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, with what it registers and its status."""
        self.providers()
        self.tools()
        self.commands()
        self.batch_backends()
        return list(self.infos)

    def get_provider_class(self, name: str) -> type[Provider]:
        providers = self.providers()
        if name not in providers:
            from allos_core.errors import UnknownProviderError

            known = ", ".join(sorted(providers)) or "none"
            raise UnknownProviderError(
                f"unknown provider {name!r} (installed: {known})",
                hint=f"install its plugin, for example: pip install allos-{name}",
            )
        return providers[name]

    def get_tool(self, name: str) -> Tool:
        tools = self.tools()
        if name not in tools:
            from allos_core.errors import UnknownToolError

            known = ", ".join(sorted(tools)) or "none"
            raise UnknownToolError(
                f"unknown tool {name!r} (installed: {known})",
                hint="see `allos tools list`; tools come from plugins such as allos-fs and allos-shell",
            )
        return tools[name]

    def check_permission(self, **kwargs: Any) -> PermissionDecision | None:
        """Every plugin's ``allos_check_permission`` answer, combined (deny > ask > allow)."""
        from allos_core.permissions import strongest

        answers = []
        for impl in self.pm.hook.allos_check_permission.get_hookimpls():
            info = self._info_by_plugin.get(id(impl.plugin))
            wanted = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            try:
                answer = impl.function(**wanted)
            except Exception as exc:
                label = info.name if info else "a plugin"
                from allos_core.permissions import PermissionDecision

                answer = PermissionDecision.deny(
                    f"permission plugin {label} failed: {exc}", source=label
                )
            if answer is not None:
                answers.append(answer)
        return strongest(answers)


def _name_and_version(dist: Any) -> tuple[str, str | None]:
    """A distribution's name and version from the head of its METADATA file.

    ``dist.name`` / ``dist.version`` parse the whole file with the email package, which costs more
    than loading every plugin; the two fields are in the first lines.
    """
    if dist is None:
        return "", None
    name = version = None
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    except Exception:
        text = ""
    for line in text.splitlines():
        if not line:
            break  # end of the headers
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            break
    if name is None or version is None:
        return dist.name, dist.version
    return name, version


def _label(info: PluginInfo) -> str:
    return f"{info.distribution or info.module} (plugin {info.name})"


def _mark_failed(info: PluginInfo, exc: BaseException, during: str | None = None) -> None:
    info.status = "failed"
    where = f" in {during}" if during else ""
    info.error = f"{type(exc).__name__}{where}: {exc}".splitlines()[0]
    info.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def create_plugin_manager(
    plugins: Iterable[Any] | None = None, *, discover: bool | None = None
) -> PluginManager:
    """Build a plugin manager.

    With no arguments, installed plugins are discovered through entry points. With an explicit
    ``plugins`` list, only those are registered (pass ``discover=True`` to add installed ones).
    """
    manager = PluginManager()
    if plugins is not None:
        for plugin in plugins:
            manager.register(plugin)
    if discover if discover is not None else plugins is None:
        manager.load_entry_points()
    return manager
