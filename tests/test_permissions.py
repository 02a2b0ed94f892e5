"""Permission decisions: combination tables, rules, "always" answers and the agent's prompts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from allos_core import events as ev
from allos_core.agent import Agent, PermissionRequest
from allos_core.hookspecs import hookimpl
from allos_core.messages import ToolCallPart
from allos_core.permissions import (
    PermissionDecision,
    PermissionRules,
    SessionPermissions,
    decide_permission,
    normalize_answer,
    suggested_rule,
)
from allos_core.plugins import create_plugin_manager
from allos_core.testing import ScriptedProvider
from allos_core.tools import Tool, ToolContext, tool


class WriteArgs(BaseModel):
    path: str
    text: str = ""


class Write(Tool):
    """A file-writing tool whose subject is a path and whose preview is a diff."""

    name = "write"
    description = "Write a file."
    Args = WriteArgs
    path_subject = True

    def __init__(self, default: str = "ask") -> None:
        self.default_permission = default  # type: ignore[assignment]
        self.written: list[str] = []

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        return args.path

    def preview(self, args: Any, context: ToolContext) -> str | None:
        return f"--- {args.path}\n+++ {args.path}\n+{args.text}"

    async def run(self, args: Any, context: ToolContext) -> str:
        self.written.append(args.path)
        return f"wrote {args.path}"


class ShellArgs(BaseModel):
    command: str


class Shell(Tool):
    """A command tool whose subjects are the simple commands of a compound line."""

    name = "shell"
    description = "Run a command."
    Args = ShellArgs

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        return args.command

    def permission_subjects(self, args: Any, context: ToolContext) -> list[str | None]:
        return [part.strip() for part in args.command.split("&&")]

    async def run(self, args: Any, context: ToolContext) -> str:
        return f"ran {args.command}"


class FixedPlugin:
    def __init__(self, decision: PermissionDecision | None) -> None:
        self.decision = decision
        self.seen: list[dict[str, Any]] = []

    @hookimpl
    def allos_check_permission(self, call, tool, args, subject, context):
        self.seen.append({"call": call, "tool": tool, "args": args, "subject": subject})
        return self.decision


P = PermissionDecision
CTX = ToolContext()


def decide(tool_, arguments, *, plugins=(), rules=None, granted=None, yes=False):
    call = ToolCallPart(id="c1", name=tool_.name, arguments=arguments)
    args = tool_.validate(arguments)
    manager = create_plugin_manager([FixedPlugin(p) for p in plugins], discover=False)
    session = SessionPermissions()
    if granted is not None:
        session.grant(tool_.name, granted)
    return decide_permission(
        tool_,
        call,
        args,
        CTX,
        rules=rules,
        plugin_manager=manager,
        session=session,
        yes=yes,
    )


R = PermissionRules.from_lists


# default, plugin answers, user rules, "always" granted for the subject, yes -> decision, source
TABLE = [
    ("allow", [], None, False, False, "allow", "default"),
    ("ask", [], None, False, False, "ask", "default"),
    ("deny", [], None, False, False, "deny", "default"),
    ("ask", [], None, False, True, "allow", "yes"),
    ("ask", [], None, True, False, "allow", "session"),
    ("deny", [], None, False, True, "deny", "default"),
    ("ask", [None], None, False, False, "ask", "default"),
    ("ask", [P.allow("safe", "p")], None, False, False, "allow", "p"),
    ("allow", [P.ask("check", "p")], None, False, False, "ask", "p"),
    ("allow", [P.deny("no", "p")], None, False, False, "deny", "p"),
    ("allow", [P.allow("", "a"), P.ask("", "b")], None, False, False, "ask", "b"),
    ("allow", [P.allow("", "a"), P.deny("", "b"), P.ask()], None, False, False, "deny", "b"),
    ("ask", [P.allow("", "p")], R(ask=["write"]), False, False, "ask", "user rules"),
    ("ask", [P.ask("", "p")], R(allow=["write"]), False, False, "allow", "user rules"),
    ("deny", [], R(allow=["write(a.txt)"]), False, False, "allow", "user rules"),
    ("ask", [P.deny("", "p")], R(allow=["write"]), False, False, "deny", "p"),
    ("ask", [P.deny("", "p")], R(allow=["write"]), True, True, "deny", "p"),
    ("allow", [P.allow("", "p")], R(deny=["write"]), False, True, "deny", "user rules"),
    ("allow", [], R(deny=["write(*.txt)"]), True, True, "deny", "user rules"),
    ("allow", [], R(deny=["write(*.py)"]), False, False, "allow", "default"),
    ("ask", [P.ask("", "p")], None, False, True, "allow", "yes"),
    ("ask", [], R(ask=["write"]), True, False, "allow", "session"),
    ("ask", [], R(allow=["write"], deny=["write(a.txt)"]), False, False, "deny", "user rules"),
]


@pytest.mark.parametrize(("default", "plugins", "rules", "granted", "yes", "want", "source"), TABLE)
def test_combination_table(default, plugins, rules, granted, yes, want, source):
    decision = decide(
        Write(default),
        {"path": "a.txt"},
        plugins=plugins,
        rules=rules,
        granted=["a.txt"] if granted else None,
        yes=yes,
    )
    assert (decision.decision, decision.source) == (want, source)
    assert decision.reason or source in ("p", "a", "b")


@pytest.mark.parametrize(
    ("rule", "path", "matches"),
    [
        ("write(src/**)", "src/a/b.py", True),
        ("write(src/*)", "src/a/b.py", False),
        ("write(src/*)", "src/b.py", True),
        ("write(**/*.md)", "README.md", True),
        ("write(**/*.md)", "docs/x/guide.md", True),
        ("write(./a.txt)", "a.txt", True),  # a rule is normalised like the subject it meets
        ("write(.//a.txt)", "a.txt", True),
        ("write(src//a.py)", "src/a.py", True),
        ("write(./src/./a.py)", "./src/a.py", True),
        ("write(src/a.py)", "src//a.py", True),
        ("write(/a.txt)", "a.txt", False),  # absolute: only with the workspace known (CTX: cwd)
        ("write", "anything", True),
        ("wri*", "x", True),
        ("read", "x", False),
    ],
)
def test_path_rules(rule, path, matches):
    decision = decide(Write("ask"), {"path": path}, rules=R(allow=[rule]))
    assert (decision.decision == "allow") is matches


@pytest.mark.parametrize(
    ("rules", "command", "want"),
    [
        (R(allow=["shell(git status*)"]), "git status --short", "allow"),
        (R(allow=["shell(git status*)"]), "git status && rm -rf build", "ask"),
        (R(allow=["shell(git *)", "shell(ls*)"]), "git log && ls -la", "allow"),
        (R(allow=["shell(git *)"], deny=["shell(rm *)"]), "git log && rm -rf /", "deny"),
        (R(allow=["shell"], ask=["shell(git push*)"]), "git push", "ask"),
    ],
)
def test_compound_commands_need_every_part_allowed(rules, command, want):
    assert decide(Shell(), {"command": command}, rules=rules).decision == want


def test_plugin_sees_call_tool_args_and_subject():
    plugin = FixedPlugin(None)
    manager = create_plugin_manager([plugin], discover=False)
    write = Write()
    call = ToolCallPart(id="c9", name="write", arguments={"path": "x.py"})
    args = write.validate(call.arguments)
    decide_permission(write, call, args, CTX, plugin_manager=manager)
    seen = plugin.seen[0]
    assert seen["call"] is call and seen["tool"] is write and seen["args"] is args
    assert seen["subject"] == "x.py"


def test_failing_plugin_denies():
    class Broken:
        @hookimpl
        def allos_check_permission(self, call):
            raise RuntimeError("policy server down")

    manager = create_plugin_manager([Broken()], discover=False)
    write = Write("allow")
    call = ToolCallPart(id="c", name="write", arguments={"path": "a"})
    decision = decide_permission(
        write, call, write.validate(call.arguments), CTX, plugin_manager=manager, yes=True
    )
    assert decision.decision == "deny" and "policy server down" in decision.reason


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ("yes", "yes"),
        ("Y", "yes"),
        (True, "yes"),
        ("always", "always"),
        (" a ", "always"),
        ("no", "no"),
        (False, "no"),
        ("maybe", "no"),
        (None, "no"),
        ([], "no"),
    ],
)
def test_normalize_answer(value, answer):
    assert normalize_answer(value) == answer


def test_session_permissions_are_exact():
    grants = SessionPermissions()
    assert grants.grant("write", ["src/a.py"]) == "write(src/a.py)"
    assert grants.allows("write", ["src/a.py"])
    assert not grants.allows("write", ["src/b.py"])
    assert not grants.allows("write", ["src/*"])
    grants.grant("shell", ["git status", "ls"])
    assert grants.allows("shell", ["ls"]) and grants.allows("shell", ["git status", "ls"])
    assert not grants.allows("shell", ["ls", "rm -rf /"])
    grants.grant("plain", [None])
    assert grants.allows("plain", [None]) and grants.allows("plain", ["whatever"])
    assert grants.rules() == ["plain", "shell(git status)", "shell(ls)", "write(src/a.py)"]
    assert len(grants) == 4


def test_suggested_rules():
    assert suggested_rule("write", "src/a.py", path_like=True) == "write(src/a.py)"
    assert suggested_rule("shell", "pytest -q tests") == "shell(pytest*)"
    assert suggested_rule("plain", None) == "plain"


# -- the agent's prompts -------------------------------------------------------------------------


def run_agent(tools, turns, **options):
    options.setdefault("plugin_manager", create_plugin_manager([], discover=False))
    events: list[ev.Event] = []
    agent = Agent(
        ScriptedProvider(turns),
        tools=tools,
        system_prompt="s",
        on_event=events.append,
        **options,
    )
    return agent, events


def write_call(path, text="hi"):
    return {"name": "write", "arguments": {"path": path, "text": text}}


def results(agent: Agent) -> list[str]:
    return [p.content for m in agent.messages if m.role == "tool" for p in m.parts]


def test_no_prompt_function_denies_and_says_how_to_allow():
    write, shell = Write(), Shell()
    agent, events = run_agent(
        [write, shell],
        [
            {
                "tool_calls": [
                    write_call("notes.txt"),
                    {"name": "shell", "arguments": {"command": "pytest -q"}},
                ]
            },
            "ok",
        ],
    )
    result = agent.run("go")
    assert result.stop_reason == "answered" and write.written == []
    first, second = results(agent)
    assert first.startswith("denied: not allowed: write needs approval")
    assert "--allow 'write(notes.txt)'" in first and "-y" in first
    assert "Do not retry the same call" in first
    assert "--allow 'shell(pytest*)'" in second
    decided = [e.decision for e in events if isinstance(e, ev.PermissionDecided)]
    assert [d.source for d in decided] == ["no prompt", "no prompt"]


def test_eof_from_the_prompt_is_nobody_to_ask():
    def ask(request):
        raise EOFError

    agent, _ = run_agent([Write()], [{"tool_calls": [write_call("a.txt")]}, "ok"], ask=ask)
    agent.run("go")
    assert "there is no one to ask" in results(agent)[0]


def test_yes_no_and_the_request_shown():
    requests: list[PermissionRequest] = []
    answers = iter(["yes", "no"])

    def ask(request):
        requests.append(request)
        return next(answers)

    write = Write()
    agent, events = run_agent(
        [write],
        [{"tool_calls": [write_call("a.txt", "hello"), write_call("b.txt")]}, "ok"],
        ask=ask,
    )
    agent.run("go")
    assert write.written == ["a.txt"]
    assert results(agent) == [
        "wrote a.txt",
        "denied: the user said no. Do not retry the same call: take another approach, or tell "
        "the user what you need.",
    ]
    request = requests[0]
    assert request.tool_name == "write" and request.subject == "a.txt"
    assert request.arguments == {"path": "a.txt", "text": "hello"}
    assert request.preview == "--- a.txt\n+++ a.txt\n+hello"
    assert request.reason == "default for write"
    assert request.always_rule == "write(a.txt)"
    assert request.call.id == agent.messages[2].tool_calls[0].id
    decided = [e.decision for e in events if isinstance(e, ev.PermissionDecided)]
    assert [(d.decision, d.source) for d in decided] == [
        ("allow", "user answer"),
        ("deny", "user answer"),
    ]


async def test_always_is_remembered_for_exactly_that_subject():
    asked: list[str] = []

    async def ask(request):  # prompt functions may be async
        asked.append(request.subject)
        return "always"

    write = Write()
    turns = [
        {"tool_calls": [write_call("a.txt")]},
        {"tool_calls": [write_call("a.txt"), write_call("b.txt")]},
        "ok",
    ]
    agent, events = run_agent([write], turns, ask=ask)
    await agent.arun("go")
    assert asked == ["a.txt", "b.txt"]
    assert write.written == ["a.txt", "a.txt", "b.txt"]
    sources = [e.decision.source for e in events if isinstance(e, ev.PermissionDecided)]
    assert sources == ["user answer", "session", "user answer"]
    assert agent.session_permissions.rules() == ["write(a.txt)", "write(b.txt)"]


def test_yes_to_all_approves_asks_but_not_denials():
    asked = []
    write = Write()
    agent, _ = run_agent(
        [write],
        [{"tool_calls": [write_call("a.txt"), write_call("secret.env")]}, "ok"],
        yes=True,
        ask=asked.append,
        permissions=R(deny=["write(*.env)"]),
    )
    agent.run("go")
    assert asked == [] and write.written == ["a.txt"]
    assert results(agent)[1].startswith("denied: rule write(*.env)")


def test_a_failing_prompt_denies():
    def ask(request):
        raise RuntimeError("terminal gone")

    agent, _ = run_agent([Write()], [{"tool_calls": [write_call("a.txt")]}, "ok"], ask=ask)
    agent.run("go")
    assert "the permission prompt failed (terminal gone)" in results(agent)[0]


def test_subject_errors_become_error_results(tmp_path):
    @tool(permission_subject=lambda args, ctx: ctx.relative(ctx.resolve_path(args.path)))
    def touch(path: str) -> str:
        """Touch a file."""
        return "touched"

    agent, _ = run_agent(
        [touch],
        [{"tool_calls": [{"name": "touch", "arguments": {"path": "../outside"}}]}, "ok"],
        workspace=tmp_path,
        yes=True,
    )
    agent.run("go")
    content = results(agent)[0]
    assert content.startswith("touch refused:") and "outside the workspace" in content


def test_plugin_deny_reaches_the_model():
    manager = create_plugin_manager(
        [FixedPlugin(PermissionDecision.deny("company policy: no writes", "policy"))],
        discover=False,
    )
    write = Write("allow")
    agent, events = run_agent(
        [write], [{"tool_calls": [write_call("a.txt")]}, "ok"], plugin_manager=manager, yes=True
    )
    agent.run("go")
    assert write.written == []
    assert results(agent)[0].startswith("denied: company policy: no writes.")
    decided = next(e for e in events if isinstance(e, ev.PermissionDecided))
    assert decided.subject == "a.txt" and decided.decision.source == "policy"


# -- path rules: spelling, absolute patterns, path subjects of function tools -------------------


def test_path_pattern_matches_normalises_pattern_and_path():
    from allos_core.permissions import normalize_rule_path, path_pattern_matches

    assert normalize_rule_path("./.env") == ".env"
    assert normalize_rule_path("././src//a/./b.py") == "src/a/b.py"
    assert normalize_rule_path("./") == "."
    assert normalize_rule_path("src/.") == "src"
    assert normalize_rule_path("../x") == "../x"  # `..` is kept: rules are text, not real paths
    assert path_pattern_matches("./.env", ".env")
    assert path_pattern_matches("./config/**", "config/a/b.py")
    assert not path_pattern_matches("./config/*", "config/a/b.py")
    assert not path_pattern_matches("./.env", "config/.env")


def test_absolute_path_patterns_match_workspace_paths(tmp_path):
    from allos_core.permissions import path_pattern_matches

    ws = ToolContext(workspace=tmp_path).workspace  # the real root, as the agent has it
    assert path_pattern_matches(f"{ws}/.env", ".env", workspace=ws)
    assert path_pattern_matches(f"{ws}//.env", "./.env", workspace=ws)
    assert path_pattern_matches(f"{ws}/secrets/**", "secrets/a/b.pem", workspace=ws)
    assert path_pattern_matches(f"{ws}/**", ".", workspace=ws) is False  # `**` needs a name
    assert path_pattern_matches(f"{ws}", ".", workspace=ws)
    assert not path_pattern_matches(f"{ws}/.env", "config/.env", workspace=ws)
    assert not path_pattern_matches(f"{ws}/.env", ".env")  # no workspace: cannot tell
    # an absolute pattern also meets subjects outside the workspace, which stay absolute
    assert path_pattern_matches("/etc/**", "/etc/passwd", workspace=ws)
    assert path_pattern_matches("/etc/**", "/etc/passwd")
    # a relative pattern is never matched against the absolute path: `tmp/**` must not cover a
    # workspace that happens to live under /tmp
    assert not path_pattern_matches("tmp/**", "a.txt", workspace="/tmp/ws")
    assert not path_pattern_matches("**/ws/**", "a.txt", workspace="/tmp/ws")


def test_absolute_patterns_through_a_symlinked_workspace(tmp_path):
    from allos_core.permissions import path_pattern_matches

    real = tmp_path / "real"
    real.mkdir()
    alias = tmp_path / "alias"
    alias.symlink_to(real, target_is_directory=True)
    ws = ToolContext(workspace=alias).workspace
    assert ws == real.resolve()
    assert path_pattern_matches(f"{alias}/.env", ".env", workspace=ws)
    assert path_pattern_matches(f"{alias}/keys/*.pem", "keys/a.pem", workspace=ws)
    assert not path_pattern_matches(f"{alias}/keys/*.pem", "keys/sub/a.pem", workspace=ws)


def test_decide_permission_uses_the_context_workspace_for_absolute_rules(tmp_path):
    context = ToolContext(workspace=tmp_path)
    ws = context.workspace
    write = Write("allow")
    rules = R(deny=[f"write({ws}/.env)"], allow=[f"write({ws}/src/**)"])
    for path, want in ((".env", "deny"), ("./.env", "deny"), ("src/a.py", "allow")):
        call = ToolCallPart(id="c1", name="write", arguments={"path": path})
        decision = decide_permission(
            write, call, write.validate({"path": path}), context, rules=rules
        )
        assert (path, decision.decision) == (path, want)
        assert decision.source == "user rules"


@tool(read_only=True, permission_subject="path")
def show(path: str, context: ToolContext) -> str:
    """Show a file."""
    return context.resolve_path(path).read_text()


@pytest.mark.parametrize("spelling", ["secret.txt", "./secret.txt", "sub/../secret.txt", "ABS"])
def test_a_deny_rule_holds_for_every_spelling_of_a_function_tools_path(tmp_path, spelling):
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    (tmp_path / "sub").mkdir()
    path = str(tmp_path / "secret.txt") if spelling == "ABS" else spelling
    agent, _ = run_agent(
        [show],
        [{"tool_calls": [{"name": "show", "arguments": {"path": path}}]}, "ok"],
        workspace=tmp_path,
        permissions=R(deny=["show(secret.txt)"]),
    )
    agent.run("go")
    content = results(agent)[0]
    assert "TOPSECRET" not in content
    assert content.startswith("denied: rule show(secret.txt)")


@pytest.mark.parametrize("rule", ["read(.env)", "read(./.env)", "read(ABS)"])
def test_every_spelling_of_a_deny_rule_holds(tmp_path, rule):
    @tool(read_only=True, permission_subject="path")
    def read(path: str, context: ToolContext) -> str:
        """Read a file."""
        return context.resolve_path(path).read_text()

    (tmp_path / ".env").write_text("API_KEY=sk-live-123")
    rule = rule.replace("ABS", str(ToolContext(workspace=tmp_path).workspace / ".env"))
    agent, _ = run_agent(
        [read],
        [{"tool_calls": [{"name": "read", "arguments": {"path": ".env"}}]}, "ok"],
        workspace=tmp_path,
        permissions=R(deny=[rule]),
    )
    agent.run("go")
    assert results(agent)[0].startswith(f"denied: rule {rule}")


def test_a_rule_on_a_symlinked_folder_holds_for_function_tools(tmp_path):
    (tmp_path / "real_config").mkdir()
    (tmp_path / "real_config" / "secret.txt").write_text("TOPSECRET")
    (tmp_path / "config").symlink_to("real_config", target_is_directory=True)
    agent, _ = run_agent(
        [show],
        [{"tool_calls": [{"name": "show", "arguments": {"path": "config/secret.txt"}}]}, "ok"],
        workspace=tmp_path,
        permissions=R(deny=["show(config/**)"]),
    )
    agent.run("go")
    assert results(agent)[0].startswith("denied: rule show(config/**)")


def test_allow_rules_must_cover_the_written_path_and_its_real_target(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real", target_is_directory=True)

    @tool(permission_subject="path")
    def touch(path: str) -> str:
        """Touch a file."""
        return "touched"

    context = ToolContext(workspace=tmp_path)
    args = touch.validate({"path": "link/a.txt"})
    subjects = touch.permission_subjects(args, context)
    assert subjects == ["real/a.txt", "link/a.txt"]

    def decision(*allow):
        answer = R(allow=list(allow)).decide("touch", subjects, path_like=touch.path_subject)
        return answer.decision if answer else None

    assert decision("touch(link/**)") is None  # the real target is not covered: default asks
    assert decision("touch(real/**)") is None
    assert decision("touch(link/**)", "touch(real/**)") == "allow"
