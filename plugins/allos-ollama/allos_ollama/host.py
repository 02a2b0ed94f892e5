"""Where the Ollama server is: ``base_url`` option, else ``OLLAMA_HOST``, else localhost:11434."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

DEFAULT_HOST = "http://localhost:11434"
DEFAULT_PORT = 11434
HOST_ENV = "OLLAMA_HOST"


def resolve_host(base_url: str | None = None) -> str:
    """The server URL to use, normalised to ``scheme://host:port[/path]``.

    ``OLLAMA_HOST`` is accepted in every form the ``ollama`` command accepts: ``0.0.0.0:11434``,
    ``example.com`` (port 11434), ``:8080`` (localhost), ``https://example.com`` (port 443).
    ``0.0.0.0`` (the address a server listens on, not one to connect to) becomes ``localhost``.
    Raises :class:`~allos_core.errors.ConfigError` for a value that is not a URL.
    """
    value = (base_url or os.environ.get(HOST_ENV) or "").strip()
    if not value:
        return DEFAULT_HOST
    explicit_scheme = "://" in value
    if not explicit_scheme:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        from allos_core.errors import ConfigError

        where = "base_url" if base_url else HOST_ENV
        raise ConfigError(
            f"the Ollama server address {value!r} (from {where}) is not a valid URL: {exc}",
            hint="use a value like http://localhost:11434 or 192.168.1.10:11434",
        ) from None
    scheme = parts.scheme or "http"
    host = parts.hostname or "localhost"
    if host in ("0.0.0.0", "::"):
        host = "localhost"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None:
        port = DEFAULT_PORT if not explicit_scheme else (443 if scheme == "https" else 80)
    path = parts.path.rstrip("/")
    return f"{scheme}://{host}:{port}{path}"
