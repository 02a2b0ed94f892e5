"""Provider keys stored in the user's ``.env`` (``allos keys set|list|rm``).

The file is the user config folder's ``.env`` (next to ``config.toml``), which
:mod:`allos_core.dotenv_keys` reads on every run: a key stored here is used unless the
environment sets one (the environment wins). The file is created with mode 0600, rewritten
atomically, and its other lines are kept as they are. Keys are never printed: ``list`` says
whether each is set and where from.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from allos_core.errors import ConfigError

#: provider -> the variable its key is stored under
KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google": "GEMINI_API_KEY",
}
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


@dataclass(frozen=True)
class KeyStatus:
    """Whether a provider's key is set, and where from (``env VAR``, ``file PATH``, ``config``)."""

    provider: str
    variable: str
    source: str | None

    @property
    def is_set(self) -> bool:
        return self.source is not None


def user_env_file(config_file: Path | None = None) -> Path:
    """The user's ``.env``: next to the user config file."""
    from allos_core.config import user_config_path

    return (config_file or user_config_path()).parent / ".env"


def key_variable(provider: str) -> str:
    """The variable ``provider``'s key is stored under; a clear error for other names."""
    variable = KEY_VARIABLES.get(provider)
    if variable is None:
        known = ", ".join(sorted(KEY_VARIABLES))
        raise ConfigError(
            f"no key to store for provider {provider!r}",
            hint=f"keys are stored for {known} (ollama needs none)",
        )
    return variable


def set_key(provider: str, key: str, path: Path | None = None) -> Path:
    """Store ``key`` for ``provider`` in the user's ``.env`` (mode 0600); returns the file."""
    variable = key_variable(provider)
    key = key.strip()
    if not key or any(c in key for c in "\r\n\x00") or len(key) > 4096:
        raise ConfigError(
            "that key is empty or has line breaks", hint="paste the key alone, on one line"
        )
    path = path or user_env_file()
    lines = [line for line in _lines(path) if _name(line) != variable]
    quoted = key.replace("\\", "\\\\").replace("'", "\\'")
    lines.append(f"{variable}='{quoted}'")
    _write(path, lines)
    return path


def remove_key(provider: str, path: Path | None = None) -> bool:
    """Remove ``provider``'s key from the user's ``.env``; whether there was one."""
    variable = key_variable(provider)
    path = path or user_env_file()
    lines = _lines(path)
    kept = [line for line in lines if _name(line) != variable]
    if len(kept) == len(lines):
        return False
    _write(path, kept)
    return True


def key_statuses(
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
    configured: Mapping[str, Mapping[str, object]] | None = None,
) -> list[KeyStatus]:
    """Each provider's key: set in the environment (it wins), in the ``.env``, in a config file."""
    environ = os.environ if environ is None else environ
    path = path or user_env_file()
    stored = _read(path)
    statuses = []
    for provider, variable in KEY_VARIABLES.items():
        names = [variable, *(["GOOGLE_API_KEY"] if provider == "google" else [])]
        source = None
        for name in names:
            if environ.get(name):
                source = f"env {name}"
                break
        if source is None:
            if any(stored.get(name) for name in names):
                source = f"file {path}"
            elif (configured or {}).get(provider, {}).get("api_key"):
                source = "config file"
        statuses.append(KeyStatus(provider, variable, source))
    return statuses


def _read(path: Path) -> dict[str, str]:
    """The variables of the ``.env`` at ``path`` (python-dotenv's parser, no expansion)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {name: value for name, value in values.items() if value}


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _name(line: str) -> str | None:
    match = _ASSIGNMENT.match(line)
    return match.group(1) if match else None


def _write(path: Path, lines: list[str]) -> None:
    from allos_core.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    atomic_write(path, data, mode=stat.S_IRUSR | stat.S_IWUSR, create_mode=0o600)
