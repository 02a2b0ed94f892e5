"""A value of a settings file left out, and why (see :mod:`allos_core.config.workspace_policy`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: reasons of :class:`IgnoredSetting`, as ``config show`` prints them
REASON_SECRET = "a workspace file may not set secrets"
REASON_ENDPOINT = "a workspace file may not set endpoints"
REASON_UNTRUSTED = "the workspace is not trusted"
REASON_UNTRUSTED_SECTION = "plugin settings from a workspace file need a trusted workspace"
REASON_USER_ONLY = "only the user file can trust workspaces"
REASON_BUDGET = "an untrusted workspace may only lower the budget"
REASON_PRICES = "prices from a workspace file need a trusted workspace"
REASON_UNTRUSTED_CHOICE = (
    "an untrusted workspace file may not choose the provider, the model, the system prompt or "
    "commits to your branch"
)
REASON_UNTRUSTED_LIMIT = "an untrusted workspace file may not raise the limits"


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
        """The fields as plain data (the file as a string)."""
        return {
            "key": self.key,
            "value": self.value,
            "file": str(self.file),
            "line": self.line,
            "reason": self.reason,
            "message": self.message,
        }
