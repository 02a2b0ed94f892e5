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
file (see :func:`workspace_restriction`):

- it may not set secrets or endpoints: provider options named like a key, token, secret,
  password, credential or header, and ``base_url`` / ``host`` style options are ignored (a
  ``base_url`` there would send the user's ``OPENAI_API_KEY`` to a server of the project's choice);
- its ``allow`` rules apply only when the workspace is trusted: listed (or inside a folder listed)
  in ``trusted_workspaces`` of the user file, or ``trust_workspace=True`` (``--trust-workspace``).
  Its ``ask`` and ``deny`` rules always apply: they only make things safer;
- ``trusted_workspaces`` is read from the user file only.

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
#: the user-file setting listing trusted workspaces
TRUST_KEY = "trusted_workspaces"
#: names of values never printed (``token`` but not ``max_tokens``, a count)
_SECRET = re.compile(r"key|token(?!s)|secret|passw", re.I)
#: provider options a workspace file may not set: credentials, and headers that could carry one
_CREDENTIAL = re.compile(r"key|token(?!s)|secret|passw|credential|auth|cookie|header", re.I)
#: provider options a workspace file may not set: where requests (and the key) are sent
_ENDPOINT = re.compile(
    r"url|uri|host|endpoint|proxy|server|address|domain|socket|(?:^|_)base(?:$|_)", re.I
)
#: provider options a workspace file may always set
WORKSPACE_SAFE_OPTIONS = frozenset({"model", "timeout", "max_retries", "temperature", "max_tokens"})
#: the environment variables of the first-party providers: (api key, server)
PROVIDER_ENV: dict[str, tuple[str | None, str | None]] = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "ollama": (None, "OLLAMA_HOST"),
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


def is_secret(key: str) -> bool:
    """Whether a setting's value must never be printed (api keys, tokens, secrets)."""
    return bool(_SECRET.search(key.rsplit(".", 1)[-1]))


def mask(value: Any) -> str:
    """What ``config show`` prints instead of a secret."""
    return "****" if value else "(empty)"


def workspace_restriction(option: str) -> str | None:
    """Why a workspace file may not set the provider option ``option``, or None when it may.

    ``"secret"`` for credentials (names with key, token, secret, password, credential, auth,
    cookie or header), ``"endpoint"`` for where requests go (url, host, endpoint, proxy, ...).
    The common options (``model``, ``timeout``, ``max_retries``, ``temperature``,
    ``max_tokens``) are always allowed.
    """
    if option in WORKSPACE_SAFE_OPTIONS:
        return None
    if _CREDENTIAL.search(option):
        return "secret"
    if _ENDPOINT.search(option):
        return "endpoint"
    return None


#: reasons of :class:`IgnoredSetting`, as ``config show`` prints them
REASON_SECRET = "a workspace file may not set secrets"
REASON_ENDPOINT = "a workspace file may not set endpoints"
REASON_UNTRUSTED = "the workspace is not trusted"
REASON_USER_ONLY = "only the user file can trust workspaces"


@dataclass
class IgnoredSetting:
    """A value of the workspace file that is not used, and why.

    ``key`` is dotted (``providers.openai.base_url``, ``permissions.allow``); ``value`` is how it
    is shown (secrets masked); ``message`` is one line: where, what, why, and what to do instead.
    """

    key: str
    value: str
    file: Path
    line: int | None
    reason: str
    message: str

    @property
    def where(self) -> str:
        """``FILE:LINE`` (or the file alone when the line is unknown)."""
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "file": str(self.file),
            "line": self.line,
            "reason": self.reason,
            "message": self.message,
        }


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
            f"to use them, pass --trust-workspace, or add {TRUST_KEY} = [{_toml_string(folder)}]"
            f" to your user config file{user}"
        )

    def describe(self) -> list[tuple[str, str, str]]:
        """Every setting as ``(key, value shown, source)``; secrets are masked.

        Then whether the workspace is trusted, and every ignored value of the workspace file
        with ``ignored: REASON (line N)`` as its source.
        """
        rows: list[tuple[str, str, str]] = []
        for key in SCALAR_DEFAULTS:
            rows.append((key, _show(key, self.values.get(key)), self.source(key)))
        for name in sorted(self.providers):
            for option, value in sorted(self.providers[name].items()):
                key = f"providers.{name}.{option}"
                rows.append((key, _show(key, value), self.source(key)))
        for rule in self.rules:
            rows.append((f"permissions.{rule.kind}", rule.rule, rule.source))
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
            elif key == TRUST_KEY:
                self.trusted_workspaces.extend(value or [])
                self.sources[TRUST_KEY] = source
            elif value is not None:
                self.values[key] = value
                self.sources[key] = source


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
    settings.workspace_trusted, settings.trust_source = _trust(settings, trust_workspace)
    if workspace_file.is_file() and not _same_file(user, workspace_file):
        data, text = _read_config(workspace_file)
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


