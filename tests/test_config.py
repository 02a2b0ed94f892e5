"""Settings: merging files, environment and flags; sources; errors that name file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from allos_core.config import (
    find_key_line,
    is_secret,
    load_settings,
    read_config_file,
    user_config_path,
    workspace_config_path,
)
from allos_core.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    return tmp_path / "user" / "config.toml"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def test_defaults_without_any_file(workspace, user_file):
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert settings.provider is None
    assert settings.max_iterations == 50
    assert settings.stream is True
    assert settings.files == []
    assert settings.source("max_iterations") == "default"


def test_user_config_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOS_CONFIG_FILE", str(tmp_path / "elsewhere.toml"))
    assert user_config_path() == tmp_path / "elsewhere.toml"
    monkeypatch.delenv("ALLOS_CONFIG_FILE")
    assert user_config_path().name == "config.toml"
    assert "allos" in str(user_config_path().parent)
    assert workspace_config_path(tmp_path) == tmp_path / "allos.toml"


def test_layers_merge_workspace_over_user_env_over_files_flags_last(workspace, user_file):
    write(
        user_file,
        """
        provider = "openai"
        model = "gpt-4.1"
        max_iterations = 10

        [providers.openai]
        timeout = 30
        base_url = "http://user.example/v1"

        [permissions]
        deny = ["shell_exec(rm *)"]
        """,
    )
    write(
        workspace / "allos.toml",
        """
        max_iterations = 20
        system_prompt = "Be brief."

        [providers.openai]
        base_url = "http://workspace.example/v1"

        [permissions]
        allow = ["edit_file(src/**)"]
        """,
    )
    settings = load_settings(
        workspace,
        user_file=user_file,
        environ={"ALLOS_MAX_ITERATIONS": "30"},
        flags={"permissions": {"allow": ["shell_exec(pytest*)"]}, "model": None},
    )
    assert settings.provider == "openai"
    assert settings.source("provider") == f"user file {user_file}"
    assert settings.max_iterations == 30
    assert settings.source("max_iterations") == "env ALLOS_MAX_ITERATIONS"
    assert settings.system_prompt == "Be brief."
    assert settings.source("system_prompt") == f"workspace file {workspace / 'allos.toml'}"
    # provider tables merge key by key, the workspace winning
    assert settings.provider_options("openai") == {
        "timeout": 30,
        "base_url": "http://workspace.example/v1",
    }
    assert settings.source("providers.openai.timeout").startswith("user file")
    assert settings.source("providers.openai.base_url").startswith("workspace file")
    # rules are collected from every layer
    assert settings.permission_lists() == {
        "allow": ["edit_file(src/**)", "shell_exec(pytest*)"],
        "ask": [],
        "deny": ["shell_exec(rm *)"],
    }
    sources = {r.rule: r.source for r in settings.rules}
    assert sources["shell_exec(pytest*)"] == "flag --allow"
    assert sources["shell_exec(rm *)"] == f"user file {user_file}"
    rules = settings.permission_rules()
    assert rules.decide_one("shell_exec", "rm -rf /").decision == "deny"
    assert settings.files == [user_file, workspace / "allos.toml"]


def test_flags_beat_environment(workspace, user_file):
    settings = load_settings(
        workspace,
        user_file=user_file,
        environ={"ALLOS_PROVIDER": "anthropic", "ALLOS_MODEL": "claude-x"},
        flags={"provider": "ollama", "max_iterations": 7},
    )
    assert settings.provider == "ollama"
    assert settings.source("provider") == "flag --provider"
    assert settings.max_iterations == 7
    assert settings.source("max_iterations") == "flag --max-iterations"
    assert settings.source("model") == "env ALLOS_MODEL"


def test_a_model_goes_with_its_provider(workspace, user_file):
    write(
        user_file,
        """
        provider = "openai"
        model = "gpt-4.1"

        [providers.anthropic]
        model = "claude-haiku"
        """,
    )
    same = load_settings(workspace, user_file=user_file, environ={}, flags={"provider": "openai"})
    assert same.model_for("openai") == "gpt-4.1"
    other = load_settings(
        workspace, user_file=user_file, environ={}, flags={"provider": "anthropic"}
    )
    assert other.model_for("anthropic") == "claude-haiku"  # not gpt-4.1
    assert other.model_for("ollama") is None  # the provider's default
    flagged = load_settings(
        workspace, user_file=user_file, environ={}, flags={"provider": "ollama", "model": "qwen3"}
    )
    assert flagged.model_for("ollama") == "qwen3"


def test_same_file_as_user_and_workspace_is_read_once(workspace):
    path = write(workspace / "allos.toml", '[permissions]\nallow = ["read_file"]\n')
    settings = load_settings(workspace, user_file=path, environ={})
    assert settings.permission_lists()["allow"] == ["read_file"]


def test_unknown_key_names_file_line_and_key(workspace, user_file):
    path = write(
        workspace / "allos.toml",
        """
        provider = "openai"

        [permissions]
        allow = ["read_file"]
        alow = ["shell_exec"]
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, user_file=user_file, environ={})
    assert str(info.value) == f"{path}:5: unknown key 'permissions.alow'"
    assert "allow, ask, deny" in info.value.hint


