"""The denial hint names the part of a command that needs approval (a redirect is its own)."""

from __future__ import annotations

from allos_core.permissions import PermissionRules, no_prompt_denial, unapproved_subjects


def test_the_redirect_is_named_as_the_part_that_needs_approval():
    rules = PermissionRules.from_lists(allow=["shell_exec(echo*)"])
    needed = unapproved_subjects("shell_exec", ["echo hi", "> out.txt"], rules)
    assert needed == ["> out.txt"]
    denial = no_prompt_denial("shell_exec", needed, "default for shell_exec")
    assert denial.decision == "deny"
    assert "'> out.txt' (a write redirection)" in denial.reason
    assert "--allow 'shell_exec(>*)'" in denial.reason
    assert "shell_exec(echo*)" not in denial.reason  # already allowed: not suggested again


def test_with_no_rule_every_part_is_named():
    needed = unapproved_subjects("shell_exec", ["git status", "> log.txt"], None)
    denial = no_prompt_denial("shell_exec", needed, None)
    assert "'git status', '> log.txt' (a write redirection)" in denial.reason
    assert "--allow 'shell_exec(git*)' --allow 'shell_exec(>*)'" in denial.reason
