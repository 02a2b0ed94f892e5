"""What Allos knows about Claude models without asking the network.

Model ids are matched by prefix, longest first, so dated snapshots (``claude-sonnet-4-5-20250929``)
and aliases (``claude-sonnet-4-5``) share one entry. Figures come from Anthropic's model overview
pages (platform.claude.com/docs/en/about-claude/models).
"""

from __future__ import annotations

#: the model used when none is configured: the current Sonnet, Anthropic's everyday tier
DEFAULT_MODEL = "claude-sonnet-5-5"

#: max_tokens sent when neither the request nor the provider sets one (the API requires it)
DEFAULT_MAX_TOKENS = 8192

_M = 1_000_000
_K200 = 200_000

#: model-id prefix -> context window in tokens
CONTEXT_WINDOWS: dict[str, int] = {
    # Claude 5 generation (Mythos class, Opus, Sonnet, Haiku): 1M tokens
    "claude-fable-5": _M,
    "claude-mythos-5": _M,
    "claude-mythos-preview": _M,
    "claude-opus-5": _M,
    "claude-sonnet-5": _M,
    "claude-haiku-5": _M,
    # later Claude 4 models: 1M tokens
    "claude-opus-4-8": _M,
    "claude-opus-4-7": _M,
    "claude-opus-4-6": _M,
    "claude-sonnet-4-6": _M,
    # earlier Claude 4 models: 200k tokens
    "claude-opus-4-5": _K200,
    "claude-opus-4-1": _K200,
    "claude-opus-4": _K200,
    "claude-sonnet-4-5": _K200,
    "claude-sonnet-4": _K200,
    "claude-haiku-4-5": _K200,
    "claude-4": _K200,
    # Claude 3 family
    "claude-3-7-sonnet": _K200,
    "claude-3-5-sonnet": _K200,
    "claude-3-5-haiku": _K200,
    "claude-3-opus": _K200,
    "claude-3-sonnet": _K200,
    "claude-3-haiku": _K200,
}

#: model-id prefix -> default max_tokens, where the model allows less than DEFAULT_MAX_TOKENS
_SMALL_OUTPUT: dict[str, int] = {
    "claude-3-opus": 4096,
    "claude-3-sonnet": 4096,
    "claude-3-haiku": 4096,
}

#: models with the newer tokenizer (Claude Opus 4.7 and later): the same text is ~30% more tokens
_NEWER_TOKENIZER = (
    "claude-fable-5",
    "claude-mythos",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-haiku-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
)


def _lookup(table: dict[str, int], model: str) -> int | None:
    name = model.strip().lower()
    for prefix in sorted(table, key=len, reverse=True):
        if name.startswith(prefix):
            return table[prefix]
    return None


def context_window(model: str) -> int | None:
    """The context window of ``model`` in tokens, or None when the model is unknown."""
    return _lookup(CONTEXT_WINDOWS, model)


def default_max_tokens(model: str) -> int:
    """The ``max_tokens`` to send for ``model`` when the user set none."""
    return _lookup(_SMALL_OUTPUT, model) or DEFAULT_MAX_TOKENS


def tokenizer_factor(model: str) -> float:
    """How many more tokens than the generic estimate ``model``'s tokenizer produces."""
    name = model.strip().lower()
    return 1.3 if name.startswith(_NEWER_TOKENIZER) else 1.0
