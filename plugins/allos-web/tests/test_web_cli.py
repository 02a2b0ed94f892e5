"""web_fetch in a real `allos run`: rules decide, the page reaches the model, SSRF stays shut."""

from __future__ import annotations

from cli_support import call, invoke, write_script

from allos_core.sessions import Session


def _run(tmp_path, server_url: str, *args: str):
    turns = [{"tool_calls": [call("web_fetch", url=server_url)]}, "Read it."]
    script = write_script(tmp_path, turns)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(work),
        "-s", str(tmp_path / "web.json"), *args, "read the page",
        env={"ALLOS_CONFIG_FILE": str(tmp_path / "no-config.toml")},
    )  # fmt: skip


def _tool_result(tmp_path) -> str:
    session = Session.load(tmp_path / "web.json")
    return next(m for m in session.messages if m.role == "tool").parts[0].content


def test_an_allowed_domain_is_fetched_and_the_model_gets_markdown(tmp_path, server, send):
    server.routes["/"] = lambda h: send(h, "<h2>Release notes</h2><p>All good.</p>")
    result = _run(tmp_path, server.url("/"), "--allow", "web_fetch(domain:127.0.0.1)")
    assert result.exit_code == 0, result.stderr
    assert "## Release notes" in _tool_result(tmp_path)


def test_without_a_rule_web_fetch_asks_and_without_a_terminal_is_denied(tmp_path, server, send):
    server.routes["/"] = lambda h: send(h, "never")
    result = _run(tmp_path, server.url("/"))
    assert result.exit_code == 0
    assert "web_fetch(domain:127.0.0.1)" in _tool_result(tmp_path)  # the rule to add
    assert server.requests == []


def test_yes_to_everything_still_does_not_reach_loopback(tmp_path, server, send):
    server.routes["/"] = lambda h: send(h, "internal admin")
    result = _run(tmp_path, server.url("/"), "-y")
    assert result.exit_code == 0
    assert "refused" in _tool_result(tmp_path)
    assert server.requests == []
