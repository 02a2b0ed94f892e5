"""What is known offline about OpenAI models: context windows and token counts.

The table is matched by prefix, longest first, so ``gpt-4.1-mini-2025-04-14`` finds ``gpt-4.1``.
Model families newer than this table fall back to their family's smallest known window (an
underestimate makes the agent compact a little early, never overflow). Names from routers such
as OpenRouter (``openai/gpt-4o``) are looked up without the ``openai/`` prefix.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from allos_core.providers import ToolSchema, estimate_tokens

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message

#: model-name prefix -> context window in tokens
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-5.5": 1_050_000,
    "gpt-5.4-mini": 400_000,
    "gpt-5.4-nano": 400_000,
    "gpt-5.4": 1_050_000,
    "gpt-5.3-chat": 128_000,
    "gpt-5.2-chat": 128_000,
    "gpt-5.1-chat": 128_000,
    "gpt-5-chat": 128_000,
    "gpt-5": 400_000,  # gpt-5, -mini, -nano, -codex, 5.1, 5.2 and later 5.x
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "chatgpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o4-mini": 200_000,
    "o3": 200_000,
    "o1-mini": 128_000,
    "o1-preview": 128_000,
    "o1": 200_000,
    "codex-mini": 200_000,
}
_BY_LENGTH = sorted(CONTEXT_WINDOWS, key=len, reverse=True)


def _bare(model: str) -> str:
    model = model.strip().lower()
    return model.split("/", 1)[1] if model.startswith("openai/") else model


def context_window_for(model: str) -> int | None:
    """The context window of ``model`` in tokens, or None when the table does not know it."""
    name = _bare(model)
    for prefix in _BY_LENGTH:
        if name.startswith(prefix):
            return CONTEXT_WINDOWS[prefix]
    return None


def is_openai_model(model: str) -> bool:
    """Whether ``model`` names an OpenAI model (so OpenAI's tokenizers apply)."""
    return context_window_for(model) is not None


def _encoding_name(model: str) -> str:
    name = _bare(model)
    if name.startswith(("gpt-4-", "gpt-3.5")) or name == "gpt-4":
        return "cl100k_base"
    return "o200k_base"


#: where tiktoken fetches each encoding (its cache file is named by the SHA-1 of the URL)
_ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


@functools.lru_cache(maxsize=4)
def _tiktoken_encoding(name: str) -> Any:
    """The tiktoken encoding ``name`` if tiktoken is installed and has it cached, else None.

    tiktoken downloads its encoding files on first use; counting tokens must stay offline, so the
    encoding is loaded only when its file is already in tiktoken's cache.
    """
    if not _encoding_cached(name):
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding(name)
    except Exception:  # not installed, or any failure: fall back to the estimate
        return None


def _encoding_cached(name: str) -> bool:
    """Whether tiktoken's cache holds encoding ``name`` (same cache rules as tiktoken)."""
    url = _ENCODING_URLS.get(name)
    if url is None:
        return False
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        import tempfile  # imported on use: loading the plugin must stay cheap

        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:  # caching disabled: tiktoken would download every time
        return False
    import hashlib

    return os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


def count_tokens(model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> int:
    """The best offline token count: tiktoken for OpenAI models when usable, else an estimate."""
    encoding = _tiktoken_encoding(_encoding_name(model)) if is_openai_model(model) else None
    if encoding is None:
        return estimate_tokens(messages, tools)
    import json

    total = 3  # every reply is primed with <|start|>assistant<|message|>
    for message in messages:
        total += 3  # role and message delimiters
        for part in message.parts:
            if part.type == "text":
                total += len(encoding.encode(part.text, disallowed_special=()))
            elif part.type == "tool_call":
                arguments = part.raw_arguments or json.dumps(part.arguments)
                total += 3 + len(encoding.encode(part.name + arguments, disallowed_special=()))
            elif part.type == "tool_result":
                total += 3 + len(encoding.encode(part.content, disallowed_special=()))
                total += 1600 * len(part.images)
            elif part.type == "image":
                total += 1600
    for schema in tools or ():
        text = schema.name + schema.description + json.dumps(schema.parameters)
        total += 8 + len(encoding.encode(text, disallowed_special=()))
    return total
