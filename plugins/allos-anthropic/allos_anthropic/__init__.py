"""allos-anthropic: the Allos provider ``anthropic`` (Claude models, official ``anthropic`` SDK).

Importing this module is cheap: the SDK is imported only when a provider makes its first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allos_core.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.providers import Provider

__version__ = "0.1.0"


@hookimpl
def allos_providers() -> list[type[Provider]]:
    """Offer :class:`~allos_anthropic.provider.AnthropicProvider` as ``anthropic``."""
    from allos_anthropic.provider import AnthropicProvider

    return [AnthropicProvider]
