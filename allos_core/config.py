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

Every problem is a :class:`~allos_core.errors.ConfigError` that names the file, the line and the
key. :meth:`Settings.describe` lists every value with where it came from (secrets masked), which is
what ``allos config show`` prints.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.permissions import PermissionRules

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

DEFAULT_MAX_ITERATIONS = 50
#: top-level single values a file may set, with their defaults
SCALAR_DEFAULTS: dict[str, Any] = {
    "provider": None,
    "model": None,
    "max_iterations": DEFAULT_MAX_ITERATIONS,
    "max_total_tokens": None,
    "system_prompt": None,
    "append_system_prompt": None,
    "stream": True,
}
RULE_KINDS = ("allow", "ask", "deny")
_SECRET = re.compile(r"key|token|secret|password", re.I)


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


def is_secret(key: str) -> bool:
    """Whether a setting's value must never be printed (api keys, tokens, secrets)."""
    return bool(_SECRET.search(key.rsplit(".", 1)[-1]))


def mask(value: Any) -> str:
    """What ``config show`` prints instead of a secret."""
    return "****" if value else "(empty)"


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
    def system_prompt(self) -> str | None:
        return self.values.get("system_prompt")

    @property
    def append_system_prompt(self) -> str | None:
        return self.values.get("append_system_prompt")

    @property
    def stream(self) -> bool:
        return self.values.get("stream", True) is not False

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

    def permission_lists(self) -> dict[str, list[str]]:
        return {kind: [r.rule for r in self.rules if r.kind == kind] for kind in RULE_KINDS}

    def permission_rules(self) -> PermissionRules:
        """The collected rules as :class:`~allos_core.permissions.PermissionRules`."""
        from allos_core.permissions import PermissionRules

        return PermissionRules.from_lists(**self.permission_lists())

    def describe(self) -> list[tuple[str, str, str]]:
        """Every setting as ``(key, value shown, source)``; secrets are masked."""
        rows: list[tuple[str, str, str]] = []
        for key in SCALAR_DEFAULTS:
            rows.append((key, _show(key, self.values.get(key)), self.source(key)))
        for name in sorted(self.providers):
            for option, value in sorted(self.providers[name].items()):
                key = f"providers.{name}.{option}"
                rows.append((key, _show(key, value), self.source(key)))
        for rule in self.rules:
            rows.append((f"permissions.{rule.kind}", rule.rule, rule.source))
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
            elif value is not None:
                self.values[key] = value
                self.sources[key] = source


def _show(key: str, value: Any) -> str:
    if value is None:
        return "(not set)"
    if is_secret(key):
        return mask(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value.replace("\n", "\\n")
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


# -- loading ---------------------------------------------------------------------------------------


def load_settings(
    workspace: str | os.PathLike[str] | None = None,
    *,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    user_file: Path | None = None,
) -> Settings:
    """Merge defaults, the user file, the workspace file, the environment and ``flags``.

    ``flags`` holds the command line's values (``None`` for an option not given) and optionally
    ``permissions`` (``{"allow": [...], ...}``) and ``providers`` (``{"openai": {...}}``).
    """
    settings = Settings()
    environ = os.environ if environ is None else environ
    user = user_file or user_config_path()
    workspace_file = workspace_config_path(workspace)
    same = _same_file(user, workspace_file)
    for path, label in ((user, "user file"), (workspace_file, "workspace file")):
        if label == "workspace file" and same:
            continue
        if path.is_file():
            settings.apply(read_config_file(path), f"{label} {path}")
            settings.files.append(path)
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
            _check_rule(rule, f"--{kind} {rule!r}")
    return data


def _check_rule(rule: str, where: str) -> None:
    from allos_core.permissions import Rule

    try:
        Rule.parse(rule)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}", hint=exc.hint) from None


def _load_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate one config file; errors name the file, the line and the key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot read config file {file}: {reason}",
            hint=f"fix or remove {file}",
        ) from None
    try:
        data = _load_toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        message = str(exc)
        line = _decode_error_line(exc, message)
        where = f"{file}:{line}" if line else str(file)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)\s*$", "", message)
        raise ConfigError(
            f"{where}: invalid TOML: {reason}",
            hint="fix the syntax (see https://toml.io); strings need quotes",
        ) from None
    return validate_config(data, file, text)


