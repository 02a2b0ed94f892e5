"""Reading one config file: TOML, checked against the schema, errors naming file, line and key.

The schema is a pydantic model built on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from allos_core.config.keys import (
    PLUGIN_CHOICE_TABLES,
    PLUGINS_KEY,
    RULE_KINDS,
    SCALAR_DEFAULTS,
    TRUST_KEY,
)
from allos_core.config.lines import find_key_line
from allos_core.errors import ConfigError


def check_rule(rule: str, where: str) -> None:
    """Raise :class:`ConfigError` (prefixed with ``where``) when ``rule`` is not a valid rule."""
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
    return read_config_text(Path(path))[0]


def read_config_text(file: Path) -> tuple[dict[str, Any], str]:
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

    data, sections = split_plugin_sections(data)
    try:
        model = _file_model().model_validate(data)
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
    if model.prices is not None:
        result["prices"] = {
            name: price.model_dump(exclude_none=True) for name, price in model.prices.items()
        }
    if sections:
        result["sections"] = sections
    for kind, rules in (result.get("permissions") or {}).items():
        for index, rule in enumerate(rules):
            try:
                check_rule(rule, f"permissions.{kind}[{index}]")
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


def split_plugin_sections(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` without its plugin sections, and the plugin sections.

    A plugin section is a top-level table whose name is not a core key (``[sandbox]``,
    ``[mcp.servers.time]``, ``[web]``): it belongs to whichever plugin reads it, through
    :attr:`allos_core.tools.ToolContext.settings` or ``Settings.section(NAME)``, and that plugin
    checks its values. An unknown top-level *value* (``max_iteration = 3``) is still an error.
    """
    core_keys = set(_file_model().model_fields)
    core: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key not in core_keys and isinstance(value, Mapping):
            sections[key] = dict(value)
        else:
            core[key] = value
    return core, sections


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
        return [*SCALAR_DEFAULTS, "providers", "permissions", PLUGINS_KEY, TRUST_KEY, "prices"]
    if parent == ("permissions",):
        return list(RULE_KINDS)
    if parent == (PLUGINS_KEY,):
        return ["strict", *PLUGIN_CHOICE_TABLES]
    return []


def _value_hint(loc: tuple[Any, ...]) -> str:
    key = str(loc[0]) if loc else ""
    if key in ("max_iterations", "max_total_tokens"):
        return f"{key} is a positive whole number, for example {key} = 50"
    if key == "max_cost":
        return "max_cost is a number of US dollars, for example max_cost = 2.5"
    if key == "prices":
        return 'for example [prices."my-model"] input_per_mtok = 0.5, output_per_mtok = 1.5'
    if key == "permissions":
        return 'rules are lists of strings, for example allow = ["shell_exec(git status*)"]'
    if key == PLUGINS_KEY:
        return 'for example [plugins] strict = true, [plugins.tools] read_file = "allos-fs"'
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

    class ModelPrices(BaseModel):
        """A user-set price in dollars per million tokens (see allos_core.pricing)."""

        model_config = ConfigDict(extra="forbid", strict=True)
        input_per_mtok: float = Field(ge=0)
        output_per_mtok: float = Field(ge=0)
        cache_read_per_mtok: float | None = Field(None, ge=0)
        cache_write_per_mtok: float | None = Field(None, ge=0)

    class Plugins(BaseModel):
        """``[plugins]``: strict loading, and who gets a name offered by several plugins."""

        model_config = ConfigDict(extra="forbid", strict=True)
        strict: bool | None = None
        tools: dict[str, str] = Field(default_factory=dict)
        providers: dict[str, str] = Field(default_factory=dict)
        commands: dict[str, str] = Field(default_factory=dict)

    class ConfigFile(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        provider: str | None = None
        model: str | None = None
        max_iterations: int | None = Field(None, gt=0)
        max_total_tokens: int | None = Field(None, gt=0)
        system_prompt: str | None = None
        append_system_prompt: str | None = None
        stream: bool | None = None
        git_commit: bool | None = None
        providers: dict[str, ProviderOptions] = Field(default_factory=dict)
        permissions: Permissions | None = None
        plugins: Plugins | None = None
        trusted_workspaces: list[str] | None = None
        max_cost: float | None = Field(None, gt=0)
        prices: dict[str, ModelPrices] | None = None

    _FILE_MODEL = ConfigFile
    return ConfigFile
