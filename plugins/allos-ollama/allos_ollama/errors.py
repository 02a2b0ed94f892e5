"""Translation of ``ollama`` SDK and transport failures into Allos errors that say what to do.

The SDK's ``ResponseError`` carries the status code and the server's message but not the response
headers, so ``Retry-After`` is captured separately: the provider's HTTP client has a response
hook (:func:`remember_retry_after`) that writes the header of an error response into a box held
in a context variable, which :func:`capture_retry_after` opens around each attempt. The hook runs
in the task that made the request, so concurrent requests never see each other's headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from allos_core import errors
from allos_core.providers import error_for_status, parse_retry_after

PROVIDER = "ollama"
SERVE_HINT = "start the server with `ollama serve` (or set OLLAMA_HOST / base_url to where it runs)"

_RETRY_AFTER: ContextVar[dict[str, float | None] | None] = ContextVar(
    "allos_ollama_retry_after", default=None
)


async def remember_retry_after(response: Any) -> None:
    """httpx response hook: keep the ``Retry-After`` of an error response for the retry loop."""
    box = _RETRY_AFTER.get()
    if box is not None and response.status_code >= 400:
        box["retry_after"] = parse_retry_after(response.headers.get("retry-after"))


@contextmanager
def capture_retry_after() -> Iterator[dict[str, float | None]]:
    """A box that receives the ``Retry-After`` of error responses received inside the block."""
    box: dict[str, float | None] = {}
    token = _RETRY_AFTER.set(box)
    try:
        yield box
    finally:
        _RETRY_AFTER.reset(token)


def translate(
    exc: BaseException,
    *,
    host: str,
    model: str,
    timeout: float,
    retry_after: float | None = None,
) -> Exception:
    """The Allos error for ``exc`` (an SDK, httpx or validation failure).

    The result carries ``retry_after`` (seconds or None) for
    :func:`allos_core.providers.call_with_retries`.
    """
    error = _translate(exc, host=host, model=model, timeout=timeout)
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error


def _translate(exc: BaseException, *, host: str, model: str, timeout: float) -> Exception:
    if isinstance(exc, errors.AllosError):
        return exc
    import httpx
    import ollama

    if isinstance(exc, ollama.ResponseError):
        return _from_response_error(exc, host=host, model=model)
    if isinstance(exc, httpx.TimeoutException):
        return errors.ProviderTimeoutError(
            f"ollama at {host} did not answer within {timeout:g} s",
            hint="try again, or raise timeout (a large model can take a while to load)",
            provider=PROVIDER,
        )
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        return errors.ProviderConnectionError(
            f"could not connect to the Ollama server at {host}",
            hint=SERVE_HINT,
            provider=PROVIDER,
        )
    if isinstance(exc, httpx.TransportError):
        return errors.ProviderConnectionError(
            f"the connection to the Ollama server at {host} failed: {exc}",
            hint="try again; if it persists, check the server's log",
            provider=PROVIDER,
        )
    return errors.ProviderError(
        f"unexpected answer from the Ollama server at {host}: {type(exc).__name__}: {exc}",
        hint="check that base_url / OLLAMA_HOST points at an Ollama server",
        provider=PROVIDER,
    )


def _from_response_error(exc: Any, *, host: str, model: str) -> Exception:
    status = exc.status_code if exc.status_code and exc.status_code > 0 else None
    detail = str(exc.error or "")
    lowered = detail.lower()
    if status == 404 and "model" not in lowered:
        return errors.ProviderError(
            f"{host} answered 404 for Ollama's API ({detail or 'not found'})",
            hint="base_url / OLLAMA_HOST must be the server root, e.g. http://localhost:11434 "
            "(without /v1 or /api)",
            provider=PROVIDER,
            status_code=404,
        )
    if status == 404 or (status is None and "not found" in lowered and "model" in lowered):
        return errors.ModelNotFoundError(
            f"the Ollama server at {host} does not have the model {model!r}: {detail}",
            hint=f"download it with `ollama pull {model}`, or pick an installed one (`ollama list`)",
            provider=PROVIDER,
            status_code=404,
        )
    error = error_for_status(PROVIDER, status, detail, model=model, base_url=host)
    if status is None:
        # an error line in the middle of a stream: the server gave up on this request
        error = errors.ProviderError(
            f"the Ollama server at {host} failed while answering: {detail}",
            hint="check the server's log (the output of `ollama serve`)",
            provider=PROVIDER,
        )
    elif "does not support tools" in lowered:
        error.hint = (
            f"{model} cannot call tools: pick a model with tool support "
            "(https://ollama.com/search?c=tools), e.g. `ollama pull qwen3`"
        )
    elif isinstance(error, errors.RateLimitError):
        error.hint = "the server is busy; wait a moment and try again, or raise max_retries"
    elif isinstance(error, errors.ProviderServerError):
        error.hint = (
            "check the server's log (the output of `ollama serve`); the model may need more "
            "memory than is free, or the server may be overloaded (try again)"
        )
    return error


def is_retryable(exc: BaseException) -> bool:
    """Whether trying again may help: 429, 5xx, timeouts and connection failures."""
    return isinstance(exc, errors.ProviderError) and exc.retryable
