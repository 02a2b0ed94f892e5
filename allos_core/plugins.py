"""The plugin manager: discovers plugins, records failures and conflicts, answers hooks.

Plugins are found through the entry-point groups ``allos.providers`` and ``allos.tools`` and
loaded in a fixed order: explicit plugins first (in the order given), then entry points sorted by
distribution name, entry-point name and group. A plugin that fails to import or to register is
recorded with its error and skipped; nothing here raises for a broken plugin while listing, so
the CLI and embedders keep working.

Names are never decided by load order. A provider, tool or command name offered by two plugins
(or a first-party name offered by a stranger while its owner is absent, see
:mod:`allos_core.plugin_names`) is an unresolved conflict: the name is left out, and
:meth:`PluginManager.check_ready` (called before every run) raises
:class:`~allos_core.errors.PluginConflictError` naming both distributions and the setting that
picks one: ``[plugins.tools] read_file = "allos-fs"`` in a config file, or
``create_plugin_manager(choices={"tools": {"read_file": "allos-fs"}})``.

A plugin that failed is named once per run by the CLI; with ``strict`` (``[plugins] strict =
true`` or ``ALLOS_STRICT_PLUGINS=1``) :meth:`PluginManager.check_ready` refuses to go on.

Environment variables (documented in the README):

- ``ALLOS_PLUGINS``: comma-separated plugin or distribution names; when set, only these load.
- ``ALLOS_DISABLE_PLUGINS``: comma-separated plugin or distribution names that never load.
- ``ALLOS_STRICT_PLUGINS``: ``1`` makes any failed plugin an error (like ``[plugins] strict``).

Embedders and tests can skip discovery: ``create_plugin_manager([my_plugin], discover=False)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from allos_core.hookspecs import ENTRY_POINT_GROUPS, PROJECT_NAME, AllosHookSpecs
from allos_core.plugin_checks import checked_decision, hook_kinds, item_problem
from allos_core.plugin_info import NameConflict, PluginInfo, failed_plugins_line
from allos_core.plugin_info import label as _label
from allos_core.plugin_info import mark_failed as _mark_failed
from allos_core.plugin_names import KINDS, missing_name_hint, resolve_claims

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.permissions import PermissionDecision
    from allos_core.providers import Provider
    from allos_core.tools import Tool

ENV_ONLY = "ALLOS_PLUGINS"
ENV_DISABLE = "ALLOS_DISABLE_PLUGINS"
ENV_STRICT = "ALLOS_STRICT_PLUGINS"

#: called with (plugin info, hook name, exception) when an observer hook raises
HookErrorHandler = Callable[[PluginInfo, str, BaseException], None]


def _split_env(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def strict_from_env() -> bool:
    """Whether ``ALLOS_STRICT_PLUGINS`` asks for strict plugin loading."""
    return os.environ.get(ENV_STRICT, "").strip().lower() in ("1", "true", "yes", "on")


class PluginManager:
    """Holds the loaded plugins and what they register.

    Build one with :func:`create_plugin_manager`. ``providers()`` and ``tools()`` call each
    plugin's hook once, separately, so a failure is pinned on the plugin that caused it.
    """

    def __init__(
        self,
        *,
        choices: Mapping[str, Mapping[str, str]] | None = None,
        strict: bool | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(AllosHookSpecs)
        self.infos: list[PluginInfo] = []
        #: one message per unresolved name conflict (see :attr:`name_conflicts`)
        self.conflicts: list[str] = []
        self.name_conflicts: list[NameConflict] = []
        #: ``{"tools": {"read_file": "allos-fs"}, "providers": {...}}``: who gets a shared name
        self.choices: dict[str, dict[str, str]] = {
            kind: dict((choices or {}).get(kind) or {}) for kind in KINDS.values()
        }
        #: any failed plugin makes :meth:`check_ready` raise (None: ``ALLOS_STRICT_PLUGINS``)
        self.strict = strict
        #: called when an observer hook raises (the CLI prints one line); default: a log line
        self.on_hook_error: HookErrorHandler | None = None
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
            callers = self.pm.get_hookcallers(plugin) or []
            info.hooks = hook_kinds([caller.name for caller in callers])
        self.infos.append(info)
        self._forget_collected()
        return info

    def choose(self, table: str, name: str, plugin: str) -> None:
        """Give ``name`` to ``plugin`` (a distribution or plugin name) when several offer it.

        ``table`` is ``tools``, ``providers`` or ``commands``, as in ``[plugins.tools]``.
        """
        if table not in KINDS.values():
            raise ValueError(f"table must be one of {', '.join(KINDS.values())}, not {table!r}")
        self.choices.setdefault(table, {})[name] = plugin
        self._forget_collected()

    def _forget_collected(self) -> None:
        """Drop what the hooks registered, so the next lookup collects afresh (and once)."""
        self._providers = self._tools = self._commands = None
        self._batch_backends = None
        self.conflicts.clear()
        self.name_conflicts.clear()
        for info in self.infos:
            info.providers.clear()
            info.tools.clear()
            info.commands.clear()
            info.batch_backends.clear()
            if info.status == "conflict":
                info.status, info.error = "ok", None
                if info.hook_errors:
                    info.status, info.error = "degraded", info.hook_errors[-1]

    def load_entry_points(self, groups: Iterable[str] = ENTRY_POINT_GROUPS) -> None:
        """Discover and register plugins from installed distributions."""
        from allos_core.entry_points import entry_points

        only, disabled = _split_env(ENV_ONLY), _split_env(ENV_DISABLE)
        found = [(ep.dist, ep.name, ep.group, ep, ep.version) for ep in entry_points(groups)]
        for dist_name, ep_name, group, ep, version in sorted(found, key=lambda f: f[:3]):
            names = {ep_name, dist_name}
            info_kwargs: dict[str, Any] = {
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
    def _collect(self, hook_name: str, key: Callable[[Any], str], kind: str) -> dict[str, Any]:
        claims: dict[str, list[tuple[PluginInfo, Any]]] = {}
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            info = self._info_by_plugin.get(id(impl.plugin))
            if info is None or info.status == "failed":
                continue
            try:
                items = list(impl.function() or [])
                for item in items:
                    problem = item_problem(kind, item)
                    if problem:
                        raise TypeError(problem)
                names = [key(item) for item in items]
            except Exception as exc:
                _mark_failed(info, exc, during=hook_name)
                continue
            for item_name, item in zip(names, items, strict=True):
                claims.setdefault(item_name, []).append((info, item))
        registry: dict[str, Any] = {}
        for item_name in sorted(claims):
            winner = self._resolve(kind, item_name, claims[item_name])
            if winner is not None:
                info, item = winner
                registry[item_name] = item
                getattr(info, f"{kind}s").append(item_name)
        return registry

    def _resolve(
        self, kind: str, name: str, claims: list[tuple[PluginInfo, Any]]
    ) -> tuple[PluginInfo, Any] | None:
        """Who gets ``name``: the only claimant, or the one the user picked; None if unresolved."""
        chosen = self.choices.get(KINDS[kind], {}).get(name)
        labelled = [(info, _label(info), item) for info, item in claims]
        winner, message = resolve_claims(kind, name, labelled, chosen)
        if message is not None:
            infos = [info for info, _ in claims]
            self.name_conflicts.append(NameConflict(kind, name, infos, message))
            self.conflicts.append(message)
            for info in infos:
                getattr(info, f"{kind}s").append(name)  # what it offers, shown by plugins list
                if info.status in ("ok", "degraded"):
                    info.status, info.error = "conflict", message
        return winner

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
        """The provider class offered as ``name``; raises with a hint that tells the truth."""
        providers = self.providers()
        if name not in providers:
            self._raise_if_conflicted("provider", name)
            from allos_core.errors import UnknownProviderError

            known = ", ".join(sorted(providers)) or "none"
            raise UnknownProviderError(
                f"unknown provider {name!r} (installed: {known})",
                hint=missing_name_hint("provider", name, self.infos),
            )
        return providers[name]

    def get_tool(self, name: str) -> Tool:
        """The tool offered as ``name``; raises with a hint that tells the truth."""
        tools = self.tools()
        if name not in tools:
            self._raise_if_conflicted("tool", name)
            from allos_core.errors import UnknownToolError

            known = ", ".join(sorted(tools)) or "none"
            raise UnknownToolError(
                f"unknown tool {name!r} (installed: {known})",
                hint=missing_name_hint("tool", name, self.infos),
            )
        return tools[name]

    # -- before a run ----------------------------------------------------------------------------
    def failed(self) -> list[PluginInfo]:
        """The plugins that failed to import, register or answer a registration hook."""
        self.plugins()
        return [info for info in self.infos if info.status == "failed"]

    def check_conflicts(self, kind: str | None = None) -> None:
        """Raise :class:`~allos_core.errors.PluginConflictError` for unresolved name conflicts.

        ``kind`` (``provider``, ``tool``, ``command``) limits the check to one kind of name.
        """
        self.plugins()
        found = [c for c in self.name_conflicts if kind is None or c.kind == kind]
        if found:
            from allos_core.errors import PluginConflictError

            first = found[0]
            more = f" (and {len(found) - 1} more conflict(s))" if len(found) > 1 else ""
            raise PluginConflictError(
                first.message + more,
                hint="a name is never given to a plugin by load order; "
                "see `allos plugins list` and docs/plugins.md (Name conflicts)",
            )

    def check_ready(self, *, strict: bool | None = None) -> list[PluginInfo]:
        """Check the plugins before a run; returns the failed plugins (to report).

        Raises :class:`~allos_core.errors.PluginConflictError` for an unresolved name conflict,
        and :class:`~allos_core.errors.PluginLoadError` when a plugin failed and loading is
        strict (``strict``, else the manager's ``strict``, else ``ALLOS_STRICT_PLUGINS``).
        """
        self.check_conflicts()
        failed = self.failed()
        if strict is None:
            strict = self.strict if self.strict is not None else strict_from_env()
        if failed and strict:
            from allos_core.errors import PluginLoadError

            raise PluginLoadError(
                "strict plugin loading: " + failed_plugins_line(failed),
                hint="fix or uninstall it (see `allos plugins list -v`), switch it off with "
                f"{ENV_DISABLE}=NAME, or drop [plugins] strict / {ENV_STRICT}",
            )
        return failed

    def _raise_if_conflicted(self, kind: str, name: str) -> None:
        for conflict in self.name_conflicts:
            if conflict.kind == kind and conflict.name == name:
                from allos_core.errors import PluginConflictError

                raise PluginConflictError(
                    conflict.message, hint="see docs/plugins.md (Name conflicts)"
                )

    # -- hooks during a run ----------------------------------------------------------------------
    def check_permission(self, **kwargs: Any) -> PermissionDecision | None:
        """Every plugin's ``allos_check_permission`` answer, combined (deny > ask > allow).

        Fails closed: a hook that raises, or answers anything but a valid
        :class:`~allos_core.permissions.PermissionDecision` or None, denies the call, and the
        denial names the plugin.
        """
        from allos_core.permissions import PermissionDecision, strongest

        answers = []
        for impl in self.pm.hook.allos_check_permission.get_hookimpls():
            info = self._info_by_plugin.get(id(impl.plugin))
            label = _label(info) if info else impl.plugin_name
            wanted = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            try:
                answer = checked_decision(impl.function(**wanted), label)
            except Exception as exc:
                answer = PermissionDecision.deny(
                    f"permission plugin {label} failed ({type(exc).__name__}: {exc}); denied",
                    source=label,
                )
            if answer is not None:
                answers.append(answer)
        return strongest(answers)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook on every plugin; a plugin whose hook raises is reported and
        marked ``degraded`` for the rest of the process, and the others still run."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            wanted = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            try:
                impl.function(**wanted)
            except Exception as exc:
                info = self._info_by_plugin.get(id(impl.plugin))
                if info is None:
                    info = PluginInfo(name=impl.plugin_name, module=impl.plugin_name, group="?")
                self._hook_failed(info, hook_name, exc)

    def _hook_failed(self, info: PluginInfo, hook_name: str, exc: BaseException) -> None:
        line = f"{hook_name} raised {type(exc).__name__}: {exc}".splitlines()[0]
        info.hook_errors.append(line)
        if info.status == "ok":
            info.status, info.error = "degraded", line
        handler = self.on_hook_error
        if handler is not None:
            try:
                handler(info, hook_name, exc)
                return
            except Exception:  # a broken handler must not stop the run: fall back to the log
                pass
        import logging  # imported on use: listing plugins must stay cheap

        logger = logging.getLogger("allos.plugins")
        logger.warning("plugin %s: %s (the run goes on)", _label(info), line)
        logger.debug("traceback of %s in %s", hook_name, info.name, exc_info=exc)


def create_plugin_manager(
    plugins: Iterable[Any] | None = None,
    *,
    discover: bool | None = None,
    choices: Mapping[str, Mapping[str, str]] | None = None,
    strict: bool | None = None,
) -> PluginManager:
    """Build a plugin manager.

    With no arguments, installed plugins are discovered through entry points. With an explicit
    ``plugins`` list, only those are registered (pass ``discover=True`` to add installed ones).
    ``choices`` picks the plugin (distribution or plugin name) that gets a name offered by
    several, as the ``[plugins.tools]`` / ``[plugins.providers]`` / ``[plugins.commands]``
    tables do: ``choices={"tools": {"read_file": "allos-fs"}}``. ``strict=True`` makes
    :meth:`PluginManager.check_ready` (and building an :class:`~allos_core.agent.Agent`) refuse
    when any plugin failed.
    """
    manager = PluginManager(choices=choices, strict=strict)
    if plugins is not None:
        for plugin in plugins:
            manager.register(plugin)
    if discover if discover is not None else plugins is None:
        manager.load_entry_points()
    return manager
