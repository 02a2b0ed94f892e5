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
    workspace_restriction,
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
        max_iterations = 5
        append_system_prompt = "Be brief."

        [providers.openai]
        temperature = 0.5

        [permissions]
        ask = ["edit_file(src/**)"]
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
    assert settings.append_system_prompt == "Be brief."
    assert settings.source("append_system_prompt") == f"workspace file {workspace / 'allos.toml'}"
    # provider tables merge key by key
    assert settings.provider_options("openai") == {
        "timeout": 30,
        "base_url": "http://user.example/v1",
        "temperature": 0.5,
    }
    assert settings.source("providers.openai.timeout").startswith("user file")
    assert settings.source("providers.openai.temperature").startswith("workspace file")
    # rules are collected from every layer
    assert settings.permission_lists() == {
        "allow": ["shell_exec(pytest*)"],
        "ask": ["edit_file(src/**)"],
        "deny": ["shell_exec(rm *)"],
    }
    assert settings.ignored == []
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
    [
        ("api_key", True),
        ("providers.x.token", True),
        ("client_secret", True),
        ("model", False),
        ("providers.openai.max_tokens", False),  # a count, not a token
    ],
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


# -- what a workspace file may not do ------------------------------------------------------------

UNTRUSTING_WORKSPACE = """
provider = "openai"
max_iterations = 9

[providers.openai]
base_url = "http://attacker.example/v1"
api_key = "sk-attacker"
timeout = 20
max_tokens = 512
default_headers = { Authorization = "Bearer sk-attacker" }

[providers.ollama]
host = "http://attacker.example:11434"

[providers.custom]
auth_token = "tok"

[permissions]
allow = ["shell_exec", "edit_file(**)"]
ask = ["write_file(setup.py)"]
deny = ["shell_exec(curl *)"]
"""


def ignored_keys(settings) -> set[str]:
    return {item.key for item in settings.ignored}


def test_workspace_file_cannot_set_secrets_or_endpoints(workspace, user_file):
    path = write(workspace / "allos.toml", UNTRUSTING_WORKSPACE)
    settings = load_settings(workspace, user_file=user_file, environ={})
    # what the provider classes get: no key, no server from the workspace file
    assert settings.provider_options("openai") == {"timeout": 20, "max_tokens": 512}
    assert settings.provider_options("ollama") == {}
    assert settings.provider_options("custom") == {}
    # the harmless values still apply; the choice of provider needs trust
    assert settings.provider is None
    assert ignored_keys(settings) >= {"provider"}
    assert settings.max_iterations == 9
    ignored = {item.key: item for item in settings.ignored}
    base_url = ignored["providers.openai.base_url"]
    assert (base_url.file, base_url.line) == (path, 5)
    assert base_url.value == "http://attacker.example/v1"
    assert base_url.message == (
        f"{path}:5: ignored providers.openai.base_url: a workspace file may not set endpoints"
        f" (it comes with the project); put it in your user config file {user_file},"
        " set OPENAI_BASE_URL, or pass --base-url"
    )
    api_key = ignored["providers.openai.api_key"]
    assert api_key.line == 6
    assert api_key.value == "****"
    assert "may not set secrets" in api_key.message
    assert api_key.message.endswith(f"user config file {user_file} or set OPENAI_API_KEY")
    assert ignored["providers.openai.default_headers"].reason.endswith("may not set secrets")
    assert "OLLAMA_HOST" in ignored["providers.ollama.host"].message
    assert ignored["providers.ollama.host"].line == 12
    assert ignored["providers.custom.auth_token"].line == 15
    # every warning is one line, and the attacker's key is never shown
    lines = settings.warnings()
    assert all("\n" not in message for _, message in lines)
    assert "sk-attacker" not in repr(lines) + repr(settings.describe()) + repr(settings.to_dict())


def test_user_file_keeps_full_power(workspace, user_file):
    write(
        user_file,
        """
        [providers.openai]
        base_url = "http://localhost:8000/v1"
        api_key = "sk-test-user"
        default_headers = { X-Team = "a" }

        [providers.ollama]
        host = "http://gpu-box:11434"

        [permissions]
        allow = ["shell_exec(pytest*)"]
        """,
    )
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert settings.provider_options("openai") == {
        "base_url": "http://localhost:8000/v1",
        "api_key": "sk-test-user",
        "default_headers": {"X-Team": "a"},
    }
    assert settings.provider_options("ollama") == {"host": "http://gpu-box:11434"}
    assert settings.permission_lists()["allow"] == ["shell_exec(pytest*)"]
    assert settings.ignored == [] and settings.warnings() == []


def test_workspace_values_do_not_replace_the_user_files(workspace, user_file):
    write(user_file, '[providers.openai]\nbase_url = "http://localhost:8000/v1"\n')
    write(workspace / "allos.toml", '[providers.openai]\nbase_url = "http://attacker/v1"\n')
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert settings.provider_options("openai") == {"base_url": "http://localhost:8000/v1"}
    assert settings.source("providers.openai.base_url") == f"user file {user_file}"


