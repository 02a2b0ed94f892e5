"""Settings from ``allos.toml``, the user config file, the environment and command-line flags.

Layers, weakest first (a later layer wins for single values):

1. defaults;
2. the user config file: ``platformdirs.user_config_dir("allos")/config.toml``, or the file named
   by ``ALLOS_CONFIG_FILE``;
3. the workspace file ``allos.toml`` at the root of the workspace;
4. the environment: ``ALLOS_PROVIDER``, ``ALLOS_MODEL``, ``ALLOS_MAX_ITERATIONS``;
5. command-line flags.

Permission rules (``[permissions]`` ``allow`` / ``ask`` / ``deny``) are not overridden but
collected from every layer: a ``deny`` in the user file still applies in every workspace.
``[providers.NAME]`` tables are merged key by key.

The workspace file comes with whatever project was cloned, so it has less power than the user
file (see :func:`workspace_restriction` and :mod:`allos_core.workspace_policy`): it may not set
secrets or endpoints, its ``allow`` rules apply only in a trusted workspace (``trusted_workspaces``
of the user file, or ``--trust-workspace``), and it may not set ``trusted_workspaces``.

Everything ignored is kept in :attr:`Settings.ignored`, with the file, the line, the reason and
where to put it instead; :meth:`Settings.warnings` gives the lines the CLI prints on stderr.

A file looks like this::

    provider = "anthropic"
    model = "claude-sonnet-4-5"
    max_iterations = 40

    [providers.openai]
    model = "gpt-4.1-mini"
    base_url = "http://localhost:8000/v1"   # any OpenAI-compatible server

    [permissions]
    allow = ["shell_exec(git status*)", "edit_file(src/**)"]
    deny = ["shell_exec(rm *)"]

    # user file only: workspaces whose allow rules apply (a folder trusts its subfolders)
    trusted_workspaces = ["~/code/my-project"]

Every problem is a :class:`~allos_core.errors.ConfigError` that names the file, the line and the
key. :meth:`Settings.describe` lists every value with where it came from (secrets masked), which is
what ``allos config show`` prints.

The work is split in small modules, all re-exported here: :mod:`allos_core.config_keys` (the keys
and defaults), :mod:`allos_core.config_files` (reading and checking one file),
:mod:`allos_core.config_lines` (the line of a key), :mod:`allos_core.config_display` (masking
secrets) and :mod:`allos_core.workspace_policy` (what a workspace file may set, trust).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.config_display import is_secret, mask, show_value, toml_string
from allos_core.config_files import check_rule, read_config_file, read_config_text, validate_config
from allos_core.config_keys import (
    DEFAULT_MAX_ITERATIONS,
    PLUGIN_CHOICE_TABLES,
    PLUGINS_KEY,
    RULE_KINDS,
    SCALAR_DEFAULTS,
    TRUST_KEY,
)
from allos_core.config_lines import find_key_line
from allos_core.errors import ConfigError
from allos_core.workspace_policy import (
    PROVIDER_ENV,
    REASON_ENDPOINT,
    REASON_SECRET,
    REASON_UNTRUSTED,
    REASON_USER_ONLY,
    WORKSPACE_SAFE_OPTIONS,
    IgnoredSetting,
    restrict_workspace_config,
    workspace_restriction,
    workspace_trust,
)

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.permissions import PermissionRules

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_MAX_ITERATIONS",
    "ENV_VARS",
    "PROVIDER_ENV",
    "REASON_ENDPOINT",
    "REASON_SECRET",
    "REASON_UNTRUSTED",
    "REASON_USER_ONLY",
    "RULE_KINDS",
    "SCALAR_DEFAULTS",
    "TRUST_KEY",
    "WORKSPACE_FILE",
    "WORKSPACE_SAFE_OPTIONS",
    "ConfigError",
    "IgnoredSetting",
    "RuleSetting",
    "Settings",
    "find_key_line",
    "is_secret",
    "load_settings",
    "mask",
    "read_config_file",
    "restrict_workspace_config",
    "user_config_path",
    "validate_config",
    "workspace_config_path",
    "workspace_restriction",
]

#: environment variable naming the user config file (instead of the platformdirs location)
CONFIG_FILE_ENV = "ALLOS_CONFIG_FILE"
#: the workspace config file name
WORKSPACE_FILE = "allos.toml"
#: environment variables read as settings
ENV_VARS = {
    "provider": "ALLOS_PROVIDER",
    "model": "ALLOS_MODEL",
    "max_iterations": "ALLOS_MAX_ITERATIONS",
}


def user_config_path() -> Path:
    """The user config file: ``$ALLOS_CONFIG_FILE`` or the platform's config folder."""
    override = os.environ.get(CONFIG_FILE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("allos")) / "config.toml"


