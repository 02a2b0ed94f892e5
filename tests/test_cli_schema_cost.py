"""`allos run --schema`, `--max-cost`, and cost in the usage line, `--json` and `sessions show`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import call, invoke, run_allos, subprocess_env, write_script

from allos_core.messages import Usage
from allos_core.sessions import Session


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "README.md").write_text("# Demo\n", encoding="utf-8")
    return folder


@pytest.fixture
def priced(workspace):
    """$1 / $10 per million tokens for the script (its path is the scripted model's name)."""
    model = workspace.parent / "script.json"
    prices = f'[prices."{model}"]\ninput_per_mtok = 1\noutput_per_mtok = 10\n'
    Path(os.environ["ALLOS_CONFIG_FILE"]).write_text(prices, encoding="utf-8")


def scripted(workspace: Path, turns: list, *args: str) -> list[str]:
    script = write_script(workspace.parent, turns)
    return ["run", "-p", "scripted", "-m", str(script), "--workspace", str(workspace), *args]


def turn(text="ok", calls=None, output_tokens=100):
    spec = {"text": text, "usage": {"input_tokens": 1000, "output_tokens": output_tokens}}
    if calls:
        spec["tool_calls"] = calls
    return spec


# -- --schema ------------------------------------------------------------------------------------


def test_schema_stdout_is_exactly_the_json_value(workspace):
    turns = [
        {"text": "Reading.", "tool_calls": [call("read_file", path="README.md")]},
        'Here: {"name": "Demo", "stars": 3}',  # not JSON: sent back with the errors
        '{"name": "Demo", "stars": 3}',
    ]
    result = invoke(*scripted(workspace, turns, "--schema", "name, stars int: how many"), "go")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "Demo", "stars": 3}
    assert result.stdout.count("\n") == 1
    assert "Reading." in result.stderr


def test_schema_answer_through_the_final_answer_tool(workspace):
    turns = [{"tool_calls": [{"name": "final_result", "arguments": {"name": "Demo", "stars": 3}}]}]
    result = invoke(*scripted(workspace, turns, "--schema", "name\nstars int"), "go")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "Demo", "stars": 3}


def test_schema_from_a_json_file_and_inline(workspace, tmp_path):
    schema = {"type": "array", "items": {"type": "integer"}}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    for argument in (str(path), json.dumps(schema)):
        result = invoke(*scripted(workspace, ['{"result": [1, 2]}'], "--schema", argument), "go")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == [1, 2]


def test_schema_with_json_lines_carries_the_value_in_the_stop_event(workspace):
    result = invoke(*scripted(workspace, ['{"name": "x"}'], "--schema", "name", "--json"), "go")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "stop"
    assert events[-1]["extra"]["output"] == {"name": "x"}


def test_answer_that_never_matches_exits_1_with_nothing_on_stdout(workspace):
    turns = ["nope", "still nope", "no", "never"]
    result = invoke(*scripted(workspace, turns, "--schema", "name"), "go")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "did not match the output type after 4 attempts" in result.stderr


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("name, age integer", "unknown type 'integer'"),
        ("{not json", "not valid JSON"),
        ('{"type": "objekt"}', "not a valid JSON schema"),
        ("missing.json", "no such file"),
    ],
)
def test_bad_schema_is_a_usage_error_on_one_line(workspace, schema, message):
    result = invoke(*scripted(workspace, ["x"], "--schema", schema), "go")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_output_pipes_through_json_loads(tmp_path, workspace):
    script = write_script(tmp_path, ['{"title": "Demo", "tags": ["a", "b"]}'])
    env = subprocess_env(tmp_path)
    schema = json.dumps(
        {
            "type": "object",
            "properties": {"title": {"type": "string"}, "tags": {"type": "array"}},
            "required": ["title", "tags"],
        }
    )
    done = run_allos(
        "run", "-p", "scripted", "-m", str(script), "--schema", schema, "describe",
        env=env, cwd=workspace,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"title": "Demo", "tags": ["a", "b"]}


# -- cost ----------------------------------------------------------------------------------------


def test_usage_line_shows_the_cost(workspace, priced):
    result = invoke(*scripted(workspace, [turn()]), "go")
    assert result.exit_code == 0
    assert "$0.0020" in result.stderr


def test_json_events_carry_the_cost(workspace, priced):
    result = invoke(*scripted(workspace, [turn()], "--json"), "go")
    stop = json.loads(result.stdout.splitlines()[-1])
    assert stop["usage"]["cost"] == pytest.approx(0.002)


def test_max_cost_exits_3_and_saves_the_session(workspace, priced, tmp_path):
    session = tmp_path / "s.json"
    turns = [turn(calls=[call("read_file", path="README.md")], output_tokens=1000), turn()]
    args = scripted(workspace, turns, "--max-cost", "0.005", "-s", str(session))
    result = invoke(*args, "go")
    assert result.exit_code == 3
    assert "the run cost $0.0110, over its budget of $0.0050" in result.stderr
    saved = Session.load(session)
    assert saved.usage.cost == pytest.approx(0.011)
    assert saved.messages[-1].parts[0].content.startswith("not run")


def test_max_cost_stops_before_a_request_likely_to_cross_it(workspace, priced):
    result = invoke(*scripted(workspace, [turn()], "--max-cost", "0.0000001"), "go")
    assert result.exit_code == 3
    assert "stopped before a request" in result.stderr


def test_max_cost_without_a_price_is_a_clear_error(workspace):
    result = invoke(*scripted(workspace, [turn()], "--max-cost", "1"), "go")
    assert result.exit_code == 1
    assert "no price is known for scripted/" in result.stderr


def test_max_cost_must_be_positive(workspace):
    result = invoke(*scripted(workspace, [turn()], "--max-cost", "0"), "go")
    assert result.exit_code == 2


def test_sessions_show_totals_the_cost(workspace, priced, tmp_path):
    session = tmp_path / "s.json"
    invoke(*scripted(workspace, [turn()], "-s", str(session)), "one")
    invoke(*scripted(workspace, [turn()], "-s", str(session)), "two")
    shown = invoke("sessions", "show", str(session))
    assert "$0.0040" in shown.stdout
    data = json.loads(invoke("sessions", "show", str(session), "--json").stdout)
    assert data["usage"]["cost"] == pytest.approx(0.004)


def test_sessions_show_splits_the_cost_by_model_across_a_switch(workspace, tmp_path):
    session = Session.open(tmp_path / "s.json")
    session.record_turn("openai", "gpt-4o", Usage(input_tokens=10, cost=0.25))
    session.record_turn("anthropic", "claude-sonnet-4-5", Usage(input_tokens=10, cost=0.5))
    session.record_turn("ollama", "qwen3", Usage(input_tokens=10))
    session.save()
    shown = invoke("sessions", "show", str(tmp_path / "s.json")).stdout
    assert "$0.7500" in shown
    assert "openai/gpt-4o $0.2500 · anthropic/claude-sonnet-4-5 $0.5000" in shown


def test_schema_output_never_carries_terminal_control_characters(workspace):
    hostile = "a\x1b[2Jb\x9b31mc\x7fd\u202ee\u2028f é"
    answer = json.dumps({"name": hostile})
    result = invoke(*scripted(workspace, [answer], "--schema", "name"), "go")
    assert result.exit_code == 0, result.stderr
    for char in ("\x1b", "\x9b", "\x7f", "\u202e", "\u2028"):
        assert char not in result.stdout
    assert json.loads(result.stdout) == {"name": hostile}  # escaped, not lost
    assert "é" in result.stdout  # plain text stays readable
