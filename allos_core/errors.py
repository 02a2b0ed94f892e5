"""The Allos error hierarchy.

Every error a user can meet carries a message that says what happened and, in ``hint``, what to do
about it. The CLI prints ``str(error)`` and the hint; embedders can catch by class.
"""

from __future__ import annotations


class AllosError(Exception):
    """Base class of every error Allos raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(AllosError):
    """A configuration file, option or environment variable is invalid."""


class PluginError(AllosError):
    """A plugin failed to load, or two plugins registered the same name."""


class UnknownProviderError(AllosError):
    """No installed plugin offers the requested provider."""


class UnknownToolError(AllosError):
    """No installed plugin offers the requested tool."""


class ProviderError(AllosError):
    """A model provider failed. ``retryable`` tells whether trying again may help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        provider: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status_code = status_code


class AuthenticationError(ProviderError):
    """The API key is missing or was rejected (401/403)."""


class ModelNotFoundError(ProviderError):
    """The provider does not know the requested model."""


class ProviderConnectionError(ProviderError):
    """The provider's server could not be reached."""

    retryable = True


class RateLimitError(ProviderError):
    """The provider answered 429 (or Anthropic's 529 overloaded) after every retry."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """The request took longer than the configured timeout."""

    retryable = True


class ProviderServerError(ProviderError):
    """The provider answered with a 5xx error."""

    retryable = True


class ContextLengthError(ProviderError):
    """The conversation is longer than the model's context window."""


class BadRequestError(ProviderError):
    """The provider rejected the request as invalid (400/422)."""


class ToolArgumentsError(AllosError):
    """A tool call's arguments failed validation."""


class SessionError(AllosError):
    """A session file is missing, corrupt, or written by a newer Allos."""


class BatchTaskError(ConfigError):
    """A batch tasks file has malformed lines (each problem names its line)."""

    def __init__(self, message: str, *, hint: str | None = None, problems: list[str] | None = None):
        super().__init__(message, hint=hint)
        #: one ``FILE:LINE: what is wrong`` entry per problem
        self.problems = list(problems or [])


class BatchError(AllosError):
    """A batch could not run: its results file, a workspace copy or its backend failed."""
