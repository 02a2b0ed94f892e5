"""What Allos knows about Gemini models without asking the network.

Model ids are matched by prefix, longest first, so versions and previews
(``gemini-2.5-flash-preview-09-2025``, ``gemini-2.5-flash-001``) share one entry with their
family. A ``models/`` prefix (as the API lists them) is ignored. Figures are the input token
limits from Google's model pages (ai.google.dev/gemini-api/docs/models).
"""

from __future__ import annotations

#: the model used when none is configured: the current Flash, the SDK documentation's example
DEFAULT_MODEL = "gemini-3.8-flash"

_M1 = 1_048_576
_M2 = 2_097_152

#: model-id prefix -> context window (input token limit)
CONTEXT_WINDOWS: dict[str, int] = {
    "gemini-3": _M1,
    "gemini-2.5": _M1,
    "gemini-2.0-flash": _M1,
    "gemini-2.0-pro": _M2,
    "gemini-1.5-pro": _M2,
    "gemini-1.5-flash": _M1,
    "gemini-flash-latest": _M1,
    "gemini-flash-lite-latest": _M1,
    "gemini-pro-latest": _M1,
    "gemini-exp": _M1,
    "gemma-3n": 32_768,
    "gemma-3": 131_072,
}


def context_window(model: str) -> int | None:
    """The context window of ``model`` in tokens, or None when the model is unknown."""
    name = model.strip().lower().removeprefix("models/")
    for prefix in sorted(CONTEXT_WINDOWS, key=len, reverse=True):
        if name.startswith(prefix):
            return CONTEXT_WINDOWS[prefix]
    return None