def _trust(settings: Settings, flag: bool) -> tuple[bool, str]:
    """Whether the workspace is trusted, and why (the flag, or a ``trusted_workspaces`` entry).

    An entry trusts that folder and every folder inside it.
    """
    if flag:
        return True, "flag --trust-workspace"
    workspace = settings.workspace
    if workspace is None:
        return False, ""
    for entry in settings.trusted_workspaces:
        folder = Path(entry).expanduser().resolve()
        if workspace == folder or folder in workspace.parents:
            return True, f"{TRUST_KEY} in {settings.source(TRUST_KEY)} ({entry})"
    return False, ""


def restrict_workspace_config(
    data: Mapping[str, Any], file: Path, text: str, settings: Settings
) -> dict[str, Any]:
    """``data`` (a validated workspace file) without what a workspace file may not set.

    Secrets and endpoints in ``[providers.*]``, ``trusted_workspaces``, and the ``allow`` rules
    unless ``settings.workspace_trusted``. Each value left out is added to ``settings.ignored``.
    """
    result = dict(data)
    ignored = _Ignorer(file, text, settings)
    if "providers" in result:
        result["providers"] = {
            name: ignored.provider_options(name, options or {})
            for name, options in result["providers"].items()
        }
    if TRUST_KEY in result:
        ignored.trust_list(result.pop(TRUST_KEY) or [])
    permissions = result.get("permissions") or {}
    if permissions.get("allow") and not settings.workspace_trusted:
        ignored.allow_rules(permissions["allow"])
        result["permissions"] = {**permissions, "allow": []}
    return result


class _Ignorer:
    """Records the values of one workspace file that are left out, with their line."""

    def __init__(self, file: Path, text: str, settings: Settings) -> None:
        self.file, self.text, self.settings = file, text, settings
        user = settings.user_file
        self.user_note = f"your user config file {user}" if user else "your user config file"

    def _add(self, loc: tuple[str, ...], value: str, reason: str, why: str) -> None:
        line = find_key_line(self.text, loc) if self.text else None
        where = f"{self.file}:{line}" if line else str(self.file)
        key = ".".join(loc)
        label = f"allow rule {value!r}" if loc == ("permissions", "allow") else key
        message = f"{where}: ignored {label}: {why}"
        self.settings.ignored.append(IgnoredSetting(key, value, self.file, line, reason, message))

    def provider_options(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The options a workspace file may set; the others are recorded."""
        kept: dict[str, Any] = {}
        key_env, url_env = PROVIDER_ENV.get(name, (None, None))
        for option, value in options.items():
            kind = workspace_restriction(option)
            if kind is None:
                kept[option] = value
                continue
            instead = f"put it in {self.user_note}"
            if kind == "secret":
                reason, shown = REASON_SECRET, mask(value)
                if key_env and option == "api_key":
                    instead += f" or set {key_env}"
            else:
                reason, shown = REASON_ENDPOINT, _show(option, value)
                instead += (f", set {url_env}" if url_env else "") + ", or pass --base-url"
            why = f"{reason} (it comes with the project); {instead}"
            self._add(("providers", name, option), shown, reason, why)
        return kept

    def trust_list(self, entries: list[str]) -> None:
        why = f"{REASON_USER_ONLY} (a project cannot trust itself); put it in {self.user_note}"
        self._add((TRUST_KEY,), ", ".join(entries), REASON_USER_ONLY, why)

    def allow_rules(self, rules: list[str]) -> None:
        why = f"{REASON_UNTRUSTED}; {self.settings.how_to_trust()}"
        for rule in rules:
            self._add(("permissions", "allow"), rule, REASON_UNTRUSTED, why)


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
    return _read_config(Path(path))[0]


def _read_config(file: Path) -> tuple[dict[str, Any], str]:
    """The validated contents of ``file``, and its text (to find the line of a key)."""
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
    return validate_config(data, file, text), text


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
    for index, entry in enumerate(result.get(TRUST_KEY) or []):
        if not Path(entry).expanduser().is_absolute():
            line = find_key_line(text, (TRUST_KEY,)) if text else None
            where = f"{file}:{line}" if line else str(file)
            raise ConfigError(
                f"{where}: {TRUST_KEY}[{index}]: {entry!r} is not an absolute path",
                hint=f'write the full path, for example {TRUST_KEY} = ["~/code/my-project"]',
            )
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
        return [*SCALAR_DEFAULTS, "providers", "permissions", TRUST_KEY]
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
        trusted_workspaces: list[str] | None = None

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
