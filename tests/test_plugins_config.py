"""`[plugins]` in the config files: strict loading and who gets a shared name."""

from __future__ import annotations

import pytest

from allos_core.config import load_settings
from allos_core.errors import ConfigError


@pytest.fixture
def files(tmp_path):
    workspace = tmp_path / "project"
    workspace.mkdir()
    return workspace, tmp_path / "user.toml"


def test_the_user_file_sets_strict_and_choices(files):
    workspace, user = files
    user.write_text(
        '[plugins]\nstrict = true\n[plugins.tools]\nread_file = "allos-fs"\n'
        '[plugins.providers]\nopenai = "allos-openai"\n'
    )
    settings = load_settings(workspace, user_file=user, environ={})
    assert settings.strict_plugins is True
    assert settings.plugin_choices == {
        "tools": {"read_file": "allos-fs"},
        "providers": {"openai": "allos-openai"},
    }
    assert "plugins" not in settings.sections  # a core table, not a plugin section
    shown = {key: value for key, value, _ in settings.describe()}
    assert shown["plugins.tools.read_file"] == "allos-fs"


def test_an_unknown_key_under_plugins_is_an_error_naming_the_known_ones(files):
    workspace, user = files
    user.write_text("[plugins]\nstrikt = true\n")
    with pytest.raises(ConfigError) as err:
        load_settings(workspace, user_file=user, environ={})
    assert "plugins.strikt" in str(err.value) and "strict" in (err.value.hint or "")


def test_an_untrusted_workspace_can_turn_strict_on_but_cannot_pick_owners(files):
    workspace, user = files
    user.write_text("")
    (workspace / "allos.toml").write_text(
        '[plugins]\nstrict = true\n[plugins.tools]\nread_file = "allos-evil"\n'
    )
    settings = load_settings(workspace, user_file=user, environ={})
    assert settings.strict_plugins is True
    assert settings.plugin_choices == {}
    assert any(item.key == "plugins.tools.read_file" for item in settings.ignored)


def test_a_workspace_cannot_turn_strict_off(files):
    workspace, user = files
    user.write_text("[plugins]\nstrict = true\n")
    (workspace / "allos.toml").write_text("[plugins]\nstrict = false\n")
    assert load_settings(workspace, user_file=user, environ={}).strict_plugins is True


def test_a_trusted_workspace_may_pick_owners(files):
    workspace, user = files
    user.write_text("")
    (workspace / "allos.toml").write_text('[plugins.tools]\nread_file = "allos-fs"\n')
    settings = load_settings(workspace, user_file=user, environ={}, trust_workspace=True)
    assert settings.plugin_choices == {"tools": {"read_file": "allos-fs"}}
