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


def test_a_symlink_is_judged_by_its_target(ws):
    (ws / ".env").write_text("TOKEN=1\n")
    (ws / "harmless.txt").symlink_to(".env")
    assert decide(read_file, {"path": "harmless.txt"}, ws) == ([".env"], "deny")


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
