"""A user's deny rule for read_file also keeps the file out of searches run by the agent."""

from __future__ import annotations

import pytest
from allos_fs.tools import glob, grep, list_directory, read_file

from allos_core.agent import Agent
from allos_core.permissions import PermissionRules
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider

SECRET = "sk-live-SECRET-4242"


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / ".env").write_text(f"API_KEY={SECRET}\n")
    (tmp_path / "app.py").write_text("API_KEY = os.environ['API_KEY']\n")
    return tmp_path


def run_agent(workspace, tool_calls, permissions):
    provider = ScriptedProvider([{"tool_calls": tool_calls}, "Done."])
    agent = Agent(
        provider,
        tools=[read_file, grep, glob, list_directory],
        permissions=permissions,
        workspace=workspace,
        plugin_manager=create_plugin_manager([]),
        system_prompt="You are a test agent.",
    )
    result = agent.run("find the API key")
    assert result.stop_reason == "answered"
    sent = provider.requests[-1].messages[-1]
    assert sent.role == "tool"
    return agent, [part.content for part in sent.parts]


def test_grep_does_not_reveal_a_file_the_user_denies_reading(workspace):
    rules = PermissionRules.from_lists(deny=["read_file(.env)"])
    calls = [
        {"name": "grep", "arguments": {"pattern": "API_KEY", "path": "."}},
        {"name": "grep", "arguments": {"pattern": "sk-", "path": ".env"}},
        {"name": "read_file", "arguments": {"path": ".env"}},
    ]
    _, (folder, direct, read) = run_agent(workspace, calls, rules)
    for content in (folder, direct, read):
        assert SECRET not in content
    assert folder.split("\n") == [
        "app.py:1:API_KEY = os.environ['API_KEY']",
        "[1 file skipped: denied by permission rules.]",
    ]
    assert "1 file skipped: denied by permission rules" in direct
    assert read.startswith("denied:")


def test_glob_and_list_directory_hide_the_denied_file(workspace):
    rules = PermissionRules.from_lists(deny=["read_file(**/.env)"])
    calls = [
        {"name": "glob", "arguments": {"pattern": "**/*"}},
        {"name": "list_directory", "arguments": {}},
    ]
    _, (found, listing) = run_agent(workspace, calls, rules)
    assert found.split("\n") == ["app.py", "[1 file skipped: denied by permission rules.]"]
    assert ".env" not in listing
    assert listing.split("\n")[-1] == "[1 file skipped: denied by permission rules.]"


def test_without_a_deny_rule_grep_sees_everything(workspace):
    rules = PermissionRules.from_lists(allow=["read_file(.env)"])
    calls = [{"name": "grep", "arguments": {"pattern": "API_KEY"}}]
    _, (content,) = run_agent(workspace, calls, rules)
    assert f".env:1:API_KEY={SECRET}" in content.split("\n")
    assert "permission" not in content


def test_rules_are_read_when_the_tool_runs(workspace):
    provider = ScriptedProvider(
        [{"tool_calls": [{"name": "grep", "arguments": {"pattern": "API_KEY"}}]}, "Done."]
    )
    agent = Agent(
        provider,
        tools=[grep],
        workspace=workspace,
        plugin_manager=create_plugin_manager([]),
        system_prompt="You are a test agent.",
    )
    assert agent.tool_context.is_read_denied(".env") is False
    agent.permissions = PermissionRules.from_lists(deny=["read_file(.env)"])
    assert agent.tool_context.is_read_denied(".env") is True
    assert agent.tool_context.is_read_denied("app.py") is False
    agent.run("search")
    assert SECRET not in provider.requests[-1].messages[-1].parts[0].content
