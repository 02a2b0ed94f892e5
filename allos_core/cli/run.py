"""``allos run TASK``: one task, then exit.

The answer goes to stdout; progress, tool calls and decisions to stderr. With ``--schema`` stdout
is exactly the validated JSON value (``allos run --schema ... | jq`` works). Exit codes: 0
answered, 1 error (an answer that never matched the schema too), 2 usage error, 3 iteration,
usage or cost limit reached, 130 interrupted.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from typing import Any

import click

from allos_core.cli.options import agent_options


@click.command("run")
@click.argument("task", required=False)
@agent_options
@click.option("--json", "json", is_flag=True, help="Print every event as a JSON line on stdout, for scripts.")  # fmt: skip
@click.option("--schema", metavar="SCHEMA", help="Answer with JSON matching SCHEMA: a JSON schema (inline or a file) or fields like 'name, age int, bio: a short biography'. stdout is then just the JSON.")  # fmt: skip
@click.option("--image", "images", multiple=True, metavar="PATH", help="Send this image (PNG, JPEG, GIF, WebP) with the task (repeatable).")  # fmt: skip
def run(task: str | None, **kwargs: Any) -> None:
    """Run one TASK, print the answer, and exit.

    TASK is the instruction, in quotes; `-` (or no TASK with piped input) reads it from stdin.

    \b
    Examples:
      allos run "fix the failing test"
      allos run -p anthropic -s refactor "rename Foo to Bar in src/"
      allos run -p ollama -m qwen3 --allow 'shell_exec(pytest*)' "make the tests pass"
      allos run --schema 'name, stars int' "the biggest dependency of this project" | jq .
    """
    from allos_core.cli.errors import exit_code_for, handle_errors
    from allos_core.cli.options import AgentOptions

    options = AgentOptions.from_kwargs(kwargs)
    schema = options.extra.pop("schema", None)
    task = _read_task(task)
    with handle_errors(options.verbose):
        result, renderer = execute(options, task, schema=_schema(schema))
    code = exit_code_for(result.stop_reason)
    if code:
        raise click.exceptions.Exit(code)


def _read_task(task: str | None) -> str:
    if task == "-" or (task is None and not sys.stdin.isatty()):
        task = sys.stdin.read()
    if not task or not task.strip():
        raise click.UsageError('give a task, for example: allos run "fix the failing test"')
    return task.strip()


def limit_hint(result: Any, options: Any) -> str:
    """How to go on after the iteration limit: resume the saved session, or re-run with one."""
    if result.session_path:
        where = options.session or str(result.session_path)
        return (
            f'resume where it stopped: allos run -s {shlex.quote(where)} --max-iterations N "go on"'
        )
    return (
        "raise it with --max-iterations N; add -s NAME to save the session so a stopped run "
        "can be resumed"
    )


def commit_turn_if_asked(setup: Any, renderer: Any) -> None:
    """With ``--git`` (or ``git_commit = true``), commit the files the last turn changed."""
    if not setup.settings.git_commit:
        return
    from allos_core.git_commits import commit_turn

    checkpoint = setup.agent.checkpoints.current
    if checkpoint is None or not checkpoint.changes:
        return
    commit = commit_turn(setup.agent.workspace, checkpoint)
    if commit:
        renderer.note(f"committed {len(checkpoint.changes)} file(s) as {commit}")
    else:
        renderer.note("--git: not committed (not a git repository, or git refused)")


#: characters a terminal may act on (DEL, C1 controls, bidi overrides, line separators) that
#: json.dumps leaves raw; they only occur inside strings, where \uXXXX means the same
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def json_for_terminal(value: Any) -> str:
    """``value`` as one line of JSON that is safe to print: readable text, no control codes."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _schema(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from allos_core.cli.errors import EXIT_USAGE
    from allos_core.cli.ui import print_error
    from allos_core.concise_schema import schema_from_argument
    from allos_core.errors import ConfigError

    try:
        return schema_from_argument(value)
    except ConfigError as exc:
        print_error(str(exc), exc.hint)
        raise click.exceptions.Exit(EXIT_USAGE) from None


def execute(options: Any, task: str, *, schema: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Build the agent, run ``task``, print the outcome; returns (result, renderer).

    With ``schema`` the answer must be JSON matching it, and only that JSON goes to stdout.
    """
    from allos_core.cli.prompt import PermissionPrompter, can_prompt
    from allos_core.cli.render import Renderer
    from allos_core.cli.setup import build_agent
    from allos_core.cli.ui import print_error
    from allos_core.images import image_from_path

    renderer = Renderer(json_lines=options.json, verbose=options.verbose, show_usage=False)
    if schema is not None and not options.json:  # stdout is for the JSON value alone
        renderer.out, renderer.live_answer = sys.stderr, False
    ask = PermissionPrompter(renderer) if can_prompt() else None
    setup = build_agent(options, on_event=renderer, ask=ask, output_type=schema)
    if options.verbose and not options.json:
        renderer.note(f"provider {setup.choice.name} ({setup.choice.reason})")
    if not options.json:
        from allos_core.cli.header import header_lines

        for line in header_lines(setup):
            renderer.note(line)
    images = [image_from_path(path) for path in options.extra.get("images") or ()]
    result = setup.agent.run(task, images=images or None)
    renderer.pause()
    answered = result.stop_reason == "answered" and result.text
    if schema is not None:
        if result.stop_reason == "answered" and not options.json:
            sys.stdout.write(json_for_terminal(result.output) + "\n")
            sys.stdout.flush()
    elif answered and not renderer.answer_printed and not options.json:
        renderer.write_answer(result.text)
    if result.stop_reason == "error":
        print_error(result.error or "the run failed", result.error_hint)
    elif result.stop_reason == "iteration_limit":
        print_error(
            result.error or f"stopped after {result.iterations} model requests (iteration limit)",
            result.error_hint or limit_hint(result, options),
        )
    elif result.stop_reason == "cost_limit":
        print_error(result.error or "stopped at the cost limit", result.error_hint)
    elif result.stop_reason == "output_invalid":
        print_error(result.error or "the answer did not match the schema", result.error_hint)
    elif result.stop_reason == "usage_limit":
        print_error(
            result.error or "stopped at the token limit",
            result.error_hint or "raise it with --max-total-tokens N",
        )
    commit_turn_if_asked(setup, renderer)
    if not options.json:
        line = renderer.usage_line()
        if result.session_path:
            line += f" · session {result.session_path}"
        renderer.note(line)
    return result, renderer
