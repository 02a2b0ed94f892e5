"""Opaque subjects and deny-only aliases in the core's rule matching (the contract tools use)."""

from __future__ import annotations

import pytest

from allos_core.permissions import PermissionRules, is_opaque_subject


@pytest.mark.parametrize(
    ("subject", "opaque"),
    [("<dynamic> $X -rf", True), ("<unparsed> [[ x ]]", True), ("git status", False),
     ("< in.txt sort", False), ("<in.txt sort", False), (None, False)],
)  # fmt: skip
def test_opaque_subjects_are_recognised(subject, opaque):
    assert is_opaque_subject(subject) is opaque


def test_any_deny_rule_for_the_tool_denies_an_opaque_subject():
    rules = PermissionRules.from_lists(deny=["shell_exec(curl *)"])
    answer = rules.decide("shell_exec", ["<dynamic> $X x"])
    assert answer is not None and answer.decision == "deny"


def test_deny_rule_for_another_tool_does_not_touch_it():
    rules = PermissionRules.from_lists(deny=["write_file(*.env)"])
    assert rules.decide("shell_exec", ["<dynamic> $X x"]) is None


def test_pattern_allow_never_allows_an_opaque_subject():
    rules = PermissionRules.from_lists(allow=["shell_exec(*X*)", "shell_exec(<dynamic>*)"])
    assert rules.decide("shell_exec", ["<dynamic> $X x"]) is None


@pytest.mark.parametrize("rule", ["shell_exec", "shell_exec(*)"])
def test_allow_every_call_still_allows_it(rule):
    rules = PermissionRules.from_lists(allow=[rule])
    answer = rules.decide("shell_exec", ["<dynamic> $X x"])
    assert answer is not None and answer.decision == "allow"


def test_ask_rule_makes_an_opaque_subject_ask():
    rules = PermissionRules.from_lists(allow=["shell_exec"], ask=["shell_exec(git push*)"])
    answer = rules.decide("shell_exec", ["<dynamic> $X x"])
    assert answer is not None and answer.decision == "ask"


def test_path_subjects_are_never_opaque():
    rules = PermissionRules.from_lists(deny=["write_file(secret/*)"])
    assert rules.decide("write_file", ["<dynamic> x"], path_like=True) is None


def test_aliases_are_seen_by_deny_rules_only():
    rules = PermissionRules.from_lists(allow=["shell_exec(git *)"], deny=["shell_exec(rm *)"])
    # a deny rule matching an alias denies
    denied = rules.decide("shell_exec", ["/bin/rm x"], aliases=["rm x"])
    assert denied is not None and denied.decision == "deny"
    # an allow rule matching only an alias does not allow
    assert rules.decide("shell_exec", ["/tmp/evil/git x"], aliases=["git x"]) is None
    # an alias no rule matches does not stop an allowed subject
    allowed = rules.decide("shell_exec", ["git x"], aliases=["something else"])
    assert allowed is not None and allowed.decision == "allow"


def test_suggested_rule_for_an_opaque_subject_is_the_only_rule_that_works():
    from allos_core.permissions import suggested_rule

    assert suggested_rule("shell_exec", "<dynamic> $X x") == "shell_exec"
    assert suggested_rule("shell_exec", "pytest -q") == "shell_exec(pytest*)"
