"""Permission subjects: workspace-relative real paths that user rules match with path globbing."""

from __future__ import annotations

import pytest
from allos_fs.tools import all_tools, edit_file, glob, grep, list_directory, read_file, write_file

from allos_core.permissions import PermissionRules
from allos_core.tools import ToolContext

RULES = PermissionRules.from_lists(
    allow=["write_file(src/**)", "edit_file(src/**)"],
    ask=["list_directory(build)"],
    deny=["read_file(.env)", "grep(secrets/**)", "write_file(/etc/**)"],
)


def decide(tool, arguments, workspace):
    context = ToolContext(workspace=workspace)
    args = tool.validate(arguments)
    subjects = tool.permission_subjects(args, context)
    decision = RULES.decide(tool.name, subjects, path_like=tool.path_subject)
    return subjects, (decision.decision if decision else None)


@pytest.mark.parametrize(
    ("tool", "arguments", "subject", "decision"),
    [
        (write_file, {"path": "src/app/main.py", "content": ""}, "src/app/main.py", "allow"),
        (write_file, {"path": "./src/../src/x.py", "content": ""}, "src/x.py", "allow"),
        (write_file, {"path": "README.md", "content": ""}, "README.md", None),
        (edit_file, {"path": "src/a.py", "old_text": "a", "new_text": "b"}, "src/a.py", "allow"),
        (read_file, {"path": ".env"}, ".env", "deny"),
        (read_file, {"path": "config/.env"}, "config/.env", None),
        (grep, {"pattern": "key", "path": "secrets/prod"}, "secrets/prod", "deny"),
        (grep, {"pattern": "key"}, ".", None),
        (list_directory, {"path": "build"}, "build", "ask"),
        (list_directory, {}, ".", None),
        (glob, {"pattern": "**/*.py", "path": "src"}, "src", None),
    ],
)
def test_subjects_are_relative_paths_that_rules_match(ws, tool, arguments, subject, decision):
    assert decide(tool, arguments, ws) == ([subject], decision)


def test_absolute_paths_inside_become_relative(ws):
    assert decide(write_file, {"path": str(ws / "src/x.py"), "content": ""}, ws) == (
        ["src/x.py"],
        "allow",
    )


def test_a_symlink_is_judged_by_its_target_and_its_own_name(ws):
    (ws / ".env").write_text("TOKEN=1\n")
    (ws / "harmless.txt").symlink_to(".env")
    assert decide(read_file, {"path": "harmless.txt"}, ws) == ([".env", "harmless.txt"], "deny")


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "~/.ssh/id_rsa", "a\x00b"])
def test_paths_outside_never_raise_and_stay_raw(ws, path):
    context = ToolContext(workspace=ws)
    for tool in all_tools():
        arguments = {"path": path}
        if tool.name in ("glob", "grep"):
            arguments["pattern"] = "x"
        if tool.name == "write_file":
            arguments["content"] = ""
        if tool.name == "edit_file":
            arguments |= {"old_text": "a", "new_text": "b"}
        args = tool.validate(arguments)
        assert tool.permission_subject(args, context) == path


def test_outside_write_denied_by_an_absolute_rule(ws):
    assert decide(write_file, {"path": "/etc/passwd", "content": ""}, ws) == (
        ["/etc/passwd"],
        "deny",
    )


async def test_outside_paths_are_refused_when_run(ws, call):
    (ws.parent / "outside.txt").write_text("secret")
    result = await call(read_file, ws, path="../outside.txt")
    assert result.is_error and "outside the workspace" in result.content


# -- symlinked folders: the written path is a subject too ----------------------------------------


@pytest.fixture
def linked(ws):
    """``config -> real_config`` with a secret inside."""
    (ws / "real_config").mkdir()
    (ws / "real_config" / "secret.txt").write_text("TOPSECRET\n")
    (ws / "config").symlink_to("real_config", target_is_directory=True)
    return ws


@pytest.mark.parametrize("path", ["config/secret.txt", "./config/secret.txt", "x/../config"])
def test_a_deny_rule_on_a_symlinked_folder_holds(linked, path):
    rules = PermissionRules.from_lists(deny=["read_file(config/**)", "read_file(config)"])
    context = ToolContext(workspace=linked)
    args = read_file.validate({"path": path})
    subjects = read_file.permission_subjects(args, context)
    assert read_file.permission_subject(args, context) == subjects[0]
    assert subjects[0].startswith("real_config")
    assert rules.decide("read_file", subjects, path_like=True).decision == "deny"


def test_allow_rules_must_cover_the_written_path_and_the_real_target(linked):
    context = ToolContext(workspace=linked)
    args = write_file.validate({"path": "config/new.txt", "content": ""})
    subjects = write_file.permission_subjects(args, context)
    assert subjects == ["real_config/new.txt", "config/new.txt"]

    def decision(*allow):
        answer = PermissionRules.from_lists(allow=list(allow)).decide(
            "write_file", subjects, path_like=True
        )
        return answer.decision if answer else None

    assert decision("write_file(config/**)") is None  # falls back to the default: ask
    assert decision("write_file(real_config/**)") is None
    assert decision("write_file(config/**)", "write_file(real_config/**)") == "allow"
    both = PermissionRules.from_lists(
        allow=["write_file(real_config/**)", "write_file(config/**)"],
        deny=["write_file(config/new.txt)"],
    )
    assert both.decide("write_file", subjects, path_like=True).decision == "deny"


def test_the_agent_refuses_a_read_through_a_symlinked_denied_folder(linked):
    import allos_fs

    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager
    from allos_core.testing import ScriptedProvider

    provider = ScriptedProvider(
        [
            {"tool_calls": [{"name": "read_file", "arguments": {"path": "config/secret.txt"}}]},
            "done",
        ]
    )
    agent = Agent(
        provider,
        tools=["read_file"],
        workspace=linked,
        plugin_manager=create_plugin_manager([allos_fs], discover=False),
        system_prompt="s",
        permissions=PermissionRules.from_lists(deny=["read_file(config/**)"]),
    )
    result = agent.run("go")
    contents = [p.content for m in result.messages if m.role == "tool" for p in m.parts]
    assert contents[0].startswith("denied: rule read_file(config/**)")
    assert "TOPSECRET" not in contents[0]


@pytest.mark.parametrize("rule", [".env", "./.env", "ABS/.env"])
def test_deny_rules_in_any_spelling_stop_read_file(ws, rule):
    import allos_fs

    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager
    from allos_core.testing import ScriptedProvider

    (ws / ".env").write_text("API_KEY=sk-live-123\n")
    rule = f"read_file({rule.replace('ABS', str(ToolContext(workspace=ws).workspace))})"
    provider = ScriptedProvider(
        [{"tool_calls": [{"name": "read_file", "arguments": {"path": ".env"}}]}, "done"]
    )
    agent = Agent(
        provider,
        tools=["read_file"],
        workspace=ws,
        plugin_manager=create_plugin_manager([allos_fs], discover=False),
        system_prompt="s",
        permissions=PermissionRules.from_lists(deny=[rule]),
        yes=True,
    )
    result = agent.run("go")
    contents = [p.content for m in result.messages if m.role == "tool" for p in m.parts]
    assert contents[0].startswith(f"denied: rule {rule}")
