"""Exit codes and the one place that turns exceptions into clear messages.

Exit codes: 0 answered; 1 error; 2 usage error (bad option, unknown provider or tool, invalid
configuration, a plugin name conflict, a failed plugin under strict loading); 3 iteration, usage or
cost limit reached; 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_LIMIT = 3
EXIT_INTERRUPTED = 130

_BY_STOP_REASON = {
    "answered": EXIT_OK,
    "iteration_limit": EXIT_LIMIT,
    "usage_limit": EXIT_LIMIT,
    "cost_limit": EXIT_LIMIT,
    "output_invalid": EXIT_ERROR,
    "interrupted": EXIT_INTERRUPTED,
    "error": EXIT_ERROR,
}


def exit_code_for(stop_reason: str) -> int:
    """The exit code of a run that stopped for ``stop_reason``."""
    return _BY_STOP_REASON.get(stop_reason, EXIT_ERROR)


def is_usage_error(exc: BaseException) -> bool:
    """Errors in how allos was invoked or configured: exit code 2."""
    from allos_core.errors import ConfigError, UnknownProviderError, UnknownToolError

    return isinstance(exc, (ConfigError, UnknownProviderError, UnknownToolError))


@contextmanager
def handle_errors(verbose: bool = False) -> Iterator[None]:
    """Print an error as one or two lines (a traceback only when ``verbose``) and exit.

    click's own exceptions (usage errors, ``ctx.exit``) pass through unchanged.
    """
    from allos_core.cli.ui import print_error
    from allos_core.errors import AllosError

    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:
        print_error("interrupted")
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except AllosError as exc:
        if verbose:
            _print_traceback()
        print_error(str(exc), exc.hint)
        raise click.exceptions.Exit(EXIT_USAGE if is_usage_error(exc) else EXIT_ERROR) from None
    except Exception as exc:
        if verbose:
            _print_traceback()
        print_error(
            f"unexpected {type(exc).__name__}: {exc}",
            None if verbose else "run again with -v to see the traceback, and please report it",
        )
        raise click.exceptions.Exit(EXIT_ERROR) from None


def _print_traceback() -> None:
    import traceback

    traceback.print_exc(file=sys.stderr)