def _decode_error_line(exc: Exception, message: str) -> int | None:
    line = getattr(exc, "lineno", None)
    if isinstance(line, int):
        return line
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def validate_config(data: Mapping[str, Any], file: Path, text: str = "") -> dict[str, Any]:
    """Check ``data`` against the schema; the first problem becomes a :class:`ConfigError`."""
    from pydantic import ValidationError

    try:
        model = _file_model().model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = _dotted(loc)
        line = find_key_line(text, loc) if text else None
        where = f"{file}:{line}" if line else str(file)
        if error["type"] == "extra_forbidden":
            parent = loc[:-1]
            known = _known_keys(parent)
            raise ConfigError(
                f"{where}: unknown key {key!r}",
                hint=f"known keys here: {', '.join(known)}" if known else "remove it",
            ) from None
        raise ConfigError(
            f"{where}: {key}: {error['msg']}",
            hint=_value_hint(loc),
        ) from None
    result = model.model_dump(exclude_unset=True)
    result.pop("providers", None)
    result["providers"] = {
        name: options.model_dump(exclude_unset=True) for name, options in model.providers.items()
    }
    for kind, rules in (result.get("permissions") or {}).items():
        for index, rule in enumerate(rules):
            try:
                _check_rule(rule, f"permissions.{kind}[{index}]")
            except ConfigError as exc:
                line = find_key_line(text, ("permissions", kind)) if text else None
                where = f"{file}:{line}" if line else str(file)
                raise ConfigError(f"{where}: {exc}", hint=exc.hint) from None
    return result


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    if not parent:
        return [*SCALAR_DEFAULTS, "providers", "permissions"]
    if parent == ("permissions",):
        return list(RULE_KINDS)
    return []


def _value_hint(loc: tuple[Any, ...]) -> str:
    key = str(loc[0]) if loc else ""
    if key in ("max_iterations", "max_total_tokens"):
        return f"{key} is a positive whole number, for example {key} = 50"
    if key == "permissions":
        return 'rules are lists of strings, for example allow = ["shell_exec(git status*)"]'
    if key == "providers" and len(loc) <= 2:
        return 'provider options go in tables, for example [providers.openai] base_url = "..."'
    return "see `allos config show` and docs/cli.md for the keys and their types"


_FILE_MODEL: Any = None


def _file_model() -> Any:
    """The pydantic schema of a config file (built on first use)."""
    global _FILE_MODEL
    if _FILE_MODEL is not None:
        return _FILE_MODEL
    from pydantic import BaseModel, ConfigDict, Field

    class ProviderOptions(BaseModel):
        """Options for one provider; unknown options go to the provider class as they are."""

        model_config = ConfigDict(extra="allow", strict=True)
        model: str | None = None
        base_url: str | None = None
        api_key: str | None = None
        timeout: float | None = Field(None, gt=0)
        max_retries: int | None = Field(None, ge=0)
        temperature: float | None = None
        max_tokens: int | None = Field(None, gt=0)

    class Permissions(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        allow: list[str] = Field(default_factory=list)
        ask: list[str] = Field(default_factory=list)
        deny: list[str] = Field(default_factory=list)

    class ConfigFile(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        provider: str | None = None
        model: str | None = None
        max_iterations: int | None = Field(None, gt=0)
        max_total_tokens: int | None = Field(None, gt=0)
        system_prompt: str | None = None
        append_system_prompt: str | None = None
        stream: bool | None = None
        providers: dict[str, ProviderOptions] = Field(default_factory=dict)
        permissions: Permissions | None = None

    _FILE_MODEL = ConfigFile
    return ConfigFile


# -- finding a key's line ------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+)""", text)
    return [a or b or c for a, b, c in parts]


def find_key_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line where the key at ``loc`` is written, or None when it cannot be found.

    Follows ``[table]`` headers and dotted keys; list indexes in ``loc`` are ignored (the line
    of the list's key is returned).
    """
    wanted = [str(part) for part in loc if not isinstance(part, int)]
    if not wanted:
        return None
    table: list[str] = []
    fallback: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            if table == wanted:
                return number
            continue
        match = _KEY.match(line)
        if not match:
            continue
        path = table + _split_key(match.group(1))
        if path == wanted:
            return number
        if fallback is None and (
            path[: len(wanted)] == wanted or (path and path[-1] == wanted[-1])
        ):
            fallback = number
    return fallback
