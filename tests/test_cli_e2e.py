"""The installed `allos` command, run as a subprocess against the local fake provider servers.

Real SDKs, real HTTP on 127.0.0.1, real tools: a file is created, a command is run, a denial is
respected, and a session started on one provider is resumed on the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_support import ALLOS, invoke, run_allos, subprocess_env
from fakes.anthropic_server import FakeAnthropicServer
from fakes.google_server import FakeGoogleServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

PROVIDERS = ("openai", "anthropic", "ollama", "google")


@contextmanager
def fake_server(provider: str) -> Iterator[Any]:
    server = {
        "openai": FakeOpenAIServer,
        "anthropic": FakeAnthropicServer,
        "ollama": FakeOllamaServer,
        "google": FakeGoogleServer,
    }[provider]()
    with server:
        yield server


def base_url(provider: str, server: Any) -> str:
    return server.openai_base_url if provider == "openai" else server.base_url


def provider_args(provider: str, server: Any) -> list[str]:
    args = ["-p", provider, "--base-url", base_url(provider, server)]
    if provider == "ollama":
        args += ["-m", "llama3.2"]
    return args


def keys() -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test",
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "GEMINI_API_KEY": "AIza-test",
    }


def requests_of(provider: str, server: Any) -> list[Any]:
    return server.message_bodies if provider == "anthropic" else server.chat_requests


def rejected(provider: str, server: Any) -> list[str]:
    return list(getattr(server, "rejections", None) or getattr(server, "validation_errors", []))


def queue_calls(provider: str, server: Any, calls: list[tuple[str, dict[str, Any]]]) -> None:
    if provider == "anthropic":
        server.queue_tool_calls([{"name": n, "arguments": a} for n, a in calls])
    else:
        server.queue_tool_calls(calls)


def tool_results_text(provider: str, body: Any) -> str:
    """Every tool result the provider received in one request, as text."""
    if provider == "anthropic":
        blocks = [
            block
            for message in body["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
        return json.dumps(blocks)
    if provider == "google":
        parts = [
            part
            for content in body["contents"]
            for part in content["parts"]
            if "functionResponse" in part
        ]
        return json.dumps(parts)
    return json.dumps([m for m in body["messages"] if m["role"] == "tool"])


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("provider", PROVIDERS)
def test_file_created_command_run_denial_respected(provider, tmp_path, workspace):
    env = subprocess_env(tmp_path, **keys())
    with fake_server(provider) as server:
        queue_calls(provider, server, [("write_file", {"path": "hello.txt", "content": "hi\n"})])
        queue_calls(provider, server, [("shell_exec", {"command": "touch ran.txt"})])
        queue_calls(provider, server, [("shell_exec", {"command": "rm hello.txt"})])
        server.queue_text("All done.")
        result = run_allos(
            "run",
            *provider_args(provider, server),
            "--workspace",
            str(workspace),
            "--allow",
            "write_file(hello.txt)",
            "--allow",
            "shell_exec(touch *)",
            "--deny",
            "shell_exec(rm *)",
            "make hello.txt, run touch, then remove it",
            env=env,
        )
        bodies = requests_of(provider, server)
        problems = rejected(provider, server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "All done.\n"
    assert (workspace / "hello.txt").read_text() == "hi\n"
    assert (workspace / "ran.txt").exists()
    assert problems == []
    assert len(bodies) == 4
    last_results = tool_results_text(provider, bodies[-1])
    assert "denied" in last_results and "shell_exec(rm *)" in last_results
    assert "+hi" in result.stderr  # the diff of the write
    assert "denied by rule shell_exec(rm *)" in result.stderr
    assert "Traceback" not in result.stderr


def test_session_started_on_one_provider_resumes_on_the_others(tmp_path, workspace):
    env = subprocess_env(tmp_path, **keys())
    (workspace / "notes.txt").write_text("the secret word is tangerine\n", encoding="utf-8")
    seen: dict[str, Any] = {}
    answers = {
        "openai": "Read it.",
        "anthropic": "It is tangerine.",
        "ollama": "Still tangerine.",
        "google": "Tangerine, says Gemini.",
    }
    for step, provider in enumerate(PROVIDERS):
        with fake_server(provider) as server:
            queue_calls(provider, server, [("read_file", {"path": "notes.txt"})])
            server.queue_text(answers[provider])
            result = run_allos(
                "run",
                *provider_args(provider, server),
                "--workspace",
                str(workspace),
                "-s",
                "travel",
                f"question {step + 1}: what is the secret word?",
                env=env,
            )
            seen[provider] = requests_of(provider, server)
            assert rejected(provider, server) == []
        assert result.returncode == 0, result.stderr
        assert result.stdout == answers[provider] + "\n"
    # the anthropic run received the openai run's conversation, tool call and result included
    first_anthropic = json.dumps(seen["anthropic"][0])
    assert "question 1" in first_anthropic and "tangerine" in first_anthropic
    assert "Read it." in first_anthropic
    first_ollama = json.dumps(seen["ollama"][0])
    assert "question 1" in first_ollama and "It is tangerine." in first_ollama
    listed = run_allos("sessions", "show", "travel", "--json", env=env)
    data = json.loads(listed.stdout)
    providers = [m.get("provider") for m in data["messages"] if m["role"] == "assistant"]
    assert providers == [name for name in PROVIDERS for _ in range(2)]
    # and the google run received the other three's turns
    first_google = json.dumps(seen["google"][0])
    assert "Still tangerine." in first_google and "It is tangerine." in first_google


def test_provider_chosen_from_the_environment(tmp_path, workspace):
    with FakeOpenAIServer() as server:
        server.queue_text("chosen automatically")
        env = {
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": server.openai_base_url,
            "ANTHROPIC_API_KEY": "sk-ant-test",  # openai comes first in the auto order
        }
        result = invoke("run", "-v", "--workspace", str(workspace), "hello", env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "chosen automatically\n"
    assert "provider openai (auto:" in result.stderr


def test_non_terminal_ask_is_refused_without_hanging(tmp_path, workspace):
    env = subprocess_env(tmp_path, **keys())
    with FakeOpenAIServer() as server:
        server.queue_tool_call("shell_exec", {"command": "touch should-not-exist"})
        server.queue_text("It was refused.")
        result = run_allos(
            "run",
            *provider_args("openai", server),
            "--workspace",
            str(workspace),
            "try it",
            env=env,
        )
        refusal = tool_results_text("openai", server.chat_requests[-1])
    assert result.returncode == 0, result.stderr
    assert not (workspace / "should-not-exist").exists()
    assert "no one to ask" in refusal and "--allow" in refusal
    assert "denied" in result.stderr


def test_provider_error_is_one_or_two_lines(workspace):
    with FakeOpenAIServer(api_key="sk-right") as server:
        args = provider_args("openai", server)
        result = invoke(
            "run", *args, "--workspace", str(workspace), "hi", env={"OPENAI_API_KEY": "sk-wrong"}
        )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(("error:", "hint:"))]
    assert 1 <= len(errors) <= 2 and errors[0].startswith("error:")
    assert "OPENAI_API_KEY" in result.stderr  # what to do about it
    assert "Traceback" not in result.stderr


def test_ctrl_c_exits_130_and_saves_a_consistent_session(tmp_path, workspace):
    env = subprocess_env(tmp_path, **keys())
    with FakeOpenAIServer() as server:
        server.queue_hang()
        process = subprocess.Popen(
            [ALLOS, "run", *provider_args("openai", server), "--workspace", str(workspace)]
            + ["-s", "cut", "wait for it"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not server.chat_requests:  # wait until the request is in flight
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the request never arrived"
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            server.release()
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    session = json.loads((Path(env["ALLOS_SESSIONS_DIR"]) / "cut.json").read_text())
    assert [m["role"] for m in session["messages"]][-1] == "user"


def test_demo_runs_offline(tmp_path):
    env = subprocess_env(tmp_path)
    target = tmp_path / "demo"
    result = run_allos("demo", "--dir", str(target), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = target / "textstats"
    assert "ordered[middle - 1] + ordered[middle]" in (project / "textstats/stats.py").read_text()
    assert "All 5 tests pass now." in result.stdout
    err = result.stderr
    assert "-        return (ordered[middle] + ordered[middle + 1]) / 2" in err  # the diff
    assert "allowed by rule edit_file(textstats/**)" in err
    assert "allowed by rule shell_exec(" in err
    assert "exit 0" in err  # the tests passed in the copy
    assert "allos demo -p openai" in err
    session = json.loads((target / "session.json").read_text())
    assert session["format"] == "allos-session"
    tools = [
        part["name"]
        for message in session["messages"]
        for part in message["parts"]
        if part["type"] == "tool_call"
    ]
    assert tools == ["read_file", "edit_file", "shell_exec"]
    # the copy's tests really pass now
    check = subprocess.run(
        [os.environ.get("PYTHON", "python3"), "-m", "unittest", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr


def test_demo_gives_the_task_to_google_by_name(tmp_path):
    with FakeGoogleServer() as server:
        server.queue_tool_call("read_file", {"path": "textstats/stats.py"})
        server.queue_text("I read the module.")
        env = subprocess_env(
            tmp_path, GEMINI_API_KEY="AIza-test", GOOGLE_GEMINI_BASE_URL=server.base_url
        )
        result = run_allos("demo", "-p", "google", "--dir", str(tmp_path / "d"), env=env)
        bodies, problems = server.generate_bodies, server.rejections
    assert result.returncode == 0, result.stderr
    assert result.stdout == "I read the module.\n"
    assert problems == [] and len(bodies) == 2
    assert "The median test fails" in json.dumps(bodies[0])
    assert 'read_file(path="textstats/stats.py")' in result.stderr


def test_demo_setup_only_copies_and_prints_the_commands(tmp_path):
    env = subprocess_env(tmp_path)
    target = tmp_path / "fresh"
    result = run_allos("demo", "--dir", str(target), "--setup-only", env=env)
    assert result.returncode == 0, result.stderr
    stats = (target / "textstats" / "textstats" / "stats.py").read_text()
    assert "ordered[middle] + ordered[middle + 1]" in stats  # still broken: nothing ran
    # (the command is `allos`, `uv run allos` or `PYTHON -m allos_core`: whatever runs here)
    assert f" run -p openai --workspace {target / 'textstats'}" in result.stderr
    assert " run -p ollama -m qwen3 --workspace" in result.stderr
    assert " run -p google --workspace" in result.stderr  # needs GEMINI_API_KEY
    again = run_allos("demo", "--dir", str(target), env=env)
    assert again.returncode == 2
    assert "not empty" in again.stderr


def test_version_lists_core_and_plugins(tmp_path):
    result = run_allos("--version", env=subprocess_env(tmp_path))
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names[0] == "allos-core"
    assert {
        "allos-openai",
        "allos-anthropic",
        "allos-ollama",
        "allos-google",
        "allos-fs",
        "allos-shell",
    } <= set(names)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_edit_is_applied_and_shown_as_a_diff(provider, tmp_path, workspace):
    env = subprocess_env(tmp_path, **keys())
    (workspace / "app.py").write_text("greeting = 'helo'\n", encoding="utf-8")
    with fake_server(provider) as server:
        queue_calls(
            provider,
            server,
            [("edit_file", {"path": "app.py", "old_text": "'helo'", "new_text": "'hello'"})],
        )
        server.queue_text("Fixed the typo.")
        result = run_allos(
            "run",
            *provider_args(provider, server),
            "--workspace",
            str(workspace),
            "--allow",
            "edit_file(app.py)",
            "fix the typo in app.py",
            env=env,
        )
        problems = rejected(provider, server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Fixed the typo.\n"
    assert (workspace / "app.py").read_text() == "greeting = 'hello'\n"
    assert "+greeting = 'hello'" in result.stderr
    assert problems == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_faults_a_busy_server_is_retried_and_a_dead_one_is_one_clear_error(
    provider, tmp_path, workspace
):
    env = subprocess_env(tmp_path, **keys())
    with fake_server(provider) as server:
        server.queue_error(503, retry_after=0)
        server.queue_text("Answered after a retry.")
        retried = run_allos(
            "run", *provider_args(provider, server), "--workspace", str(workspace), "hi", env=env
        )
        attempts = len(requests_of(provider, server))
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout == "Answered after a retry.\n"
    assert attempts == 2
    with fake_server(provider) as dead:
        args = provider_args(provider, dead)
    # nothing listens there now; no retries, so the test does not wait for back-off
    Path(env["ALLOS_CONFIG_FILE"]).write_text(f"[providers.{provider}]\nmax_retries = 0\n")
    down = run_allos("run", *args, "--workspace", str(workspace), "hi", env=env)
    assert down.returncode == 1
    errors = [line for line in down.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert 1 <= len(errors) <= 2 and errors[0].startswith("error:")
    assert "Traceback" not in down.stderr
