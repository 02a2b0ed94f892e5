"""allos-echo: an example provider plugin (the module its entry point names)."""

from __future__ import annotations

from typing import Any

from allos_core import hookimpl


@hookimpl
def allos_providers() -> list[Any]:
    """The provider classes this plugin offers (imported here, so discovery stays cheap)."""
    from allos_echo.provider import EchoProvider

    return [EchoProvider]
