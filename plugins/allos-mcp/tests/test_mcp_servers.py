"""Real MCP servers as stdio subprocesses and over streamable HTTP, through the agent's lifecycle."""

from __future__ import annotations

import json
import socket
import subprocess
import threading

import allos_mcp
import pytest
from mcp_test_support import (
    GIT_SERVER,
    TIME_SERVER,
    helper_server,
    live_children,
    process_alive,
)

from allos_core import events as ev
from allos_core.agent import Agent
from allos_core.permissions import decide_permission
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tool_sources import ToolSourceRunner
from allos_core.tools import ToolContext

pytestmark = pytest.mark.slow  # each test starts real server processes (seconds each)


def run_agent(turns, servers, workspace, **options):
    """An agent whose model replays ``turns``, with ``servers`` as its tool sources."""
    events: list[ev.Event] = []
    provider = ScriptedProvider(turns)
    agent = Agent(
        provider,
        tools=[],
        system_prompt="test",
        workspace=workspace,
        plugin_manager=create_plugin_manager([allos_mcp], discover=False),
        tool_sources=allos_mcp.mcp_servers(servers, workspace=workspace),
        on_event=events.append,
        **options,
    )
    result = agent.run("go")
    return result, provider, events


def call(name, **arguments):
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def tool_results(result):
    return [p for m in result.messages if m.role == "tool" for p in m.parts]


def failures(events):
    return [e for e in events if isinstance(e, ev.ToolSourceFailed)]


@pytest.mark.slow
def test_time_server_tools_are_listed_and_get_current_time_answers(ws):
    # given the real mcp-server-time
    children = live_children()
    turns = [call("mcp__time__get_current_time", timezone="Europe/Paris"), "done"]
    # when the model calls get_current_time
    result, provider, events = run_agent(turns, {"time": {"command": TIME_SERVER}}, ws)
    # then its tools were offered, the call answered with the server's JSON, no process is left
    offered = {t.name for t in provider.requests[0].tools}
    assert {"mcp__time__get_current_time", "mcp__time__convert_time"} <= offered
    (answer,) = tool_results(result)
    assert not answer.is_error
    assert json.loads(answer.content)["timezone"] == "Europe/Paris"
    assert failures(events) == []
    assert live_children() <= children


@pytest.mark.slow
def test_git_server_reports_status_and_log_of_a_temporary_repository(ws):
    # given a repository with one commit and one untracked file
    git = ["git", "-c", "user.name=Tester", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(ws)], check=True)
    (ws / "README.md").write_text("hello\n")
    subprocess.run([*git, "-C", str(ws), "add", "README.md"], check=True)
    subprocess.run([*git, "-C", str(ws), "commit", "-q", "-m", "First commit"], check=True)
    (ws / "new.txt").write_text("untracked\n")
    servers = {"git": {"command": GIT_SERVER, "args": ["--repository", str(ws)]}}
    turns = [
        call("mcp__git__git_status", repo_path=str(ws)),
        call("mcp__git__git_log", repo_path=str(ws)),
        "done",
    ]
    # when the model asks for the status and the log (read-only: allowed by default)
    result, _, events = run_agent(turns, servers, ws)
    # then the answers are the repository's
    status, log = tool_results(result)
    assert not status.is_error and "new.txt" in status.content
    assert not log.is_error and "First commit" in log.content
    assert failures(events) == []


class _HeaderRecorder:
    """ASGI middleware that records the request headers the MCP server received."""

    def __init__(self, app):
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@pytest.fixture
def http_server():
    """A streamable HTTP MCP server made with the SDK's server API, on 127.0.0.1."""
    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp_types import ToolAnnotations

    server = MCPServer("adder")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    app = _HeaderRecorder(server.streamable_http_app())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # clients may connect at once; uvicorn accepts when it is up
    port = sock.getsockname()[1]
    web = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/mcp", app
    finally:
        web.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.slow
