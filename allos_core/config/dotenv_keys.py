"""Provider keys from ``.env`` files: yours always, a project's only when you trust it.

Two files are read, with python-dotenv's parser (nothing is exported to ``os.environ``):

1. ``.env`` in the user config folder (next to ``config.toml``, or to ``$ALLOS_CONFIG_FILE``);
2. ``.env`` at the root of the workspace, **only when the workspace is trusted** — a cloned
   repository's ``.env`` could otherwise point your key at its own server (``OPENAI_BASE_URL``),
   or swap in its key to read what you send.

From them Allos takes the first-party providers' variables (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``, ``GEMINI_API_KEY``,
``GOOGLE_API_KEY``, ``GOOGLE_GEMINI_BASE_URL``, ``OLLAMA_HOST``) as that provider's
``api_key`` / ``base_url`` options, and nothing else (a project's ``.env`` is mostly its own
application's settings). The environment still wins: a variable that is set, or another one
that configures the same thing (``GOOGLE_API_KEY`` for ``GEMINI_API_KEY``, Vertex AI, an
``ANTHROPIC_AUTH_TOKEN``), is never overridden; so does an option set in a config file. The project's file wins over yours. An untrusted workspace's ``.env`` that would
have supplied a variable is reported, so a missing key is not a mystery.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from allos_core.config.display import mask, show_value
from allos_core.config.ignored import IgnoredSetting
from allos_core.config.workspace_policy import PROVIDER_ENV

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.config.settings import Settings

ENV_FILE = ".env"
REASON_UNTRUSTED_DOTENV = "a workspace .env is read only in a trusted workspace"
#: more variables a .env may supply: (provider, option)
EXTRA_VARIABLES = {"GOOGLE_API_KEY": ("google", "api_key")}
#: exported variables that already configure an option in another way (the environment wins)
ALTERNATIVES: dict[tuple[str, str], tuple[str, ...]] = {
    ("google", "api_key"): ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI"),
    ("anthropic", "api_key"): ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
}


def provider_variables(
    providers: Mapping[str, tuple[str | None, str | None]] = PROVIDER_ENV,
) -> dict[str, tuple[str, str]]:
    """Variable name -> ``(provider, option)`` for the variables a ``.env`` may supply."""
    variables: dict[str, tuple[str, str]] = {}
    for name, (key_env, url_env) in providers.items():
        if key_env:
            variables[key_env] = (name, "api_key")
        if url_env:
            variables[url_env] = (name, "base_url")
    for variable, target in EXTRA_VARIABLES.items():
        if target[0] in providers:
            variables.setdefault(variable, target)
    return variables


def _exported(variable: str, target: tuple[str, str], environ: Mapping[str, str]) -> bool:
    """Whether the environment already sets ``variable``, or its option in another way."""
    names = (variable, *ALTERNATIVES.get(target, ()))
    return any(environ.get(name) for name in names)


def read_dotenv(path: Path) -> dict[str, str]:
    """The variables of ``path`` (no ``${VAR}`` expansion); empty when there is no such file."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {name: value for name, value in values.items() if value}


def dotenv_paths(settings: Settings) -> tuple[Path | None, Path | None]:
    """The user's ``.env`` and the workspace's (either None when there is no such place)."""
    user = settings.user_file.parent / ENV_FILE if settings.user_file else None
    workspace = settings.workspace / ENV_FILE if settings.workspace else None
    if user is not None and workspace is not None and _same(user, workspace):
        workspace = None
    return user, workspace


def apply_dotenv(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Fill provider options in ``settings`` from the ``.env`` files (see the module docstring)."""
    environ = os.environ if environ is None else environ
    variables = provider_variables()
    user, workspace = dotenv_paths(settings)
    for path in (user, workspace if settings.workspace_trusted else None):
        if path is None:
            continue
        for variable, value in read_dotenv(path).items():
            target = variables.get(variable)
            if target is None or _exported(variable, target, environ):
                continue
            name, option = target
            key = f"providers.{name}.{option}"
            table = settings.providers.setdefault(name, {})
            if option in table and not settings.source(key).startswith(".env"):
                continue  # a config file's value wins, as it wins over the environment
            table[option] = value
            settings.sources[key] = f".env {path} ({variable})"
    if workspace is not None and not settings.workspace_trusted:
        _report_untrusted(settings, workspace, variables, environ)


def _report_untrusted(
    settings: Settings,
    path: Path,
    variables: Mapping[str, tuple[str, str]],
    environ: Mapping[str, str],
) -> None:
    values = read_dotenv(path)
    for variable, value in values.items():
        if variable not in variables or _exported(variable, variables[variable], environ):
            continue
        name, option = variables[variable]
        if option in settings.providers.get(name, {}):
            continue  # set by you anyway: nothing is lost
        line = _line_of(path, variable)
        shown = mask(value) if option == "api_key" else show_value(option, value)
        where = f"{path}:{line}" if line else str(path)
        message = (
            f"{where}: ignored {variable}: {REASON_UNTRUSTED_DOTENV} (it could send your "
            f"requests elsewhere); {settings.how_to_trust()}, or set {variable} yourself"
        )
        settings.ignored.append(
            IgnoredSetting(variable, shown, path, line, REASON_UNTRUSTED_DOTENV, message)
        )


def _line_of(path: Path, variable: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, start=1):
        text = line.strip().removeprefix("export ").lstrip()
        if text.startswith(f"{variable}=") or text.startswith(f"{variable} ="):
            return number
    return None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
