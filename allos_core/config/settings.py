"""The merged settings: every value with where it came from, and views of them.

Built by :func:`allos_core.config.loading.load_settings` (one layer at a time, with
:meth:`Settings.apply`); everything else reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from allos_core.config.display import is_secret, mask, show_value, toml_string
from allos_core.config.ignored import REASON_UNTRUSTED, IgnoredSetting
from allos_core.config.keys import (
    DEFAULT_MAX_ITERATIONS,
    PLUGIN_CHOICE_TABLES,
    PLUGINS_KEY,
    RULE_KINDS,
    SCALAR_DEFAULTS,
    TRUST_KEY,
)

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.permissions import PermissionRules

__all__ = ["RuleSetting", "Settings"]


@dataclass
class RuleSetting:
    """One permission rule and where it came from."""

    kind: str
    rule: str
    source: str


@dataclass
class Settings:
    """The merged settings, with the source of every value.

    ``values`` holds the top-level single values; ``providers`` the per-provider option tables;
    ``rules`` every permission rule from every layer. ``sources`` maps a dotted key
    (``model``, ``providers.openai.base_url``) to a description of where its value came from.
    """

    values: dict[str, Any] = field(default_factory=lambda: dict(SCALAR_DEFAULTS))
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: list[RuleSetting] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    #: the provider set by the files and the environment (before flags)
    configured_provider: str | None = None
    #: ``trusted_workspaces`` of the user file
    trusted_workspaces: list[str] = field(default_factory=list)
    #: the workspace folder (resolved) and the user config file these settings were read for
    workspace: Path | None = None
    user_file: Path | None = None
    #: whether the workspace file's ``allow`` rules apply, and why ("" when not trusted)
    workspace_trusted: bool = False
    trust_source: str = ""
    #: the workspace file's values that were not used
    ignored: list[IgnoredSetting] = field(default_factory=list)
    #: plugin sections (top-level tables that are not core keys), merged key by key
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``[plugins] strict`` from any layer (a layer can turn it on, never off again)
    strict_plugins: bool = False
    #: ``[plugins.tools]`` / ``[plugins.providers]`` / ``[plugins.commands]``: NAME -> plugin
    plugin_choices: dict[str, dict[str, str]] = field(default_factory=dict)

    # -- views -----------------------------------------------------------------------------------
    @property
    def provider(self) -> str | None:
        return self.values.get("provider")

    @property
    def model(self) -> str | None:
        """The top-level model (use :meth:`model_for` to get the model for a provider)."""
        return self.values.get("model")

    @property
    def max_iterations(self) -> int:
        return self.values.get("max_iterations") or DEFAULT_MAX_ITERATIONS

    @property
    def max_total_tokens(self) -> int | None:
        return self.values.get("max_total_tokens")

    @property
    def max_cost(self) -> float | None:
        """The budget of a run in US dollars (``max_cost``, ``--max-cost``), or None."""
        return self.values.get("max_cost")

    @property
    def prices(self) -> dict[str, dict[str, float]]:
        """The user's own model prices (``[prices."MODEL"]``), merged model by model."""
        return dict(self.values.get("prices") or {})

    @property
    def system_prompt(self) -> str | None:
        return self.values.get("system_prompt")

    @property
    def append_system_prompt(self) -> str | None:
        return self.values.get("append_system_prompt")

    @property
    def stream(self) -> bool:
        return self.values.get("stream", True) is not False

    @property
    def git_commit(self) -> bool:
        """Whether to commit the agent's file changes after every turn (``--git``)."""
        return self.values.get("git_commit") is True

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def provider_options(self, provider: str) -> dict[str, Any]:
        """The ``[providers.NAME]`` options passed to the provider class (without ``model``)."""
        options = dict(self.providers.get(provider, {}))
        options.pop("model", None)
        return options

    def model_for(self, provider: str) -> str | None:
        """The model to use with ``provider``.

        The top-level ``model`` goes with the top-level ``provider``: it is used when no provider
        is set, or when the provider chosen is that one (``-p other`` does not inherit a model
        meant for another provider). Otherwise ``[providers.NAME] model``, else None (the
        provider's default).
        """
        model = self.values.get("model")
        if self.source("model").startswith("flag"):
            return model
        configured = self.configured_provider
        if model and (configured is None or configured == provider):
            return model
        return self.providers.get(provider, {}).get("model")

    def section(self, name: str) -> dict[str, Any]:
        """The merged plugin section ``[NAME]`` (empty when no file sets it)."""
        return dict(self.sections.get(name, {}))

    def plugin_settings(self) -> Mapping[str, Any]:
        """Every plugin section as a read-only mapping, for :class:`~allos_core.tools.ToolContext`."""
        from allos_core.tools import frozen_settings

        return frozen_settings(self.sections)

    def permission_lists(self) -> dict[str, list[str]]:
        return {kind: [r.rule for r in self.rules if r.kind == kind] for kind in RULE_KINDS}

    def permission_rules(self) -> PermissionRules:
        """The collected rules as :class:`~allos_core.permissions.PermissionRules`."""
        from allos_core.permissions import PermissionRules

        return PermissionRules.from_lists(**self.permission_lists())

    def warnings(self) -> list[tuple[str, str]]:
        """What was ignored, as ``(level, one line)``: ``warning`` for secrets and endpoints,
        ``notice`` for the ``allow`` rules of an untrusted workspace (one line for all of them)."""
        lines = [("warning", i.message) for i in self.ignored if i.reason != REASON_UNTRUSTED]
        untrusted = [i for i in self.ignored if i.reason == REASON_UNTRUSTED]
        if untrusted:
            shown = ", ".join(i.value for i in untrusted[:3])
            if len(untrusted) > 3:
                shown += f", +{len(untrusted) - 3} more"
            count = f"{len(untrusted)} allow rule{'s' if len(untrusted) > 1 else ''}"
            lines.append(
                (
                    "notice",
                    f"{untrusted[0].where}: ignored {count} ({shown}): {REASON_UNTRUSTED}; "
                    + self.how_to_trust(),
                )
            )
        return lines

    def how_to_trust(self) -> str:
        """How to trust this workspace (flag, or an entry in the user file)."""
        folder = str(self.workspace) if self.workspace else "/path/to/workspace"
        user = f" {self.user_file}" if self.user_file else ""
        return (
            f"to use them, pass --trust-workspace, or add {TRUST_KEY} = [{toml_string(folder)}]"
            f" to your user config file{user}"
        )

    def describe(self) -> list[tuple[str, str, str]]:
        """Every setting as ``(key, value shown, source)``; secrets are masked.

        Then whether the workspace is trusted, and every ignored value of the workspace file
        with ``ignored: REASON (line N)`` as its source.
        """
        rows: list[tuple[str, str, str]] = []
        for key in SCALAR_DEFAULTS:
            rows.append((key, show_value(key, self.values.get(key)), self.source(key)))
        for name in sorted(self.providers):
            for option, value in sorted(self.providers[name].items()):
                key = f"providers.{name}.{option}"
                rows.append((key, show_value(key, value), self.source(key)))
        for rule in self.rules:
            rows.append((f"permissions.{rule.kind}", rule.rule, rule.source))
        for model, price in sorted(self.prices.items()):
            shown = ", ".join(f"{k} = {v:g}" for k, v in price.items())
            rows.append((f'prices."{model}"', shown, self.source(f"prices.{model}")))
        for name in sorted(self.sections):
            for option, value in sorted(self.sections[name].items()):
                key = f"{name}.{option}"
                rows.append((key, show_value(key, value), self.source(key)))
        if self.strict_plugins:
            rows.append((f"{PLUGINS_KEY}.strict", "true", self.source(f"{PLUGINS_KEY}.strict")))
        for kind, picks in sorted(self.plugin_choices.items()):
            for name, owner in sorted(picks.items()):
                key = f"{PLUGINS_KEY}.{kind}.{name}"
                rows.append((key, owner, self.source(key)))
        if self.trusted_workspaces:
            shown = ", ".join(self.trusted_workspaces)
            rows.append((TRUST_KEY, shown, self.source(TRUST_KEY)))
        if self.workspace is not None:
            state = "trusted" if self.workspace_trusted else "not trusted"
            source = self.trust_source or f"not in {TRUST_KEY}, no --trust-workspace"
            rows.append(("workspace", state, source))
        for item in self.ignored:
            at = f"line {item.line}" if item.line else str(item.file)
            rows.append((item.key, item.value, f"ignored: {item.reason} ({at})"))
        return rows

    def to_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """The merged settings as plain data (secrets masked unless ``masked=False``)."""

        def shown(key: str, value: Any) -> Any:
            return mask(value) if masked and is_secret(key) and value is not None else value

        return {
            **{k: shown(k, v) for k, v in self.values.items()},
            "providers": {
                name: {k: shown(f"providers.{name}.{k}", v) for k, v in options.items()}
                for name, options in self.providers.items()
            },
            "permissions": self.permission_lists(),
            "sections": {
                name: {k: shown(f"{name}.{k}", v) for k, v in options.items()}
                for name, options in self.sections.items()
            },
            PLUGINS_KEY: {"strict": self.strict_plugins, **self.plugin_choices},
            TRUST_KEY: list(self.trusted_workspaces),
            "workspace": {
                "path": str(self.workspace) if self.workspace else None,
                "trusted": self.workspace_trusted,
                "trust_source": self.trust_source or None,
            },
            "ignored": [item.to_dict() for item in self.ignored],
            "sources": dict(self.sources),
            "files": [str(p) for p in self.files],
        }

    # -- building --------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_frozen"):
            raise AttributeError(
                f"resolved settings are read-only (tried to set {name!r}); "
                "build new ones with load_settings"
            )
        object.__setattr__(self, name, value)

    def frozen(self) -> Settings:
        """A read-only copy, what :func:`~allos_core.config.resolve_settings` hands out: its
        tables are mappings that refuse changes, its lists tuples, and no attribute can be set."""

        def table(data: Mapping[str, Any]) -> Any:
            return MappingProxyType(
                {k: table(v) if isinstance(v, Mapping) else v for k, v in data.items()}
            )

        copy = replace(
            self,
            values=cast(Any, table(self.values)),
            providers=cast(Any, table(self.providers)),
            rules=cast(Any, tuple(self.rules)),
            sources=cast(Any, table(self.sources)),
            files=cast(Any, tuple(self.files)),
            trusted_workspaces=cast(Any, tuple(self.trusted_workspaces)),
            ignored=cast(Any, tuple(self.ignored)),
            sections=cast(Any, table(self.sections)),
            plugin_choices=cast(Any, table(self.plugin_choices)),
        )
        object.__setattr__(copy, "_frozen", True)
        return copy

    def apply(self, data: Mapping[str, Any], source: str) -> None:
        """Merge one layer (already validated) into these settings."""
        for key, value in data.items():
            if key == "providers":
                for name, options in (value or {}).items():
                    table = self.providers.setdefault(name, {})
                    for option, option_value in (options or {}).items():
                        table[option] = option_value
                        self.sources[f"providers.{name}.{option}"] = source
            elif key == "permissions":
                for kind in RULE_KINDS:
                    for rule in (value or {}).get(kind) or []:
                        self.rules.append(RuleSetting(kind, rule, source))
            elif key == "sections":
                for name, options in (value or {}).items():
                    table = self.sections.setdefault(name, {})
                    for option, option_value in (options or {}).items():
                        table[option] = option_value
                        self.sources[f"{name}.{option}"] = source
            elif key == "prices":
                table = self.values.setdefault("prices", {})
                for model, price in (value or {}).items():
                    table[model] = price
                    self.sources[f"prices.{model}"] = source
            elif key == PLUGINS_KEY:
                self._apply_plugins(value or {}, source)
            elif key == TRUST_KEY:
                self.trusted_workspaces.extend(value or [])
                self.sources[TRUST_KEY] = source
            elif value is not None:
                self.values[key] = value
                self.sources[key] = source

    def _apply_plugins(self, table: Mapping[str, Any], source: str) -> None:
        if table.get("strict"):
            self.strict_plugins = True
            self.sources[f"{PLUGINS_KEY}.strict"] = source
        for kind in PLUGIN_CHOICE_TABLES:
            for name, owner in (table.get(kind) or {}).items():
                self.plugin_choices.setdefault(kind, {})[name] = owner
                self.sources[f"{PLUGINS_KEY}.{kind}.{name}"] = source
