"""The restructured core keeps its public faces: names importable where they were, the config
package free of import cycles, settings resolved in one pass, the sync helpers public."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CONFIG_NAMES = [
    "CONFIG_FILE_ENV",
    "DEFAULT_MAX_ITERATIONS",
    "ENV_VARS",
    "PROVIDER_ENV",
    "REASON_ENDPOINT",
    "REASON_SECRET",
    "REASON_UNTRUSTED",
    "REASON_USER_ONLY",
    "RULE_KINDS",
    "SCALAR_DEFAULTS",
    "TRUST_KEY",
    "WORKSPACE_FILE",
    "WORKSPACE_SAFE_OPTIONS",
    "ConfigError",
    "IgnoredSetting",
    "RuleSetting",
    "Settings",
    "find_key_line",
    "is_secret",
    "load_settings",
    "mask",
    "read_config_file",
    "restrict_workspace_config",
    "user_config_path",
    "validate_config",
    "workspace_config_path",
    "workspace_restriction",
]


def test_every_name_of_the_old_config_module_is_importable_from_the_package():
    import allos_core.config as config

    missing = [name for name in CONFIG_NAMES if not hasattr(config, name)]

    assert missing == []


def test_the_agent_module_still_exports_its_public_names():
    from allos_core.agent import Agent, AskFunction, PermissionRequest, RunResult

    assert RunResult.__name__ == "RunResult" and callable(Agent)
    assert PermissionRequest.__name__ == "PermissionRequest" and AskFunction is not None


@pytest.mark.parametrize(
    "module", ["settings", "workspace_policy", "dotenv_keys", "loading", "files", "ignored"]
)
def test_each_config_module_imports_first_in_a_fresh_interpreter(module):
    # an import cycle shows as an ImportError when the module in the middle is imported first
    code = f"import allos_core.config.{module}"

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr


def test_the_settings_and_policy_modules_do_not_import_each_other_at_run_time():
    source = Path(__file__).parents[1] / "allos_core" / "config"
    settings = (source / "settings.py").read_text(encoding="utf-8")
    ignored = (source / "ignored.py").read_text(encoding="utf-8")

    assert "workspace_policy" not in settings.split('"""', 2)[2]
    assert "allos_core.config" not in ignored.split('"""', 2)[2]


def test_resolved_settings_include_the_users_dotenv_keys_in_one_pass(tmp_path):
    from allos_core.config import load_settings, resolve_settings

    user_file = tmp_path / "config" / "config.toml"
    user_file.parent.mkdir()
    user_file.write_text('model = "m"\n', encoding="utf-8")
    (user_file.parent / ".env").write_text("OPENAI_API_KEY=sk-dotenv\n", encoding="utf-8")
    workspace = tmp_path / "repo"
    workspace.mkdir()

    resolved = resolve_settings(workspace, user_file=user_file, environ={})
    loaded = load_settings(workspace, user_file=user_file, environ={})

    assert resolved.provider_options("openai") == {"api_key": "sk-dotenv"}
    assert loaded.provider_options("openai") == {}
    assert resolved.model == "m"


def test_run_sync_runs_sync_tools_on_daemon_threads():
    from allos_core.sync_loop import run_sync

    async def work() -> bool:
        return await asyncio.to_thread(lambda: threading.current_thread().daemon)

    assert run_sync(work()) is True


def test_a_sync_agent_call_inside_a_running_loop_is_refused_with_the_async_way():
    from allos_core.errors import AllosError
    from allos_core.sync_loop import refuse_inside_loop

    async def inside() -> None:
        refuse_inside_loop("run", "await agent.arun(task)")

    with pytest.raises(AllosError) as raised:
        asyncio.run(inside())

    assert "await agent.arun(task)" in (raised.value.hint or "")


def test_resolved_settings_are_read_only(tmp_path):
    import pytest

    from allos_core.config import resolve_settings

    settings = resolve_settings(tmp_path, user_file=tmp_path / "none.toml", environ={})
    with pytest.raises(AttributeError, match="read-only"):
        settings.workspace_trusted = True
    with pytest.raises(TypeError):
        settings.values["model"] = "chosen-later"  # type: ignore[index]
    with pytest.raises(TypeError):
        settings.providers["openai"] = {"base_url": "http://elsewhere"}  # type: ignore[index]
    with pytest.raises(AttributeError):
        settings.rules.append(None)  # type: ignore[attr-defined]
    assert settings.to_dict()["workspace"]["trusted"] is False  # views still work
