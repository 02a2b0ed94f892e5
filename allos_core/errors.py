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


class PluginConflictError(PluginError, ConfigError):
    """A provider, tool or command name is offered by two plugins and the user has not picked one
    (``[plugins.tools] NAME = "DISTRIBUTION"``), or a first-party name is offered by a stranger."""


class PluginLoadError(PluginError, ConfigError):
    """A plugin failed to load while loading is strict (``[plugins] strict = true`` or
    ``ALLOS_STRICT_PLUGINS=1``)."""


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


class MissingKeyError(AuthenticationError, ConfigError):
    """No API key is configured for the provider: a configuration error (CLI exit code 2).

    Raised when a provider is built, before anything is sent; the hint names the variable to set.
    """


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


class ToolSourceError(AllosError):
    """A tool source (an MCP server, ...) failed to start, or stopped working during a run."""


class BatchTaskError(ConfigError):
    """A batch tasks file has malformed lines (each problem names its line)."""

    def __init__(self, message: str, *, hint: str | None = None, problems: list[str] | None = None):
        super().__init__(message, hint=hint)
        #: one ``FILE:LINE: what is wrong`` entry per problem
        self.problems = list(problems or [])


class BatchError(AllosError):
    """A batch could not run: its results file, a workspace copy or its backend failed."""
