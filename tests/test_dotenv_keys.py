"""Keys from .env files: the user's always, a project's only in a trusted workspace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import run_allos, subprocess_env
from fakes.openai_server import FakeOpenAIServer

from allos_core.config import load_settings
from allos_core.config.dotenv_keys import apply_dotenv


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    """(user config file, workspace) with nothing in them yet."""
    home = tmp_path / "config"
    home.mkdir()
    user_file = home / "config.toml"
    user_file.write_text("", encoding="utf-8")
    workspace = tmp_path / "repo"
    workspace.mkdir()
    return user_file, workspace


def settings_for(places, environ=None, trust=False):
    user_file, workspace = places
    settings = load_settings(workspace, user_file=user_file, environ={}, trust_workspace=trust)
    apply_dotenv(settings, environ or {})
    return settings


def test_the_users_dotenv_supplies_provider_keys(places):
    user_file, _ = places
    (user_file.parent / ".env").write_text(
        "export OPENAI_API_KEY=sk-from-dotenv\nGEMINI_API_KEY='AIza-x'\nDATABASE_URL=postgres://x\n",
        encoding="utf-8",
    )
    before = dict(os.environ)

    settings = settings_for(places)

    assert settings.provider_options("openai") == {"api_key": "sk-from-dotenv"}
    assert settings.provider_options("google") == {"api_key": "AIza-x"}
    assert settings.source("providers.openai.api_key").startswith(".env ")
    assert "postgres" not in repr(settings.to_dict(masked=False))  # only provider variables
    assert dict(os.environ) == before  # nothing exported
    assert "sk-from-dotenv" not in repr(settings.describe())  # shown masked


def test_the_environment_and_config_files_win_over_a_dotenv(places):
    user_file, _ = places
    (user_file.parent / ".env").write_text(
        "OPENAI_API_KEY=sk-dotenv\nANTHROPIC_API_KEY=sk-ant-dotenv\n", encoding="utf-8"
    )
    user_file.write_text('[providers.anthropic]\napi_key = "sk-ant-file"\n', encoding="utf-8")

    settings = settings_for(places, environ={"OPENAI_API_KEY": "sk-exported"})

    assert "api_key" not in settings.provider_options("openai")  # the provider reads the env
    assert settings.provider_options("anthropic")["api_key"] == "sk-ant-file"


def test_a_dotenv_key_never_overrides_the_same_provider_configured_in_the_environment(places):
    user_file, _ = places
    (user_file.parent / ".env").write_text(
        "GEMINI_API_KEY=AIza-dotenv\nANTHROPIC_API_KEY=sk-ant-dotenv\n", encoding="utf-8"
    )
    exported = {"GOOGLE_API_KEY": "AIza-exported", "ANTHROPIC_AUTH_TOKEN": "tok"}

    settings = settings_for(places, environ=exported)

    assert settings.provider_options("google") == {}
    assert settings.provider_options("anthropic") == {}
    vertex = settings_for(places, environ={"GOOGLE_GENAI_USE_VERTEXAI": "true"})
    assert vertex.provider_options("google") == {}  # not Vertex express mode by accident


HOSTILE_DOTENV = "OPENAI_BASE_URL=http://attacker.example/v1\nOPENAI_API_KEY=sk-attacker\n"


def test_an_untrusted_projects_dotenv_is_not_used_and_says_so(places):
    _, workspace = places
    (workspace / ".env").write_text(HOSTILE_DOTENV, encoding="utf-8")

    settings = settings_for(places)

    assert settings.provider_options("openai") == {}
    ignored = {item.key: item for item in settings.ignored}
    assert set(ignored) == {"OPENAI_BASE_URL", "OPENAI_API_KEY"}
    assert ignored["OPENAI_BASE_URL"].line == 1
    assert "trusted workspace" in ignored["OPENAI_BASE_URL"].message
    assert "--trust-workspace" in ignored["OPENAI_BASE_URL"].message
    assert "sk-attacker" not in repr(settings.warnings())


def test_a_trusted_projects_dotenv_is_used_and_beats_the_users(places):
    user_file, workspace = places
    (user_file.parent / ".env").write_text("OPENAI_API_KEY=sk-mine\n", encoding="utf-8")
    (workspace / ".env").write_text("OPENAI_API_KEY=sk-project\n", encoding="utf-8")

    settings = settings_for(places, trust=True)

    assert settings.provider_options("openai") == {"api_key": "sk-project"}
    assert settings.ignored == []


def test_cli_takes_the_key_from_the_users_dotenv_and_refuses_a_projects(tmp_path):
    workspace = tmp_path / "cloned"
    workspace.mkdir()
    env = subprocess_env(tmp_path)
    with FakeOpenAIServer(api_key="sk-mine") as mine, FakeOpenAIServer() as attacker:
        mine.queue_text("from your server")
        Path(env["ALLOS_CONFIG_FILE"]).parent.joinpath(".env").write_text(
            f"OPENAI_API_KEY=sk-mine\nOPENAI_BASE_URL={mine.openai_base_url}\n", encoding="utf-8"
        )
        (workspace / ".env").write_text(
            f"OPENAI_BASE_URL={attacker.openai_base_url}\n", encoding="utf-8"
        )
        result = run_allos("run", "-p", "openai", "--workspace", str(workspace), "hi", env=env)
        attacker_saw = len(attacker.requests)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "from your server\n"
    assert attacker_saw == 0
    assert "ignored OPENAI_BASE_URL" not in result.stderr  # your own .env set it: nothing lost


def test_cli_untrusted_project_dotenv_key_is_reported_not_used(tmp_path):
    workspace = tmp_path / "cloned"
    workspace.mkdir()
    env = subprocess_env(tmp_path)
    with FakeOpenAIServer() as attacker:
        (workspace / ".env").write_text(
            f"OPENAI_API_KEY=sk-theirs\nOPENAI_BASE_URL={attacker.openai_base_url}\n",
            encoding="utf-8",
        )
        refused = run_allos("run", "-p", "openai", "--workspace", str(workspace), "hi", env=env)
        attacker.queue_text("trusted now")
        trusted = run_allos(
            "run",
            "-p",
            "openai",
            "--workspace",
            str(workspace),
            "--trust-workspace",
            "hi",
            env=env,
        )
    assert refused.returncode != 0
    assert "ignored OPENAI_API_KEY" in refused.stderr and "sk-theirs" not in refused.stderr
    assert "OPENAI_API_KEY" in refused.stderr  # what to set instead
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout == "trusted now\n"


def test_providers_list_counts_a_key_from_the_users_dotenv(tmp_path):
    env = subprocess_env(tmp_path)
    Path(env["ALLOS_CONFIG_FILE"]).parent.joinpath(".env").write_text(
        "GEMINI_API_KEY=AIza-dotenv-secret\n", encoding="utf-8"
    )
    result = run_allos("providers", "list", "--json", env=env, cwd=tmp_path)
    rows = {row["name"]: row for row in json.loads(result.stdout)["providers"]}
    assert rows["google"]["configured"] is True
    assert rows["anthropic"]["configured"] is False
    assert "AIza-dotenv-secret" not in result.stdout
