"""`allos keys`: keys stored in the user config folder (0600), never shown, the env still wins."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cli_support import invoke

from allos_core.config import load_settings
from allos_core.config.dotenv_keys import apply_dotenv


def _env_file() -> Path:
    return Path(os.environ["ALLOS_CONFIG_FILE"]).parent / ".env"


def test_set_stores_the_key_with_mode_0600_and_keeps_other_lines():
    path = _env_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# mine\nOTHER=1\n")
    result = invoke("keys", "set", "openai", input="sk-secret-123\n")
    assert result.exit_code == 0, result.stderr
    assert "sk-secret-123" not in result.stdout + result.stderr  # never shown
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "# mine" in text and "OTHER=1" in text and "OPENAI_API_KEY='sk-secret-123'" in text
    again = invoke("keys", "set", "openai", input="sk-new\n")
    assert again.exit_code == 0
    assert path.read_text().count("OPENAI_API_KEY") == 1


def test_the_stored_key_is_used_and_the_environment_wins(tmp_path, monkeypatch):
    invoke("keys", "set", "anthropic", input="sk-ant-stored\n")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = load_settings(tmp_path)
    apply_dotenv(settings, environ={})
    assert settings.provider_options("anthropic")["api_key"] == "sk-ant-stored"
    settings = load_settings(tmp_path)
    apply_dotenv(settings, environ={"ANTHROPIC_API_KEY": "sk-ant-env"})
    assert "api_key" not in settings.provider_options("anthropic")


def test_list_says_where_each_key_comes_from_and_never_shows_it(monkeypatch):
    invoke("keys", "set", "google", input="AIza-stored\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-only")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    result = invoke("keys", "list", "--json", env={"OPENAI_API_KEY": "sk-env-only"})
    rows = {row["provider"]: row for row in json.loads(result.stdout)}
    assert rows["openai"]["source"] == "env OPENAI_API_KEY"
    assert rows["google"]["source"].startswith("file ")
    assert rows["anthropic"]["source"] is None
    assert "AIza-stored" not in result.stdout and "sk-env-only" not in result.stdout
    table = invoke("keys", "list")
    assert "not set" in table.stdout and "AIza" not in table.stdout


def test_config_show_masks_a_stored_key(tmp_path):
    invoke("keys", "set", "openai", input="sk-never-shown\n")
    result = invoke("config", "show", "--workspace", str(tmp_path), env={"OPENAI_API_KEY": ""})
    assert "sk-never-shown" not in result.stdout + result.stderr


def test_rm_and_bad_input():
    invoke("keys", "set", "openai", input="sk-1\n")
    removed = invoke("keys", "rm", "openai")
    assert removed.exit_code == 0 and "removed" in removed.stderr
    assert "OPENAI_API_KEY" not in _env_file().read_text()
    assert "no key was stored" in invoke("keys", "rm", "openai").stderr
    empty = invoke("keys", "set", "openai", input="\n")
    assert empty.exit_code == 2 and "empty" in empty.stderr
    unknown = invoke("keys", "set", "ollama", input="x\n")
    assert unknown.exit_code == 2
