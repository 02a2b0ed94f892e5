"""allos-openai: the ``openai`` provider for Allos (OpenAI and any OpenAI-compatible server).

Importing this module is cheap: it registers the provider class lazily and never imports the
``openai`` SDK, which is loaded only when a provider is built and makes its first request.
"""

from __future__ import annotations

from typing import Any

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def allos_providers() -> list[Any]:
    """Offer :class:`~allos_openai.provider.OpenAIProvider` as provider ``openai``."""
    from allos_openai.provider import OpenAIProvider

    return [OpenAIProvider]
