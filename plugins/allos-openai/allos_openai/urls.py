"""Small URL helpers: is a base URL OpenAI itself, and how to show a URL safely."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def is_openai_host(url: str) -> bool:
    """Whether ``url`` points at OpenAI itself (which always needs a key)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


def display_url(url: str | None) -> str:
    """``url`` without user info, query or fragment: safe to print."""
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6
        netloc = f"[{netloc}]"
    if port:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
