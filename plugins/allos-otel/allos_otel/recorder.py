"""Events to spans and metrics, following the OpenTelemetry GenAI semantic conventions.

One :class:`Recorder` serves every agent in the process; the state of each run is kept per
agent (its tool context), so concurrent runs (``allos batch``) get separate traces.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

#: the opt-in for message contents (the GenAI conventions' variable)
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: the longest text attribute recorded (contents are opt-in and capped)
MAX_CONTENT = 8_000


@dataclass
class _Run:
    span: Any
    provider: str
    model: str
    model_span: Any = None
    model_started: float = 0.0
    tools: dict[str, tuple[Any, float]] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)


class _Off:
    """Telemetry is not configured: every event is ignored at once."""

    def record(self, event: Any, context: Any = None) -> None:
        return None


class Recorder:
    """Builds spans and metrics from agent events."""

    def __init__(self, tracer_provider: Any, meter_provider: Any, *, capture_content: bool):
        from allos_otel import __version__

        self.tracer_provider = tracer_provider
        self.tracer = tracer_provider.get_tracer("allos", __version__)
        meter = meter_provider.get_meter("allos", __version__)
        self.capture_content = capture_content
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per request"
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
        )
        self.tool_calls = meter.create_counter(
            "allos.tool.calls", unit="{call}", description="Tool calls by tool and decision"
        )
        self.runs: dict[int, _Run] = {}

    @classmethod
    def from_environment(cls, context: Any = None) -> Recorder | _Off:
        """A recorder on the configured providers, or one that ignores everything."""
        from allos_otel.setup import providers

        found = providers()
        if found is None:
            return _Off()
        settings = getattr(context, "settings", {}) or {}
        opt_in = (settings.get("otel") or {}).get("capture_content") is True
        opt_in = opt_in or os.environ.get(CAPTURE_ENV, "").strip().lower() == "true"
        return cls(*found, capture_content=opt_in)

    # -- dispatch ----------------------------------------------------------------------------------
    def record(self, event: Any, context: Any = None) -> None:
        handler = _HANDLERS.get(getattr(event, "type", ""))
        if handler is not None:
            handler(self, event, id(context))

    # -- handlers ----------------------------------------------------------------------------------
    def _run_started(self, event: Any, key: int) -> None:
        span = self.tracer.start_span(
            "invoke_agent allos",
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "allos",
                "gen_ai.provider.name": event.provider,
                "gen_ai.request.model": event.model or "",
            },
        )
        if self.capture_content and event.task:
            span.set_attribute("allos.task", _cap(event.task))
        self.runs[key] = _Run(span, event.provider, event.model or "")

    def _model_request(self, event: Any, key: int) -> None:
        run = self.runs.get(key)
        if run is None:
            return
        run.model_span = self.tracer.start_span(
            f"chat {run.model}",
            context=self._inside(run.span),
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": run.provider,
                "gen_ai.request.model": run.model,
                "allos.iteration": event.iteration,
            },
        )
        run.model_started = time.monotonic()

    def _assistant_message(self, event: Any, key: int) -> None:
        run = self.runs.get(key)
        if run is None or run.model_span is None:
            return
        span, message = run.model_span, event.message
        model = message.model or run.model
        span.set_attribute("gen_ai.response.model", model)
        usage = message.usage
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": run.provider,
            "gen_ai.request.model": run.model,
            "gen_ai.response.model": model,
        }
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens)):
                self.token_usage.record(count, {**attributes, "gen_ai.token.type": kind})
            cost = getattr(usage, "cost", None)
            if isinstance(cost, (int, float)):
                span.set_attribute("allos.cost_usd", float(cost))
        if message.tool_calls:
            span.set_attribute("gen_ai.response.finish_reasons", ["tool_calls"])
        if self.capture_content:
            output = {"role": "assistant", "text": message.text,
                      "tool_calls": [{"name": c.name, "arguments": c.arguments}
                                     for c in message.tool_calls]}  # fmt: skip
            span.set_attribute("gen_ai.output.messages", _cap(json.dumps(output, default=str)))
        self.duration.record(time.monotonic() - run.model_started, attributes)
        span.end()
        run.model_span = None

    def _tool_call(self, event: Any, key: int) -> None:
        run = self.runs.get(key)
        if run is None:
            return
        call = event.call
        span = self.tracer.start_span(
            f"execute_tool {call.name}",
            context=self._inside(run.span),
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": call.name,
                "gen_ai.tool.call.id": call.id,
            },
        )
        if self.capture_content:
            span.set_attribute(
                "gen_ai.tool.call.arguments", _cap(json.dumps(call.arguments, default=str))
            )
        run.tools[call.id] = (span, time.monotonic())

    def _permission(self, event: Any, key: int) -> None:
        run = self.runs.get(key)
        if run is None:
            return
        decision = event.decision
        run.decisions[event.call.id] = decision.decision
        entry = run.tools.get(event.call.id)
        if entry is not None:
            entry[0].set_attribute("allos.permission.decision", decision.decision)
            if decision.reason:
                entry[0].set_attribute("allos.permission.reason", _cap(decision.reason, 500))

    def _tool_result(self, event: Any, key: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        run = self.runs.get(key)
        if run is None:
            return
        entry = run.tools.pop(event.call.id, None)
        if entry is None:
            return
        span, started = entry
        decision = run.decisions.pop(event.call.id, "allow")
        if event.result.is_error:
            span.set_attribute("error.type", "denied" if decision == "deny" else "tool_error")
            span.set_status(Status(StatusCode.ERROR, _cap(event.result.content, 300)))
        if self.capture_content:
            span.set_attribute("gen_ai.tool.call.result", _cap(event.result.content))
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": event.call.name}
        self.duration.record(time.monotonic() - started, attributes)
        self.tool_calls.add(
            1, {"gen_ai.tool.name": event.call.name, "allos.permission.decision": decision}
        )
        span.end()

    def _stop(self, event: Any, key: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        run = self.runs.pop(key, None)
        if run is None:
            return
        failed = event.reason == "error"
        for span in [run.model_span, *(entry[0] for entry in run.tools.values())]:
            if span is not None:
                if failed:
                    span.set_status(Status(StatusCode.ERROR, _cap(event.error or "", 300)))
                span.end()
        span = run.span
        span.set_attribute("allos.stop_reason", event.reason)
        span.set_attribute("allos.iterations", event.iterations)
        if event.usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", event.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", event.usage.output_tokens)
        if failed:
            span.set_attribute("error.type", "run_error")
            span.set_status(Status(StatusCode.ERROR, _cap(event.error or "", 300)))
        span.end()
        flush = getattr(self.tracer_provider, "force_flush", None)
        if flush is not None:  # a CLI run ends right after: don't lose the batch
            flush()

    @staticmethod
    def _inside(span: Any) -> Any:
        from opentelemetry import trace

        return trace.set_span_in_context(span)


_HANDLERS = {
    "run_started": Recorder._run_started,
    "model_request": Recorder._model_request,
    "assistant_message": Recorder._assistant_message,
    "tool_call": Recorder._tool_call,
    "permission": Recorder._permission,
    "tool_result": Recorder._tool_result,
    "stop": Recorder._stop,
}


def _cap(text: str, limit: int = MAX_CONTENT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
