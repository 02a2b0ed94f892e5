"""allos-otel: OpenTelemetry traces and metrics of Allos runs.

Implements ``allos_on_event``: each run becomes an ``invoke_agent`` span, each model request a
``chat MODEL`` span inside it, each tool call an ``execute_tool NAME`` span, with the GenAI
semantic conventions' attributes (model, provider, tokens, tool name and call id, the permission
decision, errors), and the token-usage and duration histograms. Where they go is what the
standard OpenTelemetry environment variables say (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_TRACES_EXPORTER=console``, ``OTEL_SDK_DISABLED``), or the tracer and meter providers an
application set up itself. Message contents are recorded only when the user opts in
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` or ``[otel] capture_content = true``).

Importing this module is cheap: OpenTelemetry loads on the first event, and only when telemetry
is configured.
"""

from __future__ import annotations

from typing import Any

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"

_recorder: Any = None


@hookimpl
def allos_on_event(event: Any, context: Any) -> None:
    """Turn the event into spans and metrics (see :mod:`allos_otel.recorder`)."""
    global _recorder
    if _recorder is None:
        from allos_otel.recorder import Recorder

        _recorder = Recorder.from_environment(context)
    _recorder.record(event, context)


def reset(recorder: Any = None) -> None:
    """Use ``recorder`` (None: read the environment again on the next event). For tests."""
    global _recorder
    _recorder = recorder
