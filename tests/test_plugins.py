"""The plugin manager: explicit plugins, discovery, failures, conflicts, and the env switches."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from plugin_dists import make_distribution

from allos_core import hookimpl
from allos_core.errors import UnknownProviderError, UnknownToolError
from allos_core.permissions import PermissionDecision
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


@tool(read_only=True)
def echo(text: str) -> str:
    """Echo the text back."""
    return text


class EchoPlugin:
    @hookimpl
    def allos_tools(self):
        return [echo]


class ScriptedPlugin:
    @hookimpl
    def allos_providers(self):
        return [ScriptedProvider]


def test_explicit_plugins_without_discovery():
    manager = create_plugin_manager([EchoPlugin(), ScriptedPlugin()])
    assert set(manager.tools()) == {"echo"}
    assert set(manager.providers()) == {"scripted"}
    assert manager.get_tool("echo") is echo
    assert all(info.group == "explicit" for info in manager.plugins())


def test_unknown_names_have_helpful_errors():
    manager = create_plugin_manager([EchoPlugin()])
    with pytest.raises(UnknownToolError, match="installed: echo"):
        manager.get_tool("nope")
    with pytest.raises(UnknownProviderError) as err:
        manager.get_provider_class("openai")
    assert "pip install allos-openai" in err.value.hint


def test_a_plugin_whose_hook_raises_is_marked_failed_and_others_keep_working():
    class Broken:
        @hookimpl
        def allos_tools(self):
            raise RuntimeError("kaboom")

    manager = create_plugin_manager([Broken(), EchoPlugin()])
    assert set(manager.tools()) == {"echo"}
    broken = next(i for i in manager.plugins() if i.status == "failed")
    assert "kaboom" in broken.error and "allos_tools" in broken.error
    assert "Traceback" in broken.traceback


def test_conflicting_tool_names_are_left_unresolved_and_name_both():
    class Other:
        @hookimpl
        def allos_tools(self):
            return [tool(lambda text: text, name="echo")]

    manager = create_plugin_manager([EchoPlugin(), Other()])
    assert "echo" not in manager.tools()
    assert len(manager.conflicts) == 1
    message = manager.conflicts[0]
    assert "EchoPlugin" in message and "Other" in message and "[plugins.tools] echo" in message
    statuses = {i.name: i.status for i in manager.plugins()}
    assert statuses == {"EchoPlugin": "conflict", "Other": "conflict"}


def test_permission_answers_combine_deny_over_ask_over_allow():
    def plugin(answer):
        class P:
            @hookimpl
            def allos_check_permission(self, subject):
                return answer(subject)

        return P()

    manager = create_plugin_manager(
        [
            plugin(lambda s: PermissionDecision.allow("fine")),
            plugin(lambda s: None),
            plugin(lambda s: PermissionDecision.ask("hm") if s == "x" else None),
        ]
    )
    call = SimpleNamespace(name="t")
    assert (
        manager.check_permission(
            call=call, tool=echo, args=None, subject="x", context=None
        ).decision
        == "ask"
    )
    assert (
        manager.check_permission(
            call=call, tool=echo, args=None, subject="y", context=None
        ).decision
        == "allow"
    )

    denier = plugin(lambda s: PermissionDecision.deny("no"))
    manager = create_plugin_manager([plugin(lambda s: PermissionDecision.allow()), denier])
    assert (
        manager.check_permission(
            call=call, tool=echo, args=None, subject="x", context=None
        ).decision
        == "deny"
    )
    assert create_plugin_manager([]).check_permission(call=call, subject="x") is None


def test_a_permission_plugin_that_raises_fails_closed():
    class Broken:
        @hookimpl
        def allos_check_permission(self):
            raise ValueError("bug")

    decision = create_plugin_manager([Broken()]).check_permission(subject="x")
    assert decision.decision == "deny" and "bug" in decision.reason


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Fake installed distributions: a good tool plugin, one failing on import, a conflicting one."""
    make_distribution(
        tmp_path,
        "good-plugin",
        "good_plugin",
        """
        from allos_core import hookimpl, tool

        @tool
        def shout(text: str) -> str:
            '''Upper-case the text.'''
            return text.upper()

        @hookimpl
        def allos_tools():
            return [shout]
        """,
    )
    make_distribution(tmp_path, "bad-plugin", "bad_plugin", "raise ImportError('missing thing')\n")
    make_distribution(
        tmp_path,
        "later-copycat",
        "copycat",
        """
        from allos_core import hookimpl, tool

        @hookimpl
        def allos_tools():
            return [tool(lambda text: text, name="shout")]
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("good_plugin", "bad_plugin", "copycat"):
        sys.modules.pop(name, None)


def _by_name(manager):
    return {info.name: info for info in manager.plugins()}


def test_discovery_records_failures_and_conflicts(installed):
    manager = create_plugin_manager()
    infos = _by_name(manager)
    assert infos["good_plugin"].distribution == "good-plugin"
    assert infos["good_plugin"].version == "1.2.3"
    assert infos["good_plugin"].tools == ["shout"]
    assert infos["bad_plugin"].status == "failed"
    assert infos["bad_plugin"].error == "ImportError: missing thing"
    assert infos["copycat"].status == infos["good_plugin"].status == "conflict"
    assert "later-copycat" in manager.conflicts[0] and "good-plugin" in manager.conflicts[0]
    assert "shout" not in manager.tools()
    assert "scripted" in manager.providers()  # the built-in provider is an entry point too


def test_env_switches_limit_and_disable_plugins(installed, monkeypatch):
    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "bad-plugin, later-copycat")
    infos = _by_name(create_plugin_manager())
    assert infos["bad_plugin"].status == "disabled"
    assert infos["copycat"].status == "disabled"
    assert infos["good_plugin"].status == "ok"

    monkeypatch.delenv("ALLOS_DISABLE_PLUGINS")
    monkeypatch.setenv("ALLOS_PLUGINS", "good_plugin")
    manager = create_plugin_manager()
    loaded = {i.name for i in manager.plugins() if i.status == "ok"}
    assert loaded == {"good_plugin"}
    assert manager.providers() == {}


def test_registering_later_collects_again_without_duplicates():
    class Other:
        @hookimpl
        def allos_tools(self):
            return [echo]

    manager = create_plugin_manager([EchoPlugin()])
    assert set(manager.tools()) == {"echo"}
    manager.register(Other())
    manager.tools()
    manager.plugins()
    infos = {i.name: (i.tools, i.status) for i in manager.plugins()}
    assert infos == {"EchoPlugin": (["echo"], "conflict"), "Other": (["echo"], "conflict")}
    assert len(manager.conflicts) == 1
