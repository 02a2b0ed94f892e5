"""`allos plugins list` shows what each plugin hooks into; hints about missing names tell the truth."""

from __future__ import annotations

import json
import sys

import pytest
from cli_support import invoke
from plugin_dists import make_distribution

from allos_core import hookimpl
from allos_core.errors import UnknownProviderError, UnknownToolError
from allos_core.plugins import create_plugin_manager

POLICY = """
from allos_core import hookimpl

@hookimpl
def allos_check_permission(subject):
    return None

@hookimpl
def allos_after_tool_call(call, result):
    pass
"""


@pytest.fixture
def policy_site(tmp_path, monkeypatch):
    make_distribution(tmp_path, "allos-quiet-policy", "quiet_policy", POLICY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("quiet_policy", None)


def test_a_policy_plugin_is_visible_with_its_hooks_in_json(policy_site):
    result = invoke("plugins", "list", "--json")
    assert result.exit_code == 0
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["quiet_policy"]["hooks"] == ["permission", "audit"]
    assert plugins["fs"]["hooks"] == ["tools", "permission"]  # protected config files
    assert plugins["openai"]["hooks"] == ["providers"]


def test_the_table_fits_80_columns_without_breaking_a_name(policy_site):
    result = invoke("plugins", "list", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = result.stdout.split()
    for name in ("list_directory,", "read_file,", "shell_exec", "permission", "audit"):
        assert name in words, f"{name} was broken or is missing:\n{result.stdout}"
    assert "allos-quiet-policy" in words


# -- hints ---------------------------------------------------------------------------------------


def test_scripted_is_never_offered_as_a_pip_install(monkeypatch):
    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "scripted")
    manager = create_plugin_manager()
    with pytest.raises(UnknownProviderError) as err:
        manager.get_provider_class("scripted")
    assert "pip install" not in err.value.hint
    assert "disabled" in err.value.hint and "allos-core" in err.value.hint


def test_a_disabled_first_party_plugin_is_reported_as_disabled(monkeypatch):
    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "openai,fs")
    manager = create_plugin_manager()
    with pytest.raises(UnknownProviderError) as err:
        manager.get_provider_class("openai")
    assert "pip install" not in err.value.hint and "disabled" in err.value.hint
    with pytest.raises(UnknownToolError) as tool_err:
        manager.get_tool("read_file")
    assert "allos-fs is installed but disabled" in tool_err.value.hint


def test_install_hints_only_for_first_party_names_not_installed():
    class Nothing:
        @hookimpl
        def allos_tools(self):
            return []

    manager = create_plugin_manager([Nothing()])
    with pytest.raises(UnknownProviderError) as err:
        manager.get_provider_class("echo")
    assert "pip install" not in err.value.hint
    with pytest.raises(UnknownProviderError) as err:
        manager.get_provider_class("anthropic")
    assert "pip install allos-anthropic" in err.value.hint


def test_the_no_provider_hint_does_not_suggest_installing_a_disabled_plugin(monkeypatch):
    from allos_core.cli.setup import no_provider_hint

    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "openai,anthropic,google,ollama")
    manager = create_plugin_manager()
    hint = no_provider_hint(manager.providers(), manager.infos)
    assert "pip install allos-openai" not in hint
    assert "disabled" in hint


def test_plugin_supplied_text_cannot_drive_the_terminal(tmp_path, monkeypatch):
    make_distribution(
        tmp_path,
        "allos-sneaky",
        "sneaky_plugin",
        "raise ImportError('\\x1b]0;pwned\\x07\\x1b[2J gone')\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        result = invoke("plugins", "list", "-v")
    finally:
        sys.modules.pop("sneaky_plugin", None)
    assert result.exit_code == 0
    assert "sneaky_plugin failed" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_the_demo_says_a_disabled_tool_plugin_is_disabled(monkeypatch):
    from allos_core.cli.demo import check_demo_plugins

    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "fs")
    with pytest.raises(UnknownToolError) as err:
        check_demo_plugins()
    assert "allos-fs is installed but disabled" in err.value.hint
    assert "pip install" not in err.value.hint