def test_unknown_top_level_key(workspace, user_file):
    path = write(user_file, 'provider = "openai"\nmodle = "gpt"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, user_file=user_file, environ={})
    assert str(info.value) == f"{path}:2: unknown key 'modle'"
    assert "model" in info.value.hint


def test_wrong_type_names_file_line_and_key(workspace, user_file):
    path = write(
        user_file,
        """
        provider = "openai"

        [providers.openai]
        base_url = "http://x"
        timeout = "soon"
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, user_file=user_file, environ={})
    assert str(info.value).startswith(f"{path}:5: providers.openai.timeout:")


def test_negative_iterations(workspace, user_file):
    path = write(workspace / "allos.toml", "max_iterations = 0\n")
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, user_file=user_file, environ={})
    assert str(info.value).startswith(f"{path}:1: max_iterations:")
    assert "positive whole number" in info.value.hint


def test_toml_syntax_error_names_file_and_line(workspace, user_file):
    path = write(workspace / "allos.toml", 'provider = "openai"\nmodel = gpt-4\n')
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: invalid TOML:")
    assert "line 2, column" not in message  # the position is in the prefix, said once


def test_invalid_rule_in_a_file(workspace, user_file):
    path = write(workspace / "allos.toml", '# rules\n[permissions]\ndeny = ["shell_exec(rm *"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, user_file=user_file, environ={})
    assert str(info.value).startswith(f"{path}:3: permissions.deny[0]: invalid permission rule")


def test_invalid_rule_from_a_flag(workspace, user_file):
    with pytest.raises(ConfigError, match="--allow 'bad rule\\('"):
        load_settings(
            workspace,
            user_file=user_file,
            environ={},
            flags={"permissions": {"allow": ["bad rule("]}},
        )


def test_invalid_environment_number(workspace, user_file):
    with pytest.raises(ConfigError, match="ALLOS_MAX_ITERATIONS must be a positive whole number"):
        load_settings(workspace, user_file=user_file, environ={"ALLOS_MAX_ITERATIONS": "lots"})


def test_unreadable_file(workspace, user_file):
    (workspace / "allos.toml").mkdir()  # a folder where the file should be: is_file() is False
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert settings.files == []
    bad = write(user_file, "")
    bad.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(workspace, user_file=user_file, environ={})


def test_describe_masks_secrets_and_names_sources(workspace, user_file):
    write(
        user_file,
        """
        [providers.openai]
        api_key = "sk-test-very-secret"
        organization = "org-1"

        [providers.custom]
        auth_token = "tok-123"
        """,
    )
    settings = load_settings(workspace, user_file=user_file, environ={})
    rows = {key: (value, source) for key, value, source in settings.describe()}
    assert rows["providers.openai.api_key"] == ("****", f"user file {user_file}")
    assert rows["providers.custom.auth_token"][0] == "****"
    assert rows["providers.openai.organization"][0] == "org-1"
    assert rows["max_iterations"] == ("50", "default")
    dumped = settings.to_dict()
    assert "sk-test" not in repr(dumped)
    assert dumped["providers"]["openai"]["api_key"] == "****"
    # the provider still gets the real key
    assert settings.provider_options("openai")["api_key"] == "sk-test-very-secret"


@pytest.mark.parametrize(
    ("key", "secret"),
    [("api_key", True), ("providers.x.token", True), ("client_secret", True), ("model", False)],
)
def test_is_secret(key, secret):
    assert is_secret(key) is secret


def test_find_key_line_handles_tables_and_dotted_keys():
    text = textwrap.dedent(
        """
        provider = "x"  # comment
        providers.openai.timeout = 3

        [providers."my-llm"]
        model = "m"

        [permissions]
        allow = [
          "a",
        ]
        """
    ).lstrip()
    assert find_key_line(text, ("provider",)) == 1
    assert find_key_line(text, ("providers", "openai", "timeout")) == 2
    assert find_key_line(text, ("providers", "my-llm", "model")) == 5
    assert find_key_line(text, ("permissions",)) == 7
    assert find_key_line(text, ("permissions", "allow", 0)) == 8
    assert find_key_line(text, ("nowhere",)) is None
