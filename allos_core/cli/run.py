"""``allos run TASK``: one task, then exit.

The answer goes to stdout; progress, tool calls and decisions to stderr. Exit codes: 0 answered,
1 error, 2 usage error, 3 iteration or usage limit reached, 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from allos_core.cli.options import agent_options


@click.command("run")
@click.argument("task", required=False)
@agent_options
@click.option("--json", "json", is_flag=True, help="Print every event as a JSON line on stdout, for scripts.")  # fmt: skip
@click.option("--image", "images", multiple=True, metavar="PATH", help="Send this image (PNG, JPEG, GIF, WebP) with the task (repeatable).")  # fmt: skip
def run(task: str | None, **kwargs: Any) -> None:
    """Run one TASK, print the answer, and exit.

    TASK is the instruction, in quotes; `-` (or no TASK with piped input) reads it from stdin.

    \b
    Examples:
      allos run "fix the failing test"
      allos run -p anthropic -s refactor "rename Foo to Bar in src/"
      allos run -p ollama -m qwen3 --allow 'shell_exec(pytest*)' "make the tests pass"
    """
    from allos_core.cli.errors import exit_code_for, handle_errors
    from allos_core.cli.options import AgentOptions

    options = AgentOptions.from_kwargs(kwargs)
    task = _read_task(task)
    with handle_errors(options.verbose):
        result, renderer = execute(options, task)
    code = exit_code_for(result.stop_reason)
    if code:
        raise click.exceptions.Exit(code)


def _read_task(task: str | None) -> str:
    if task == "-" or (task is None and not sys.stdin.isatty()):
        task = sys.stdin.read()
    if not task or not task.strip():
        raise click.UsageError('give a task, for example: allos run "fix the failing test"')
    return task.strip()


def execute(options: Any, task: str) -> tuple[Any, Any]:
    """Build the agent, run ``task``, print the outcome; returns (result, renderer)."""
    from allos_core.cli.prompt import PermissionPrompter, can_prompt
    from allos_core.cli.render import Renderer
    from allos_core.cli.setup import build_agent
    from allos_core.cli.ui import print_error
    from allos_core.images import image_from_path

    renderer = Renderer(json_lines=options.json, verbose=options.verbose, show_usage=False)
    ask = PermissionPrompter(renderer) if can_prompt() else None
    setup = build_agent(options, on_event=renderer, ask=ask)
    if options.verbose and not options.json:
        renderer.note(f"provider {setup.choice.name} ({setup.choice.reason})")
    images = [image_from_path(path) for path in options.extra.get("images") or ()]
    result = setup.agent.run(task, images=images or None)
    renderer.pause()
    answered = result.stop_reason == "answered" and result.text
    if answered and not renderer.answer_printed and not options.json:
        renderer.write_answer(result.text)
    if result.stop_reason == "error":
        print_error(result.error or "the run failed", result.error_hint)
    elif result.stop_reason == "iteration_limit":
        print_error(
            result.error or f"stopped after {result.iterations} model requests (iteration limit)",
            result.error_hint or "raise it with --max-iterations N, or resume with -s SESSION",
        )
    elif result.stop_reason == "usage_limit":
        print_error(
            result.error or "stopped at the token limit",
            result.error_hint or "raise it with --max-total-tokens N",
        )
    if not options.json:
        line = renderer.usage_line()
        if result.session_path:
            line += f" · session {result.session_path}"
        renderer.note(line)
    return result, renderer