def test_streamable_http_server_is_called_with_expanded_headers(ws, http_server, monkeypatch):
    # given an HTTP server whose token comes from the environment
    url, recorder = http_server
    monkeypatch.setenv("ADDER_TOKEN", "s3cret")
    servers = {"adder": {"url": url, "headers": {"Authorization": "Bearer ${ADDER_TOKEN}"}}}
    # when the model calls its tool
    result, _, events = run_agent([call("mcp__adder__add", a=2, b=40), "done"], servers, ws)
    # then the result came back and the header carried the expanded secret
    (answer,) = tool_results(result)
    assert not answer.is_error and answer.content.strip() == "42"
    assert failures(events) == []
    assert recorder.headers and all(
        h.get("authorization") == "Bearer s3cret" for h in recorder.headers
    )


def test_a_server_that_crashes_on_start_is_one_line_with_its_last_words(ws, log_dir):
    # given a server that exits before the handshake, next to a working one
    servers = {"broken": helper_server("crash_on_start"), "tb": helper_server("toolbox")}
    # when the agent runs
    result, provider, events = run_agent(["fine"], servers, ws)
    # then the run answered with the working server's tools; the failure is one line quoting stderr
    assert result.ok
    assert "mcp__tb__echo" in {t.name for t in provider.requests[0].tools}
    (failure,) = failures(events)
    assert failure.source == "broken" and "\n" not in failure.error
    assert "boom: TRACKER_URL is not configured" in failure.error
    assert str(log_dir / "broken.log") in failure.error


def test_a_hostile_server_name_cannot_move_its_log_out_of_the_log_folder(ws, log_dir):
    servers = {"../../escape": helper_server("crash_on_start")}
    _, _, events = run_agent(["fine"], servers, ws)
    (failure,) = failures(events)
    logs = [p.name for p in log_dir.iterdir()]
    assert len(logs) == 1 and "escape" in logs[0] and "/" not in logs[0]
    assert not (log_dir.parent.parent / "escape.log").exists()


def test_a_server_that_hangs_on_start_times_out_and_its_process_is_stopped(ws, tmp_path):
    # given a program that never answers the handshake
    pid_file = tmp_path / "hang.pid"
    entry = {**helper_server("hang_on_start", str(pid_file)), "startup_timeout": 1}
    # when the agent runs
    result, _, events = run_agent(["fine"], {"slow": entry}, ws)
    # then the run goes on, the timeout is reported, and the process is gone
    assert result.ok
    (failure,) = failures(events)
    assert "did not start within 1s" in failure.error
    assert not process_alive(int(pid_file.read_text()))


def test_a_server_that_dies_mid_call_gives_error_results_and_the_run_goes_on(ws, tmp_path):
    # given a server whose tool kills it
    pid_file = tmp_path / "toolbox.pid"
    servers = {"tb": helper_server("toolbox", str(pid_file))}
    turns = [call("mcp__tb__die"), call("mcp__tb__echo", text="still there?"), "carried on"]
    # when the model calls it, then calls another of its tools
    result, _, events = run_agent(turns, servers, ws, yes=True)
    # then both calls are error results, the death is reported once, the run answers
    died, after = tool_results(result)
    assert died.is_error and "closed the connection" in died.content
    assert "toolbox: dying on purpose" in died.content
    assert after.is_error and "unavailable" in after.content
    assert len(failures(events)) == 1
    assert result.ok and result.text == "carried on"
    assert not process_alive(int(pid_file.read_text()))


def test_a_call_the_server_never_answers_is_given_up_after_call_timeout(ws):
    # given a server whose tool never answers, with a short call timeout
    servers = {"tb": {**helper_server("toolbox"), "call_timeout": 0.5}}
    turns = [call("mcp__tb__stall"), call("mcp__tb__echo", text="still up"), "done"]
    # when the model calls it, then another tool of the same server
    result, _, events = run_agent(turns, servers, ws)
    # then the first is an error result naming the timeout, and the server still answers
    stalled, echoed = tool_results(result)
    assert stalled.is_error and "did not answer within 0.5s" in stalled.content
    assert (echoed.is_error, echoed.content) == (False, "echo: still up")
    assert failures(events) == []


def test_a_relative_cwd_is_inside_the_workspace(ws):
    (ws / "sub").mkdir()
    servers = {"tb": {**helper_server("toolbox"), "cwd": "sub"}}
    result, _, _ = run_agent([call("mcp__tb__where"), "done"], servers, ws)
    assert tool_results(result)[0].content == str((ws / "sub").resolve())


