"""A real agent run traced into the SDK's in-memory exporter: the expected span tree."""

from __future__ import annotations

import allos_otel
import pytest
from allos_otel.recorder import Recorder
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from allos_core import Agent
from allos_core.permissions import PermissionRules
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider


@pytest.fixture
def telemetry():
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])

    def install(capture_content: bool = False) -> None:
        recorder = Recorder(tracer_provider, meter_provider, capture_content=capture_content)
        allos_otel.reset(recorder)

    yield exporter, reader, install
    allos_otel.reset(None)


def _agent(tmp_path, turns, **kwargs) -> Agent:
    import allos_fs

    (tmp_path / "README.md").write_text("hello\n")
    manager = create_plugin_manager([allos_fs, allos_otel])
    return Agent(
        ScriptedProvider(turns), tools=["read_file", "write_file"], workspace=tmp_path,
        plugin_manager=manager, **kwargs,
    )  # fmt: skip


TURNS = [
    {"tool_calls": [{"name": "read_file", "arguments": {"path": "README.md"}},
                    {"name": "write_file", "arguments": {"path": "x.txt", "content": "x"}}],
     "usage": {"input_tokens": 100, "output_tokens": 10}},
    {"text": "The README says hello.", "usage": {"input_tokens": 150, "output_tokens": 7}},
]  # fmt: skip


def test_a_run_becomes_an_agent_span_with_model_and_tool_spans_inside(tmp_path, telemetry):
    exporter, reader, install = telemetry
    install()
    rules = PermissionRules.from_lists(deny=["write_file(*)"])
    result = _agent(tmp_path, TURNS, permissions=rules).run("what does the README say?")
    assert result.stop_reason == "answered"
    spans = {span.name: span for span in exporter.get_finished_spans()}
    names = sorted(span.name for span in exporter.get_finished_spans())
    assert names == sorted(
        ["invoke_agent allos", "chat scripted", "chat scripted", "execute_tool read_file",
         "execute_tool write_file"]
    )  # fmt: skip
    root = spans["invoke_agent allos"]
    assert root.parent is None
    assert all(s.parent.span_id == root.context.span_id for s in exporter.get_finished_spans()
               if s is not root)  # fmt: skip
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat scripted"]
    assert [c.attributes["gen_ai.usage.input_tokens"] for c in chats] == [100, 150]
    assert chats[0].attributes["gen_ai.provider.name"] == "scripted"
    read = spans["execute_tool read_file"]
    assert read.attributes["gen_ai.tool.name"] == "read_file"
    assert read.attributes["allos.permission.decision"] == "allow"
    denied = spans["execute_tool write_file"]
    assert denied.attributes["allos.permission.decision"] == "deny"
    assert denied.attributes["error.type"] == "denied"
    assert denied.status.status_code == StatusCode.ERROR
    assert root.attributes["allos.stop_reason"] == "answered"
    assert root.attributes["gen_ai.usage.output_tokens"] == 17
    # contents are not recorded unless asked for
    assert not any(
        "gen_ai.tool.call.arguments" in s.attributes for s in exporter.get_finished_spans()
    )
    assert "allos.task" not in root.attributes


def test_token_and_tool_metrics(tmp_path, telemetry):
    exporter, reader, install = telemetry
    install()
    _agent(tmp_path, TURNS).run("go")
    metrics = {
        m.name: m
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    tokens = metrics["gen_ai.client.token.usage"].data.data_points
    by_type = {p.attributes["gen_ai.token.type"]: p.sum for p in tokens}
    assert by_type == {"input": 250, "output": 17}
    calls = metrics["allos.tool.calls"].data.data_points
    assert sum(p.value for p in calls) == 2
    assert "gen_ai.client.operation.duration" in metrics


def test_contents_only_when_opted_in(tmp_path, telemetry):
    exporter, reader, install = telemetry
    install(capture_content=True)
    _agent(tmp_path, TURNS).run("what does the README say?")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["invoke_agent allos"].attributes["allos.task"] == "what does the README say?"
    assert "README.md" in spans["execute_tool read_file"].attributes["gen_ai.tool.call.arguments"]
    assert "hello" in spans["execute_tool read_file"].attributes["gen_ai.tool.call.result"]


def test_a_failed_run_marks_the_spans_as_errors(tmp_path, telemetry):
    exporter, reader, install = telemetry
    install()
    result = _agent(tmp_path, []).run("go")  # the script has no turn: the provider fails
    assert result.stop_reason == "error"
    [root] = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent allos"]
    assert root.status.status_code == StatusCode.ERROR
    assert root.attributes["error.type"] == "run_error"


def test_nothing_is_recorded_or_imported_without_configuration(monkeypatch):
    from allos_otel.setup import telemetry_enabled

    assert not telemetry_enabled({})
    assert not telemetry_enabled({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"})
    assert telemetry_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})


def test_importing_the_plugin_does_not_import_opentelemetry():
    import subprocess
    import sys

    code = "import allos_otel, sys; print(any(m.startswith('opentelemetry') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_real_allos_run_is_traced(tmp_path, telemetry):
    # given the plugin installed (found through its entry point, as for a user) and a run
    from cli_support import call, invoke, write_script

    exporter, reader, install = telemetry
    install()
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("hi\n")
    script = write_script(
        tmp_path, [{"tool_calls": [call("read_file", path="notes.txt")]}, "It says hi."]
    )
    result = invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(work), "what is in notes?",
        env={"ALLOS_CONFIG_FILE": str(tmp_path / "none.toml")},
    )  # fmt: skip
    # then the trace has the run, both model requests and the tool call, nested
    assert result.exit_code == 0, result.stderr
    spans = exporter.get_finished_spans()
    kinds = sorted(s.name.split(" ")[0] for s in spans)  # "chat MODEL": the model is the script
    assert kinds == ["chat", "chat", "execute_tool", "invoke_agent"]
    assert "execute_tool read_file" in {s.name for s in spans}
    [root] = [s for s in spans if s.parent is None]
    assert all(s.parent.span_id == root.context.span_id for s in spans if s is not root)


def test_a_run_without_telemetry_configured_never_imports_opentelemetry(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from allos_core import Agent; from allos_core.testing import ScriptedProvider;"
        f"Agent(ScriptedProvider(['hi']), tools=[], workspace={str(tmp_path)!r}).run('x');"
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