def workspace_config_path(workspace: str | os.PathLike[str] | None = None) -> Path:
    """``allos.toml`` at the root of ``workspace`` (default: the current directory)."""
    return Path(workspace or Path.cwd()) / WORKSPACE_FILE


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


# -- loading ---------------------------------------------------------------------------------------


def load_settings(
    workspace: str | os.PathLike[str] | None = None,
    *,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    user_file: Path | None = None,
    trust_workspace: bool = False,
) -> Settings:
    """Merge defaults, the user file, the workspace file, the environment and ``flags``.

    ``flags`` holds the command line's values (``None`` for an option not given) and optionally
    ``permissions`` (``{"allow": [...], ...}``) and ``providers`` (``{"openai": {...}}``).
    ``trust_workspace=True`` (``--trust-workspace``) makes the workspace file's ``allow`` rules
    apply without a ``trusted_workspaces`` entry. What the workspace file may not set is left out
    and recorded in :attr:`Settings.ignored`.
    """
    settings = Settings()
    environ = os.environ if environ is None else environ
    user = user_file or user_config_path()
    workspace_file = workspace_config_path(workspace)
    settings.workspace = workspace_file.parent.resolve()
    settings.user_file = user
    if user.is_file():
        settings.apply(read_config_file(user), f"user file {user}")
        settings.files.append(user)
    settings.workspace_trusted, settings.trust_source = workspace_trust(settings, trust_workspace)
    if workspace_file.is_file() and not _same_file(user, workspace_file):
        data, text = read_config_text(workspace_file)
        data = restrict_workspace_config(data, workspace_file, text, settings)
        settings.apply(data, f"workspace file {workspace_file}")
        settings.files.append(workspace_file)
    for key, value in _from_environment(environ).items():
        settings.apply({key: value}, f"env {ENV_VARS[key]}")
    settings.configured_provider = settings.values.get("provider")
    if flags:
        first_rule = len(settings.rules)
        settings.apply(_validate_flags(flags), "flag")
        for key, source in list(settings.sources.items()):
            if source == "flag":
                option = key.rsplit(".", 1)[-1]
                settings.sources[key] = f"flag --{option.replace('_', '-')}"
        for rule in settings.rules[first_rule:]:
            rule.source = f"flag --{rule.kind}"
    return settings


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.is_file() and b.is_file() and a.samefile(b)
    except OSError:
        return False


def _from_environ_int(environ: Mapping[str, str], var: str) -> int | None:
    raw = environ.get(var, "").strip()
    if not raw:
        return None
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number <= 0:
        raise ConfigError(
            f"{var} must be a positive whole number, got {raw!r}",
            hint=f"unset {var} or set it to a number such as 50",
        )
    return number


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in ("provider", "model"):
        value = environ.get(ENV_VARS[key], "").strip()
        if value:
            data[key] = value
    iterations = _from_environ_int(environ, ENV_VARS["max_iterations"])
    if iterations is not None:
        data["max_iterations"] = iterations
    return data


def _validate_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in flags.items() if v is not None}
    for kind, rules in (data.get("permissions") or {}).items():
        for rule in rules:
            check_rule(rule, f"--{kind} {rule!r}")
    return data
