"""``google-genai`` SDK and transport failures -> Allos errors that say what to do.

Google's errors carry a JSON body ``{"error": {"code", "message", "status", "details"}}``; a 429
names how long to wait either in a ``Retry-After`` header or in a ``google.rpc.RetryInfo``
detail (``"retryDelay": "37s"``). The SDK is told not to retry (its back-off ignores both), so
the provider retries here through :func:`allos_core.providers.call_with_retries`.
"""

from __future__ import annotations

import re
from typing import Any

from allos_core import errors
from allos_core.providers import error_for_status, parse_retry_after

PROVIDER = "google"
#: the key variables, in the order the SDK reads them
API_KEY_ENVS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
#: the variable named in messages and hints (Google's documented one)
API_KEY_ENV = "GEMINI_API_KEY"
BASE_URL_ENV = "GOOGLE_GEMINI_BASE_URL"

_CONTEXT_TOO_LONG = re.compile(
    r"input token count.*exceeds|exceeds the maximum number of tokens|too many tokens|"
    r"context (window|length)",
    re.IGNORECASE,
)
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def missing_key_error() -> errors.AuthenticationError:
    """The error for the Gemini API used without any API key."""
    return errors.AuthenticationError(
        f"no API key for google: set {API_KEY_ENV} (or GOOGLE_API_KEY)",
        hint=f"export {API_KEY_ENV}=... (a key from https://aistudio.google.com/apikey), "
        "pass api_key, or use Vertex AI with vertexai = true, project and location",
        provider=PROVIDER,
    )


def vertex_setup_error(exc: BaseException) -> errors.AuthenticationError:
    """Vertex AI asked for but not usable (no project, no Application Default Credentials)."""
    return errors.AuthenticationError(
        f"cannot use Vertex AI: {exc}",
        hint="set project and location (or GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION) and "
        "log in with `gcloud auth application-default login`",
        provider=PROVIDER,
    )


def _body(exc: Any) -> dict[str, Any]:
    details = getattr(exc, "details", None)
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if isinstance(details, dict):
        inner = details.get("error")
        return inner if isinstance(inner, dict) else details
    return {}


def _detail(exc: Any, secret: str | None) -> str:
    message = str(getattr(exc, "message", None) or _body(exc).get("message") or "")
    if secret:
        message = message.replace(secret, "[redacted]")
    return message[:500]


def retry_after(exc: Any) -> float | None:
    """Seconds the server asked to wait: ``Retry-After``, else a ``RetryInfo`` detail."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        try:
            delay = parse_retry_after(headers.get("retry-after"))
        except Exception:  # a response object of another kind
            delay = None
        if delay is not None:
            return delay
    for item in _body(exc).get("details") or ():
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = _DELAY.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def translate_error(
    exc: BaseException,
    *,
    model: str,
    base_url: str,
    timeout: float,
    secret: str | None = None,
) -> BaseException:
    """The Allos error for an SDK or transport exception (others are returned as they are).

    The result carries ``retry_after`` (seconds or None) for the retry loop. ``secret`` (the
    API key) is scrubbed from any text the server echoed back.
    """
    error = _translate(exc, model=model, base_url=base_url, timeout=timeout, secret=secret)
    if isinstance(error, errors.ProviderError):
        error.retry_after = retry_after(exc)  # type: ignore[attr-defined]
    return error


def _translate(
    exc: BaseException, *, model: str, base_url: str, timeout: float, secret: str | None
) -> BaseException:
    if isinstance(exc, errors.AllosError):
        return exc
    from google.genai import errors as genai_errors

    if isinstance(exc, genai_errors.APIError):
        return _from_api_error(exc, model=model, base_url=base_url, secret=secret)
    transport = _transport_kind(exc)
    if transport == "timeout":
        return errors.ProviderTimeoutError(
            f"google at {base_url} did not answer within {timeout:g} s",
            hint="try again, or raise the timeout (--timeout / timeout option)",
            provider=PROVIDER,
        )
    if transport == "connect":
        cause = exc.__cause__ or exc.__context__
        why = f": {type(exc).__name__}: {exc or cause}"
        return errors.ProviderConnectionError(
            f"cannot connect to google at {base_url}{why}",
            hint=f"check your network, or {BASE_URL_ENV} / base_url if you set one",
            provider=PROVIDER,
        )
    if isinstance(exc, genai_errors.UnknownApiResponseError):
        return errors.ProviderError(
            f"google at {base_url} sent an answer Allos could not read: {exc}"[:600],
            hint=f"check that base_url / {BASE_URL_ENV} points at the Gemini API",
            provider=PROVIDER,
        )
    return exc


def _transport_kind(exc: BaseException) -> str | None:
    """``timeout`` / ``connect`` for httpx (or httpx2) transport failures, else None."""
    import httpx

    families = [httpx]
    try:
        import httpx2

        families.append(httpx2)
    except ImportError:
        pass
    for family in families:
        if isinstance(exc, family.TimeoutException):
            return "timeout"
        if isinstance(exc, family.TransportError):
            return "connect"
    if isinstance(exc, ConnectionError):
        return "connect"
    return None


def _from_api_error(exc: Any, *, model: str, base_url: str, secret: str | None) -> Exception:
    status = exc.code if isinstance(exc.code, int) and exc.code > 0 else None
    detail = _detail(exc, secret)
    state = str(getattr(exc, "status", None) or "")
    if status == 400 and (state == "INVALID_ARGUMENT" or not state) and "API key" in detail:
        status = 401  # the Gemini API answers 400 API_KEY_INVALID for a wrong key
    if status == 400 and _CONTEXT_TOO_LONG.search(detail):
        return errors.ContextLengthError(
            f"the conversation is too long for {model}: {detail}",
            hint="compact the session (/compact) or start a new one",
            provider=PROVIDER,
            status_code=400,
        )
    error = error_for_status(
        PROVIDER,
        status,
        detail,
        model=model,
        api_key_env=API_KEY_ENV,
        base_url=base_url,
    )
    if isinstance(error, errors.ModelNotFoundError):
        error.hint = "check the model name (-m/--model, e.g. gemini-2.5-flash) and the base URL"
    elif isinstance(error, errors.RateLimitError) and state == "RESOURCE_EXHAUSTED":
        error.hint = "wait a moment and try again, raise max_retries, or check your Gemini quota"
    return error


def is_retryable(exc: BaseException) -> bool:
    """Whether trying again may help: 429, 5xx, timeouts and connection failures."""
    return isinstance(exc, errors.ProviderError) and exc.retryable
