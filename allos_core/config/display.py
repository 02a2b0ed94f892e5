"""How setting values are shown: secrets masked, long strings cut, TOML strings quoted."""

from __future__ import annotations

import re
from typing import Any

#: names of values never printed (``token`` but not ``max_tokens``, a count)
_SECRET = re.compile(r"key|token(?!s)|secret|passw", re.I)


def is_secret(key: str) -> bool:
    """Whether a setting's value must never be printed (api keys, tokens, secrets)."""
    return bool(_SECRET.search(key.rsplit(".", 1)[-1]))


def mask(value: Any) -> str:
    """What ``config show`` prints instead of a secret."""
    return "****" if value else "(empty)"


def show_value(key: str, value: Any) -> str:
    """``value`` of the setting ``key`` as one short line (secrets masked)."""
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


def toml_string(text: str) -> str:
    """``text`` as a double-quoted TOML string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
