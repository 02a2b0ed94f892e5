"""Config for money: ``max_cost`` and ``[prices]``; what an untrusted workspace may set."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from allos_core.config import load_settings
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


def load(workspace, user_file, **kwargs):
    return load_settings(workspace, user_file=user_file, environ={}, **kwargs)


def test_prices_and_max_cost_are_core_keys_not_plugin_sections(workspace, user_file):
    write(
        user_file,
        """
        max_cost = 2
        [prices."my-model"]
        input_per_mtok = 0.5
        output_per_mtok = 1.5
        """,
    )
    settings = load(workspace, user_file)
    assert settings.max_cost == 2
    assert settings.prices == {"my-model": {"input_per_mtok": 0.5, "output_per_mtok": 1.5}}
    assert "prices" not in settings.sections


def test_bad_price_names_file_line_and_key(workspace, user_file):
    write(
        user_file,
        """
        [prices."m"]
        input_per_mtok = "cheap"
        output_per_mtok = 1
        """,
    )
    with pytest.raises(ConfigError, match=r"config.toml:2: prices.m.input_per_mtok"):
        load(workspace, user_file)


def test_price_with_an_unknown_key_is_refused(workspace, user_file):
    write(user_file, '[prices."m"]\ninput_per_mtok = 1\noutput_per_mtok = 1\nper_call = 3\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load(workspace, user_file)


def test_negative_budget_is_refused(workspace, user_file):
    write(user_file, "max_cost = -1\n")
    with pytest.raises(ConfigError, match="max_cost"):
        load(workspace, user_file)


def test_untrusted_workspace_may_lower_the_budget(workspace, user_file):
    write(user_file, "max_cost = 5.0\n")
    write(workspace / "allos.toml", "max_cost = 1.0\n")
    assert load(workspace, user_file).max_cost == 1.0


def test_untrusted_workspace_may_not_raise_the_budget(workspace, user_file):
    write(user_file, "max_cost = 1.0\n")
    write(workspace / "allos.toml", "max_cost = 500.0\n")
    settings = load(workspace, user_file)
    assert settings.max_cost == 1.0
    [ignored] = [i for i in settings.ignored if i.key == "max_cost"]
    assert "only lower the budget" in ignored.message and ignored.line == 1


def test_trusted_workspace_may_raise_the_budget(workspace, user_file):
    write(user_file, "max_cost = 1.0\n")
    write(workspace / "allos.toml", "max_cost = 3.0\n")
    assert load(workspace, user_file, trust_workspace=True).max_cost == 3.0


def test_untrusted_workspace_prices_are_ignored(workspace, user_file):
    write(user_file, '[prices."gpt-4o"]\ninput_per_mtok = 2.5\noutput_per_mtok = 10\n')
    write(workspace / "allos.toml", '[prices."gpt-4o"]\ninput_per_mtok = 0\noutput_per_mtok = 0\n')
    settings = load(workspace, user_file)
    assert settings.prices["gpt-4o"]["input_per_mtok"] == 2.5
    ignored = [i for i in settings.ignored if i.key == "prices"]
    assert ignored and "trusted" in ignored[0].message


def test_flag_budget_beats_the_files(workspace, user_file):
    write(user_file, "max_cost = 1.0\n")
    assert load(workspace, user_file, flags={"max_cost": 0.25}).max_cost == 0.25


def test_config_show_lists_the_prices_with_their_source(workspace, user_file):
    write(user_file, '[prices."m"]\ninput_per_mtok = 0.5\noutput_per_mtok = 2\n')
    rows = load(workspace, user_file).describe()
    assert (
        'prices."m"',
        "input_per_mtok = 0.5, output_per_mtok = 2",
        f"user file {user_file}",
    ) in rows