def test_server_processes_are_stopped_when_the_run_ends(ws, tmp_path):
    pid_file = tmp_path / "toolbox.pid"
    result, _, _ = run_agent(
        [call("mcp__tb__echo", text="hi"), "done"],
        {"tb": helper_server("toolbox", str(pid_file))},
        ws,
    )
    assert tool_results(result)[0].content == "echo: hi"
    assert not process_alive(int(pid_file.read_text()))


def test_server_processes_are_stopped_on_ctrl_c(ws, tmp_path):
    # given a tool (of the agent) that is interrupted like Ctrl-C while the server runs
    from allos_core.tools import tool

    @tool(read_only=True)
    def interrupt() -> str:
        """Ctrl-C."""
        raise KeyboardInterrupt

    pid_file = tmp_path / "toolbox.pid"
    provider = ScriptedProvider([call("interrupt"), "never"])
    agent = Agent(
        provider,
        tools=[interrupt],
        system_prompt="t",
        workspace=ws,
        plugin_manager=create_plugin_manager([], discover=False),
        tool_sources=allos_mcp.mcp_servers({"tb": helper_server("toolbox", str(pid_file))}),
    )
    result = agent.run("go")
    assert result.stop_reason == "interrupted"
    assert not process_alive(int(pid_file.read_text()))


def test_server_stderr_goes_to_the_log_file_not_the_terminal(ws, log_dir, capfd):
    result, _, _ = run_agent(
        [call("mcp__tb__noisy"), "done"], {"tb": helper_server("toolbox")}, ws, yes=True
    )
    assert tool_results(result)[0].content == "quiet answer"
    assert "a line for the log" not in capfd.readouterr().err
    assert "toolbox: a line for the log" in (log_dir / "tb.log").read_text()


async def test_annotations_decide_the_default_and_destructive_tools_say_so(ws):
    # given the toolbox's annotated tools
    manager = create_plugin_manager([allos_mcp], discover=False)
    context = ToolContext(workspace=ws)
    async with ToolSourceRunner(allos_mcp.mcp_servers({"tb": helper_server("toolbox")})) as runner:
        tools = await runner.start()
    echo, drop = tools["mcp__tb__echo"], tools["mcp__tb__drop_table"]
    # then read-only tools are allowed by default and run concurrently; others ask
    assert (echo.read_only, echo.default_permission) == (True, "allow")
    assert (drop.read_only, drop.default_permission) == (False, "ask")
    # and a destructive tool says so in its description and in the permission reason
    assert "destructive" in drop.description
    decision = decide_permission(drop, None, {"table": "users"}, context, plugin_manager=manager)
    assert decision.decision == "ask" and "marks drop_table as destructive" in decision.reason
    assert "destructive" in drop.preview({"table": "users"}, context)


def test_results_map_errors_images_and_resources_to_text(ws):
    turns = [
        {
            "tool_calls": [
                {"name": "mcp__tb__fail", "arguments": {}},
                {"name": "mcp__tb__picture", "arguments": {}},
                {"name": "mcp__tb__ansi", "arguments": {}},
            ]
        },
        "done",
    ]
    result, provider, _ = run_agent(turns, {"tb": helper_server("toolbox")}, ws, yes=True)
    failed, picture, hostile = tool_results(result)
    # a hostile server's escapes never reach the terminal or the model; text survives
    assert hostile.content == "]0;pwned[2Jclean\nline\ttab"
    (described,) = [t for t in provider.requests[0].tools if t.name == "mcp__tb__ansi"]
    assert "\x1b" not in described.description and "\x07" not in described.description
    assert failed.is_error and failed.content == "the database is locked"
    assert not picture.is_error
    assert "[image image/png" in picture.content and "not shown" in picture.content
    assert "[resource file:///notes.txt]\nthe notes" in picture.content


def test_permission_rules_apply_to_mcp_tools(ws):
    # given a user rule denying the whole server
    from allos_core.permissions import PermissionRules

    rules = PermissionRules.from_lists(deny=["mcp__tb__*"])
    result, _, _ = run_agent(
        [call("mcp__tb__echo", text="x"), "done"],
        {"tb": helper_server("toolbox")},
        ws,
        permissions=rules,
    )
    (denied,) = tool_results(result)
    assert denied.is_error and denied.content.startswith("denied")
