"""The command line: allos mcp list / tools / serve, allos tools list, and allos run end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import ALLOS, invoke, run_allos, subprocess_env
from fakes.openai_server import ChatReply, FakeOpenAIServer
from mcp_test_support import SERVERS, TIME_SERVER, process_alive

pytestmark = pytest.mark.slow  # every test starts server processes


def toml_server(name: str, command: str, *args: str, **extra: object) -> str:
    lines = [f"[mcp.servers.{name}]", f"command = {json.dumps(command)}"]
    lines.append(f"args = {json.dumps(list(args))}")
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def toolbox(*args: str) -> tuple[str, ...]:
    return (sys.executable, str(SERVERS / "toolbox.py"), *args)


def processes_running(marker: str) -> set[int]:
    """Pids of live processes whose command line contains ``marker`` (Linux /proc)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in text and state not in ("Z", "X"):
            found.add(int(cmdline.parent.name))
    return found


def test_mcp_list_shows_each_server_with_status_and_tool_count(user_config, ws):
    # given a working server, one that crashes on start and one that is off
    user_config.write_text(
        toml_server("tb", *toolbox())
        + toml_server("broken", sys.executable, str(SERVERS / "crash_on_start.py"))
        + toml_server("off", "nothing", enabled=False)
    )
    # when the user lists them
    result = invoke("mcp", "list", "--json", "--workspace", str(ws))
    # then each has its transport, status, tool count, and the failure says why (exit 1)
    rows = {row["name"]: row for row in json.loads(result.stdout)["servers"]}
    assert rows["tb"]["status"] == "ok" and rows["tb"]["tools"] == 9
    assert rows["tb"]["transport"] == "stdio"
    assert rows["broken"]["status"] == "failed"
    assert "boom: TRACKER_URL is not configured" in rows["broken"]["error"]
    assert rows["off"]["status"] == "disabled"
    assert result.exit_code == 1


def test_mcp_tools_lists_descriptions_schemas_and_hints(user_config, ws):
    user_config.write_text(toml_server("tb", *toolbox()))
    result = invoke("mcp", "tools", "tb", "--json", "--workspace", str(ws))
    assert result.exit_code == 0, result.stderr
    tools = {t["name"]: t for t in json.loads(result.stdout)["tools"]}
    assert tools["echo"]["listed_as"] == "mcp__tb__echo"
    assert tools["echo"]["read_only"] is True
    assert tools["drop_table"]["destructive"] is True
    assert tools["echo"]["input_schema"]["required"] == ["text"]
    text = invoke("mcp", "tools", "tb", "--workspace", str(ws))
    assert "mcp__tb__drop_table  (asks, destructive)" in text.stdout


def test_mcp_tools_of_an_unknown_server_is_one_error_line(user_config, ws):
    user_config.write_text(toml_server("tb", *toolbox()))
    result = invoke("mcp", "tools", "nope", "--workspace", str(ws))
    assert result.exit_code == 1
    assert "no MCP server named 'nope' (configured: tb)" in result.stderr


def test_tools_list_includes_mcp_tools(user_config, ws, monkeypatch):
    user_config.write_text(toml_server("tb", *toolbox()))
    monkeypatch.chdir(ws)
    result = invoke("tools", "list", "--json")
    names = {t["name"] for t in json.loads(result.stdout)["tools"]}
    assert {"mcp__tb__echo", "mcp__tb__drop_table", "read_file"} <= names


def test_an_untrusted_workspace_cannot_start_its_servers(tmp_path, ws):
    # given a cloned project whose .mcp.json and allos.toml would run a program
    (ws / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"evil": {"command": "touch", "args": [str(ws / "pwned1")]}}})
    )
    (ws / "allos.toml").write_text(toml_server("evil2", "touch", str(ws / "pwned2")))
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["nothing to do"]))
    env = subprocess_env(tmp_path, ALLOS_MCP_LOG_DIR=str(tmp_path / "logs"))
    # when the user runs a task there
    result = run_allos(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "hi", env=env
    )
    # then nothing ran, and the user is told why in one line each
    assert result.returncode == 0, result.stderr
    assert not (ws / "pwned1").exists() and not (ws / "pwned2").exists()
    assert "ignored MCP servers evil" in result.stderr
    assert "ignored table [mcp]" in result.stderr or "[mcp]" in result.stderr


