"""Commands never see provider keys or secret-looking variables, unless the user says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from allos_shell.environment import (
    EnvironmentSettingsError,
    command_environment,
)
from allos_shell.tool import ShellExec

from allos_core.tools import ToolContext

ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/me",
    "ANTHROPIC_API_KEY": "sk-ant-secret",
    "OPENAI_API_KEY": "sk-secret",
    "GEMINI_API_KEY": "g",
    "OLLAMA_API_KEY": "o",
    "GITHUB_TOKEN": "ghp",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "DB_PASSWORD": "pw",
    "my_credentials_file": "/x",
    "SSH_AUTH_SOCK": "/tmp/agent.sock",
    "EDITOR": "vim",
}


def test_keys_and_secret_names_are_withheld():
    env = command_environment({}, ENV)
    assert set(env.environ) == {"PATH", "HOME", "SSH_AUTH_SOCK", "EDITOR"}
    assert len(env.withheld) == 8 and "ANTHROPIC_API_KEY" in env.withheld


def test_include_exclude_and_set():
    settings = {
        "shell": {
            "environment": {
                "include": ["GITHUB_TOKEN"],
                "exclude": ["EDITOR", "SSH_*"],
                "set": {"CI": "1"},
            }
        }
    }
    env = command_environment(settings, ENV)
    assert env.environ["GITHUB_TOKEN"] == "ghp" and env.environ["CI"] == "1"
    assert "EDITOR" not in env.environ and "SSH_AUTH_SOCK" not in env.environ
    assert "ANTHROPIC_API_KEY" not in env.environ


def test_bad_policy_is_an_error():
    with pytest.raises(EnvironmentSettingsError):
        command_environment({"shell": {"environment": {"include": "GITHUB_TOKEN"}}}, ENV)


async def test_echoing_the_api_key_prints_nothing(tmp_path: Path, monkeypatch):
    # given Allos runs with a provider key in its environment
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    # when the model asks a command to print it
    result = await ShellExec().invoke(
        {"command": 'echo "key=[$ANTHROPIC_API_KEY]"; env | grep -c ANTHROPIC || true'},
        ToolContext(workspace=tmp_path),
    )
    # then the command never saw it
    assert "sk-ant-very-secret" not in result.content
    assert "key=[]" in result.content and "stdout:\nkey=[]\n0" in result.content
    assert result.metadata["env_withheld"] >= 1
