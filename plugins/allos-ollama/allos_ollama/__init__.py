"""allos-ollama: the Allos provider ``ollama`` for local models served by Ollama.

Importing this module is cheap: it does not import the ``ollama`` SDK. The SDK is imported when an
:class:`~allos_ollama.provider.OllamaProvider` is built (or its status is checked).
"""

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def allos_providers():
    """Offer the ``ollama`` provider."""
    from allos_ollama.provider import OllamaProvider

    return [OllamaProvider]
