"""Where telemetry goes: the application's providers, or the standard OTEL_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def telemetry_enabled(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for telemetry (an exporter or an endpoint is named)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    keys = (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
    )
    return any(environ.get(key, "").strip() not in ("", "none") for key in keys)


def providers(environ: Mapping[str, str] | None = None) -> tuple[Any, Any] | None:
    """The tracer and meter providers to use, or None when telemetry is off.

    An application that set global providers keeps them; otherwise they are built from the
    standard variables: ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` ``otlp`` (the
    default when an OTLP endpoint is set) or ``console``.
    """
    import sys

    environ = os.environ if environ is None else environ
    if "opentelemetry.trace" not in sys.modules and not telemetry_enabled(environ):
        return None  # no application set providers up, and no variable asks: nothing to import
    from opentelemetry import metrics, trace

    tracer_provider = trace.get_tracer_provider()
    meter_provider = metrics.get_meter_provider()
    app_configured = not _is_proxy(tracer_provider)
    if app_configured:
        return tracer_provider, meter_provider
    if not telemetry_enabled(environ):
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", "allos")})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(environ)))
    readers = []
    metric_exporter = _metric_exporter(environ)
    if metric_exporter is not None:
        readers.append(PeriodicExportingMetricReader(metric_exporter))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def _is_proxy(provider: Any) -> bool:
    return type(provider).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider")


def _span_exporter(environ: Mapping[str, str]) -> Any:
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout: from the OTEL_* variables


def _metric_exporter(environ: Mapping[str, str]) -> Any:
    kind = environ.get("OTEL_METRICS_EXPORTER", "otlp").strip().lower()
    if kind == "none":
        return None
    if kind == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()