def test_mcp_serve_offers_allos_tools_to_an_mcp_client_with_the_users_rules(tmp_path, ws):
    # given a workspace, a user rule denying a secret, and allos serving over stdio
    import anyio
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    (ws / "notes.txt").write_text("the notes\n")
    (ws / "secret.txt").write_text("hunter2\n")
    env = subprocess_env(tmp_path)
    Path(env["ALLOS_CONFIG_FILE"]).write_text('[permissions]\ndeny = ["read_file(secret.txt)"]\n')
    allos = str(Path(sys.executable).with_name("allos"))
    params = StdioServerParameters(
        command=allos, args=["mcp", "serve", "--workspace", str(ws)], env=env
    )

    async def session():
        with open(tmp_path / "serve.log", "w") as errlog:
            return await talk(Client(stdio_client(params, errlog=errlog)))

    async def talk(client):
        async with client:
            listed = await client.list_tools()
            read = await client.call_tool("read_file", {"path": "notes.txt"})
            secret = await client.call_tool("read_file", {"path": "secret.txt"})
            write = await client.call_tool("write_file", {"path": "new.txt", "content": "x"})
            outside = await client.call_tool("read_file", {"path": "../outside.txt"})
            return listed, read, secret, write, outside

    # when an MCP client (the SDK's own) lists and calls tools
    listed, read, secret, write, outside = anyio.run(session)
    names = {t.name for t in listed.tools}
    # then allos's tools are offered, reads work, the deny rule holds, asks are refused
    assert {"read_file", "write_file", "shell_exec"} <= names
    assert not any(n.startswith("mcp__") for n in names)
    assert not read.is_error and "the notes" in read.content[0].text
    assert secret.is_error and "denied" in secret.content[0].text
    assert "hunter2" not in secret.content[0].text
    assert write.is_error and "nobody can answer over MCP" in write.content[0].text
    assert "write_file(new.txt)" in write.content[0].text
    assert not (ws / "new.txt").exists()
    assert outside.is_error


class AnsweringServer(FakeOpenAIServer):
    """A fake OpenAI server whose answer after a tool call quotes the tool's result."""

    def next_reply(self):
        reply = super().next_reply()
        if reply is not None:
            return reply
        messages = self.chat_requests[-1]["messages"]
        data = json.loads([m for m in messages if m["role"] == "tool"][-1]["content"])
        return ChatReply(text=f"It is {data['datetime']} in {data['timezone']}.")


def test_allos_run_uses_an_mcp_tool_end_to_end_and_leaves_no_process(tmp_path, ws):
    # given mcp-server-time in the user's config and a model that calls it
    env = subprocess_env(tmp_path, OPENAI_API_KEY="sk-test", ALLOS_MCP_LOG_DIR=str(tmp_path / "l"))
    Path(env["ALLOS_CONFIG_FILE"]).write_text(toml_server("time", TIME_SERVER))
    before = processes_running("mcp-server-time")
    with AnsweringServer() as server:
        server.queue_tool_call("mcp__time__get_current_time", {"timezone": "Asia/Tokyo"})
        # when the user runs a task
        result = run_allos(
            "run", "-p", "openai", "--base-url", server.openai_base_url,
            "--workspace", str(ws), "what time is it in Tokyo?", env=env, timeout=120,
        )  # fmt: skip
        first_tools = {t["function"]["name"] for t in server.chat_requests[0]["tools"]}
        tool_message = [m for m in server.chat_requests[-1]["messages"] if m["role"] == "tool"][0]
    # then the model saw the MCP tool, got its result, and the answer uses it
    assert result.returncode == 0, result.stderr
    assert "mcp__time__get_current_time" in first_tools
    datetime = json.loads(tool_message["content"])["datetime"]
    assert result.stdout.strip() == f"It is {datetime} in Asia/Tokyo."
    # and no server process is left behind
    assert processes_running("mcp-server-time") <= before


def test_a_failing_server_is_one_warning_line_in_allos_run(tmp_path, ws):
    env = subprocess_env(tmp_path, ALLOS_MCP_LOG_DIR=str(tmp_path / "l"))
    Path(env["ALLOS_CONFIG_FILE"]).write_text(
        toml_server("broken", sys.executable, str(SERVERS / "crash_on_start.py"))
    )
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["answered anyway"]))
    result = run_allos(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "hi", env=env
    )
    assert result.returncode == 0
    assert result.stdout == "answered anyway\n"
    lines = [line for line in result.stderr.splitlines() if "tool source broken" in line]
    assert len(lines) == 1 and "boom: TRACKER_URL is not configured" in lines[0]
    assert os.path.exists(tmp_path / "l" / "broken.log")


