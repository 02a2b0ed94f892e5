"""``--schema``: a JSON schema given inline, as a file, or in ``llm``'s concise form.

The concise form lists fields, separated by commas, or by newlines when there is a newline (so
a description may then contain commas)::

    name, age int, bio: a short biography

Each field is ``NAME [TYPE][: DESCRIPTION]``; TYPE is ``str`` (the default), ``int``, ``float``
or ``bool``. Every field is required. The result is an object schema::

    {"type": "object",
     "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                    "bio": {"type": "string", "description": "a short biography"}},
     "required": ["name", "age", "bio"]}
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from allos_core.errors import ConfigError

__all__ = ["TYPES", "parse_concise", "schema_from_argument"]

#: concise type names and their JSON schema types
TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_FIELD = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\s+(?P<type>[A-Za-z]+))?$")
_HINT = "write fields as 'name, age int, bio: a short biography' (types: str, int, float, bool)"


def parse_concise(text: str) -> dict[str, Any]:
    """The object schema of a concise field list; :class:`ConfigError` when it is not one."""
    separator = "\n" if "\n" in text else ","
    properties: dict[str, Any] = {}
    for raw in text.split(separator):
        item = raw.strip()
        if not item:
            continue
        head, colon, description = item.partition(":")
        match = _FIELD.match(head.strip())
        if match is None:
            raise ConfigError(f"--schema: {head.strip()!r} is not a field name", hint=_HINT)
        name, kind = match.group("name"), match.group("type") or "str"
        if kind not in TYPES:
            raise ConfigError(f"--schema: unknown type {kind!r} for {name!r}", hint=_HINT)
        if name in properties:
            raise ConfigError(f"--schema: the field {name!r} is given twice", hint=_HINT)
        prop: dict[str, Any] = {"type": TYPES[kind]}
        if colon and description.strip():
            prop["description"] = description.strip()
        properties[name] = prop
    if not properties:
        raise ConfigError("--schema is empty", hint=_HINT)
    return {"type": "object", "properties": properties, "required": list(properties)}


def schema_from_argument(value: str) -> dict[str, Any]:
    """The JSON schema ``--schema VALUE`` means: inline JSON, a JSON file, or the concise form."""
    text = value.strip()
    if text.startswith("{"):
        return _json_object(text, "--schema")
    if not any(c in text for c in ",:\n") and (path := Path(text).expanduser()).is_file():
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"--schema: cannot read {path}: {exc}", hint="pass a readable JSON file"
            ) from None
        return _json_object(content, f"--schema {path}")
    if text.endswith(".json"):
        raise ConfigError(f"--schema: no such file {text}", hint="check the path of the schema")
    return parse_concise(value)


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: not valid JSON ({exc})", hint="give a JSON schema object, or " + _HINT
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a JSON schema must be an object", hint=_HINT)
    return data
