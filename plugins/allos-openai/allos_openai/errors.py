"""Translate ``openai`` SDK exceptions into Allos errors that say what to do.

The SDK has already retried what is worth retrying (429, 408, 409, 5xx, connection failures and
timeouts, with exponential back-off that honours ``Retry-After``) by the time an exception gets
here, so these errors are final. No message ever contains the API key.
"""

from __future__ import annotations

import re
from typing import Any

from allos_core import errors
from allos_core.providers import error_for_status
from allos_openai.urls import display_url

PROVIDER = "openai"
API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"

_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9*_\-]{4,}")
_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length_context"}


def redact(text: str, api_key: str | None) -> str:
    """``text`` with the key, and anything shaped like an OpenAI key, blanked out."""
    if api_key and len(api_key) >= 4:
        text = text.replace(api_key, "***")
    return _KEY_LIKE.sub("sk-***", text)


def _detail(exc: Any) -> tuple[str, str | None]:
    """The server's own error message and code, from an OpenAI-style (or any) error body."""
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, dict):
            message = message.get("message")
    elif isinstance(body, str):
        message = body
    if not isinstance(message, str) or not message.strip():
        message = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "code", None)
    return " ".join(message.split())[:500], code


def translate_error(
    exc: BaseException,
    *,
    model: str,
    base_url: str,
    api_key: str | None,
    key_is_placeholder: bool = False,
    timeout: float | None = None,
    max_retries: int | None = None,
) -> BaseException:
    """The Allos error for an exception from the ``openai`` SDK (others are returned unchanged)."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return errors.ProviderTimeoutError(
            f"{PROVIDER} did not answer within {timeout:g} s at {_url(exc, base_url)}"
            if timeout
            else f"{PROVIDER} timed out at {_url(exc, base_url)}",
            hint="try again, or raise the timeout option",
            provider=PROVIDER,
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = f": {redact(str(cause), api_key)}" if cause and str(cause) else ""
        return errors.ProviderConnectionError(
            f"could not connect to {PROVIDER} at {_url(exc, base_url)}{reason}",
            hint=f"check that the server is running and the base URL is right "
            f"(base_url option or {BASE_URL_ENV})",
            provider=PROVIDER,
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, model, base_url, api_key, key_is_placeholder, max_retries)
    if isinstance(exc, openai.APIError):  # an error event in the middle of a stream
        detail, _ = _detail(exc)
        return errors.ProviderError(
            f"{PROVIDER} reported an error while answering: {redact(detail, api_key)}",
            hint="try again; if it persists, the request may be one the model cannot handle",
            provider=PROVIDER,
        )
    if isinstance(exc, openai.OpenAIError):
        return errors.ProviderError(f"{PROVIDER}: {redact(str(exc), api_key)}", provider=PROVIDER)
    return exc


def _url(exc: Any, base_url: str) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return display_url(str(url)) if url is not None else base_url


def _status_error(
    exc: Any,
    model: str,
    base_url: str,
    api_key: str | None,
    key_is_placeholder: bool,
    max_retries: int | None,
) -> BaseException:
    status = exc.status_code
    detail, code = _detail(exc)
    detail = redact(detail, api_key)
    if code in _CONTEXT_CODES:
        return errors.ContextLengthError(
            f"the conversation is too long for {model}: {detail}",
            hint="compact the session (/compact) or start a new one",
            provider=PROVIDER,
            status_code=status,
        )
    error = error_for_status(
        PROVIDER, status, detail, model=model, api_key_env=API_KEY_ENV, base_url=base_url
    )
    if isinstance(error, errors.AuthenticationError) and key_is_placeholder:
        error.hint = f"this server wants an API key: set {API_KEY_ENV} or the api_key option"
    elif isinstance(error, errors.AuthenticationError):
        error.hint = (
            f"check the key in {API_KEY_ENV} (or the api_key option); "
            "keys are at https://platform.openai.com/api-keys"
            if status == 401
            else f"the key in {API_KEY_ENV} has no access to {model!r} or this endpoint"
        )
    elif code == "insufficient_quota":
        error = errors.RateLimitError(
            f"{PROVIDER}: the account is out of quota (HTTP {status}): {detail}",
            hint="check your plan and billing at https://platform.openai.com/account/billing",
            provider=PROVIDER,
            status_code=status,
        )
    elif isinstance(error, errors.RateLimitError | errors.ProviderServerError) and max_retries:
        error.message = f"{error.message} (after {max_retries} retries)"
        error.args = (error.message,)
    return error