@pytest.mark.parametrize(
    ("server", "turns"),
    [
        ("hang_on_start", ["never reached"]),
        ("toolbox", [{"tool_calls": [{"name": "mcp__tb__stall", "arguments": {}}]}, "never"]),
    ],
    ids=["while-starting", "during-a-call"],
)
def test_ctrl_c_in_allos_run_stops_every_server_process(tmp_path, ws, server, turns):
    # given allos run with a server that hangs (on start, or in a call)
    pid_file = tmp_path / "server.pid"
    env = subprocess_env(tmp_path, ALLOS_MCP_LOG_DIR=str(tmp_path / "l"))
    Path(env["ALLOS_CONFIG_FILE"]).write_text(
        toml_server("tb", sys.executable, str(SERVERS / f"{server}.py"), str(pid_file),
                    startup_timeout=120)
    )  # fmt: skip
    script = tmp_path / "script.json"
    script.write_text(json.dumps(turns))
    args = ["run", "-p", "scripted", "-m", str(script), "--workspace", str(ws), "-y", "go"]
    proc = subprocess.Popen(
        [ALLOS, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():  # the server is up
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
        # when the user presses Ctrl-C
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # then allos exits as interrupted and the server process is gone
    assert proc.returncode == 130, err
    assert not process_alive(int(pid_file.read_text()))


def test_allos_chat_starts_a_server_once_for_the_whole_chat_and_stops_it_at_the_end(tmp_path, ws):
    # given a server in the config and a chat of two messages, each calling its tool
    pid_file = tmp_path / "toolbox.pids"
    env = subprocess_env(tmp_path, ALLOS_MCP_LOG_DIR=str(tmp_path / "l"))
    Path(env["ALLOS_CONFIG_FILE"]).write_text(toml_server("tb", *toolbox(str(pid_file))))
    echo = {"tool_calls": [{"name": "mcp__tb__echo", "arguments": {"text": "hi"}}]}
    script = tmp_path / "script.json"
    script.write_text(json.dumps([echo, "first answer", echo, "second answer"]))
    # when the user chats (two messages, then end of input)
    result = run_allos(
        "chat", "-p", "scripted", "-m", str(script), "--workspace", str(ws),
        env=env, input="first\nsecond\n", timeout=120,
    )  # fmt: skip
    # then both answers came, the server started once, and it is gone after the chat
    assert result.returncode == 0, result.stderr
    assert "first answer" in result.stdout and "second answer" in result.stdout
    pids = pid_file.read_text().split()
    assert len(pids) == 1
    assert not process_alive(int(pids[0]))


def test_ctrl_c_in_a_chat_stops_the_call_not_the_server(tmp_path, ws):
    # given a chat whose first message makes a server tool hang
    pexpect = pytest.importorskip("pexpect")
    pid_file = tmp_path / "toolbox.pids"
    env = subprocess_env(tmp_path, TERM="dumb", ALLOS_MCP_LOG_DIR=str(tmp_path / "l"))
    Path(env["ALLOS_CONFIG_FILE"]).write_text(toml_server("tb", *toolbox(str(pid_file))))
    stall = {"tool_calls": [{"name": "mcp__tb__stall", "arguments": {}}]}
    echo = {"tool_calls": [{"name": "mcp__tb__echo", "arguments": {"text": "again"}}]}
    script = tmp_path / "script.json"
    script.write_text(json.dumps([stall, echo, "the server still answers"]))
    args = ["chat", "-p", "scripted", "-m", str(script), "--workspace", str(ws)]
    child = pexpect.spawn(ALLOS, args, env=env, encoding="utf-8", timeout=60, dimensions=(40, 200))
    try:
        child.expect_exact("› ")
        child.sendline("hang please")
        child.expect_exact("mcp__tb__stall")
        # when the user presses Ctrl-C during the call, then asks again
        child.sendintr()
        child.expect_exact("interrupted")
        child.expect_exact("› ")
        child.sendline("try the other tool")
        # then the same server answers the next call, and leaving the chat stops it
        child.expect_exact("the server still answers")
        child.expect_exact("› ")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    (session,) = Path(env["ALLOS_SESSIONS_DIR"]).glob("*.json")
    results = [
        part
        for message in json.loads(session.read_text())["messages"]
        for part in message.get("parts", [])
        if part.get("type") == "tool_result"
    ]
    assert [(r["name"], r["is_error"]) for r in results] == [
        ("mcp__tb__stall", True),
        ("mcp__tb__echo", False),
    ]
    assert results[1]["content"] == "echo: again"
    pids = pid_file.read_text().split()
    assert len(pids) == 1
    assert not process_alive(int(pids[0]))
