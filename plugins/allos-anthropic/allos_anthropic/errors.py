"""``anthropic`` SDK exceptions -> Allos errors that say what to do.

The SDK has already retried what is worth retrying (429, 529 overloaded, 5xx, connection
errors, honouring ``Retry-After``) by the time an exception reaches this module.
"""

from __future__ import annotations

import re
from typing import Any

from allos_core import errors
from allos_core.providers import error_for_status

PROVIDER = "anthropic"
API_KEY_ENV = "ANTHROPIC_API_KEY"

#: Anthropic error ``type`` -> HTTP status, for errors that arrive inside a 200 stream
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_CONTEXT_TOO_LONG = re.compile(
    r"prompt is too long|input is too long|too many (input )?tokens|context window|context length",
    re.IGNORECASE,
)


def missing_key_error() -> errors.AuthenticationError:
    """The error for a provider used without any API key."""
    return errors.MissingKeyError(
        f"no API key for anthropic: set {API_KEY_ENV}",
        hint=f"export {API_KEY_ENV}=... (an Anthropic API key) or pass api_key",
        provider=PROVIDER,
    )


def _detail(exc: Any, secret: str | None) -> str:
    message = getattr(exc, "api_message", None)
    if not message:
        body = getattr(exc, "body", None)
        if isinstance(body, dict):
            inner = body.get("error")
            message = inner.get("message") if isinstance(inner, dict) else None
        message = message or (body if isinstance(body, str) else "") or ""
    message = str(message)
    if secret:
        message = message.replace(secret, "[redacted]")
    return message[:500]


def translate_error(
    exc: BaseException,
    *,
    model: str,
    base_url: str | None,
    timeout: float,
    secret: str | None = None,
) -> BaseException:
    """The Allos error for an ``anthropic`` SDK exception (other exceptions are returned as is).

    ``secret`` (the API key) is scrubbed from any text the server echoed back.
    """
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return errors.ProviderTimeoutError(
            f"anthropic at {base_url} did not answer within {timeout:g} s",
            hint="try again, or raise the timeout (--timeout / timeout option)",
            provider=PROVIDER,
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        why = f": {type(cause).__name__}: {cause}" if cause else ""
        return errors.ProviderConnectionError(
            f"cannot connect to anthropic at {base_url}{why}",
            hint="check your network, or ANTHROPIC_BASE_URL if you set one",
            provider=PROVIDER,
        )
    if isinstance(exc, anthropic.APIStatusError):
        status: int | None = exc.status_code
        error_type = getattr(exc, "type", None)
        if (status is None or status < 400) and error_type in ERROR_TYPE_STATUS:
            status = ERROR_TYPE_STATUS[error_type]  # an error event inside a stream
        detail = _detail(exc, secret)
        if status in (400, 413) and _CONTEXT_TOO_LONG.search(detail):
            return errors.ContextLengthError(
                f"the conversation is too long for {model}: {detail}",
                hint="compact the session (/compact) or start a new one",
                provider=PROVIDER,
                status_code=status,
            )
        return error_for_status(
            PROVIDER,
            status,
            detail,
            model=model,
            api_key_env=API_KEY_ENV,
            base_url=base_url,
        )
    if isinstance(exc, anthropic.APIResponseValidationError):  # pragma: no cover - strict mode only
        return errors.ProviderError(
            f"anthropic sent an answer Allos could not read: {exc}", provider=PROVIDER
        )
    return exc
