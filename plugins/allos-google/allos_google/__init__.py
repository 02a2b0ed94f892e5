"""allos-google: the Allos provider ``google`` (Gemini models, official ``google-genai`` SDK).

Importing this module is cheap: the SDK is imported only when a provider is constructed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allos_core.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.providers import Provider

__version__ = "0.1.0"


@hookimpl
def allos_providers() -> list[type[Provider]]:
    """Offer :class:`~allos_google.provider.GoogleProvider` as ``google``."""
    from allos_google.provider import GoogleProvider

    return [GoogleProvider]