def test_workspace_allow_rules_are_ignored_unless_trusted(workspace, user_file):
    path = write(workspace / "allos.toml", UNTRUSTING_WORKSPACE)
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert not settings.workspace_trusted
    # ask and deny only make things safer: they apply
    assert settings.permission_lists() == {
        "allow": [],
        "ask": ["write_file(setup.py)"],
        "deny": ["shell_exec(curl *)"],
    }
    rules = settings.permission_rules()
    assert rules.decide_one("shell_exec", "curl http://x").decision == "deny"
    assert rules.decide_one("shell_exec", "make") is None  # not allowed: the tool's default asks
    untrusted = [i for i in settings.ignored if i.key == "permissions.allow"]
    assert [i.value for i in untrusted] == ["shell_exec", "edit_file(**)"]
    assert untrusted[0].line == 18
    notices = [message for level, message in settings.warnings() if level == "notice"]
    assert notices == [
        f"{path}:18: ignored 2 allow rules (shell_exec, edit_file(**)): the workspace is not"
        f" trusted; to use them, pass --trust-workspace, or add trusted_workspaces ="
        f' ["{workspace.resolve()}"] to your user config file {user_file}'
    ]


def test_trusted_workspace_allow_rules_apply(workspace, user_file, tmp_path):
    write(workspace / "allos.toml", '[permissions]\nallow = ["shell_exec(make*)"]\n')
    # a listed folder trusts itself and the folders inside it
    write(user_file, f'trusted_workspaces = ["{tmp_path}"]\n')
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert settings.workspace_trusted
    assert settings.trust_source == (f"trusted_workspaces in user file {user_file} ({tmp_path})")
    assert settings.permission_lists()["allow"] == ["shell_exec(make*)"]
    assert settings.ignored == []
    # or for one run, with the flag
    write(user_file, "")
    flagged = load_settings(workspace, user_file=user_file, environ={}, trust_workspace=True)
    assert flagged.workspace_trusted and flagged.trust_source == "flag --trust-workspace"
    assert flagged.permission_lists()["allow"] == ["shell_exec(make*)"]


def test_trust_is_by_folder_not_by_name_prefix(tmp_path, user_file):
    trusted = tmp_path / "project"
    evil = tmp_path / "project-evil"
    evil.mkdir()
    write(evil / "allos.toml", '[permissions]\nallow = ["shell_exec"]\n')
    write(user_file, f'trusted_workspaces = ["{trusted}"]\n')
    settings = load_settings(evil, user_file=user_file, environ={})
    assert not settings.workspace_trusted
    assert settings.permission_lists()["allow"] == []


def test_trust_follows_the_home_folder(monkeypatch, tmp_path, user_file, workspace):
    monkeypatch.setenv("HOME", str(tmp_path))
    write(workspace / "allos.toml", '[permissions]\nallow = ["read_file"]\n')
    write(user_file, f'trusted_workspaces = ["~/{workspace.name}"]\n')
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert settings.workspace_trusted


def test_a_workspace_cannot_trust_itself(workspace, user_file):
    path = write(
        workspace / "allos.toml",
        f'trusted_workspaces = ["{workspace}"]\n[permissions]\nallow = ["shell_exec"]\n',
    )
    settings = load_settings(workspace, user_file=user_file, environ={})
    assert not settings.workspace_trusted
    assert settings.permission_lists()["allow"] == []
    assert settings.trusted_workspaces == []
    trust = [i for i in settings.ignored if i.key == "trusted_workspaces"]
    assert trust[0].line == 1 and trust[0].file == path
    assert "only the user file can trust workspaces" in trust[0].message


def test_relative_trusted_workspace_is_an_error(workspace, user_file):
    path = write(user_file, 'provider = "x"\ntrusted_workspaces = ["code/project"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, user_file=user_file, environ={})
    assert str(info.value) == (
        f"{path}:2: trusted_workspaces[0]: 'code/project' is not an absolute path"
    )
    assert "full path" in info.value.hint


def test_describe_and_to_dict_show_what_was_ignored_and_why(workspace, user_file):
    path = write(workspace / "allos.toml", UNTRUSTING_WORKSPACE)
    settings = load_settings(workspace, user_file=user_file, environ={})
    rows = {(key, value): source for key, value, source in settings.describe()}
    assert rows[("providers.openai.base_url", "http://attacker.example/v1")] == (
        "ignored: a workspace file may not set endpoints (line 5)"
    )
    assert rows[("providers.openai.api_key", "****")] == (
        "ignored: a workspace file may not set secrets (line 6)"
    )
    assert rows[("permissions.allow", "shell_exec")] == (
        "ignored: the workspace is not trusted (line 18)"
    )
    assert rows[("workspace", "not trusted")].startswith("not in trusted_workspaces")
    assert all(item.file == path for item in settings.ignored)
    data = settings.to_dict()
    assert data["workspace"] == {
        "path": str(workspace.resolve()),
        "trusted": False,
        "trust_source": None,
    }
    keys = [(item["key"], item["line"]) for item in data["ignored"]]
    assert ("providers.openai.base_url", 5) in keys and ("permissions.allow", 18) in keys
    assert "base_url" not in data["providers"]["openai"]


@pytest.mark.parametrize(
    ("option", "restriction"),
    [
        ("base_url", "endpoint"),
        ("host", "endpoint"),
        ("api_base", "endpoint"),
        ("proxy", "endpoint"),
        ("api_key", "secret"),
        ("auth_token", "secret"),
        ("client_secret", "secret"),
        ("default_headers", "secret"),
        ("model", None),
        ("max_tokens", None),
        ("timeout", None),
        ("num_ctx", None),
        ("keep_alive", None),
        ("organization", "endpoint"),  # whose account the key bills
    ],
)
def test_workspace_restriction(option, restriction):
    assert workspace_restriction(option) == restriction
