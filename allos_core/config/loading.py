"""Loading the settings: each layer read, checked and merged once, in order.

Defaults, the user file, the workspace's trust, the workspace file (restricted by
:mod:`allos_core.config.workspace_policy`), the environment, the command-line flags and, with
:func:`resolve_settings`, provider keys from ``.env`` files (:mod:`allos_core.config.dotenv_keys`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from allos_core.config.files import check_rule, read_config_file, read_config_text
from allos_core.config.settings import Settings
from allos_core.config.workspace_policy import restrict_workspace_config, workspace_trust
from allos_core.errors import ConfigError

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_VARS",
    "WORKSPACE_FILE",
    "load_settings",
    "resolve_settings",
    "user_config_path",
    "workspace_config_path",
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


def resolve_settings(
    workspace: str | os.PathLike[str] | None = None,
    *,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    user_file: Path | None = None,
    trust_workspace: bool = False,
) -> Settings:
    """Every layer in one pass: :func:`load_settings`, then provider keys from the ``.env``
    files (the user's, and the workspace's when it is trusted; the environment still wins).

    What the CLI and the library build agents from: resolved once, then read-only (see
    :meth:`Settings.frozen`).
    """
    from allos_core.config.dotenv_keys import apply_dotenv

    settings = load_settings(
        workspace,
        flags=flags,
        environ=environ,
        user_file=user_file,
        trust_workspace=trust_workspace,
    )
    apply_dotenv(settings, environ)
    return settings.frozen()


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
