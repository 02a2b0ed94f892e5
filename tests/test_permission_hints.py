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


def test_a_run_without_a_terminal_says_which_part_was_refused(tmp_path):
    # given echo is allowed but not the redirect that writes notes.txt
    from cli_support import call, invoke, write_script

    from allos_core.sessions import Session

    work = tmp_path / "work"
    work.mkdir()
    script = write_script(
        tmp_path, [{"tool_calls": [call("shell_exec", command="echo hi > notes.txt")]}, "ok"]
    )
    result = invoke(
        "run", "-p", "scripted", "-m", str(script), "--workspace", str(work),
        "--allow", "shell_exec(echo*)", "-s", str(tmp_path / "s.json"), "write notes",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    # then the denial the model (and the user) read names the redirect and the rule for it
    [tool] = [m for m in Session.load(tmp_path / "s.json").messages if m.role == "tool"]
    denial = tool.parts[0].content
    assert "'> notes.txt' (a write redirection)" in denial
    assert "--allow 'shell_exec(>*)'" in denial
    assert not (work / "notes.txt").exists()
