"""``allos demo``: see a real run with no key and no server.

It copies a small example project with a failing test (``allos_core/demo/demo-project``) into a
throwaway folder and runs the agent there. By default the model is the ``scripted`` provider
replaying a recorded session (``allos_core/demo/demo-session.yaml``): the tools really run — it
reads a file, edits it (the diff is shown), runs the tests with ``shell_exec`` and answers — and
every call goes through the real permission checks, with the session saved next to the copy.
``allos demo -p openai`` (or ``anthropic``, ``google``, ``ollama``) gives the same task to a real model.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
PROJECT = DEMO_DIR / "demo-project"
SCRIPT = DEMO_DIR / "demo-session.yaml"
#: the folder name of the copy inside the demo folder
COPY_NAME = "textstats"
SESSION_FILE = "session.json"
SCRIPT_COPY = "demo-script.yaml"


def demo_task() -> str:
    """The demo's task, as recorded in the script."""
    import yaml

    return str(yaml.safe_load(SCRIPT.read_text(encoding="utf-8"))["task"]).strip()


def python_command() -> str:
    """The name that runs this interpreter once its folder is first on PATH."""
    folder = Path(sys.executable).parent
    for name in ("python", "python3"):
        if (folder / name).exists():
            return name
    return Path(sys.executable).name


def demo_rules(python: str) -> list[str]:
    """The allow rules the demo runs with (shown to the user)."""
    return ["edit_file(textstats/**)", f"shell_exec({python} -m unittest*)"]


#: the tools the recorded session calls, and the plugins that provide them
DEMO_TOOLS = {"read_file": "allos-fs", "edit_file": "allos-fs", "shell_exec": "allos-shell"}


def check_demo_plugins(provider: str = "scripted") -> None:
    """Fail early, before anything is copied, when the provider or a tool is missing."""
    from allos_core.errors import UnknownToolError
    from allos_core.plugin_names import missing_name_hint
    from allos_core.plugins import create_plugin_manager

    manager = create_plugin_manager()
    manager.get_provider_class(provider)
    installed = manager.tools()
    missing = [name for name in DEMO_TOOLS if name not in installed]
    if missing:
        # the truth for each: not installed (pip install), disabled, failed or in a conflict
        hints = dict.fromkeys(missing_name_hint("tool", name, manager.infos) for name in missing)
        raise UnknownToolError(
            f"the demo needs the tools {', '.join(missing)}, which are not available",
            hint="; ".join(hints),
        )


def prepare(directory: str | None) -> tuple[Path, Path, Path]:
    """Copy the project and the script; returns (demo folder, project copy, script copy)."""
    if directory:
        root = Path(directory).resolve()
        if root.exists() and any(root.iterdir()):
            raise click.UsageError(f"{root} is not empty; give a new or empty folder to --dir")
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="allos-demo-")).resolve()
    project = root / COPY_NAME
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    script = root / SCRIPT_COPY
    text = SCRIPT.read_text(encoding="utf-8").replace("{python}", python_command())
    script.write_text(text, encoding="utf-8")
    return root, project, script


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Put the copy in DIR (new or empty; default: a new temporary folder).",
)
@click.option(
    "-p",
    "--provider",
    default="scripted",
    show_default=True,
    metavar="NAME",
    help="Give the task to this provider instead of replaying the recorded session.",
)
@click.option("-m", "--model", metavar="MODEL", help="Model for --provider.")
@click.option("--setup-only", is_flag=True, help="Only copy the project and print the commands.")
@click.option("--no-stream", is_flag=True, help="Wait for each whole answer instead of streaming.")
@click.option("-v", "--verbose", is_flag=True, help="Show more detail, and tracebacks on errors.")
def demo(
    directory: str | None,
    provider: str,
    model: str | None,
    setup_only: bool,
    no_stream: bool,
    verbose: bool,
) -> None:
    """Run the agent on a throwaway copy of an example project, offline.

    The project has a failing test. By default a recorded session is replayed (provider
    `scripted`): the model's turns are scripted, but the tools, the permission checks and the
    saved session are real. Use `-p openai`, `-p anthropic`, `-p google` or `-p ollama` to give
    the same task to a real model.
    """
    from allos_core.cli.errors import exit_code_for, handle_errors
    from allos_core.cli.ui import err_console

    console = err_console()
    with handle_errors(verbose):
        check_demo_plugins(provider)
        root, project, script = prepare(directory)
        with _removed_on_failure(root, keep=bool(directory)):
            result = _run_demo(console, root, project, script, provider, model, setup_only, no_stream, verbose)  # fmt: skip
    if result is None:
        return
    code = exit_code_for(result.stop_reason)
    if code:
        raise click.exceptions.Exit(code)


@contextlib.contextmanager
def _removed_on_failure(root: Path, *, keep: bool) -> Iterator[None]:
    """Delete the demo folder when the demo fails before the model answered anything.

    A folder the user named with ``--dir`` is emptied but kept.
    """
    try:
        yield
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        if keep:
            root.mkdir(parents=True, exist_ok=True)
        raise


def _run_demo(
    console: Any,
    root: Path,
    project: Path,
    script: Path,
    provider: str,
    model: str | None,
    setup_only: bool,
    no_stream: bool,
    verbose: bool,
) -> Any:
    """Run the demo in the copy; returns the run's result (None with ``--setup-only``)."""
    from allos_core.cli.errors import exit_code_for
    from allos_core.cli.invocation import allos_command
    from allos_core.cli.options import AgentOptions
    from allos_core.cli.run import execute

    python = python_command()
    rules = demo_rules(python)
    task = demo_task()
    session = root / SESSION_FILE
    scripted = provider == "scripted"
    options = AgentOptions(
        provider=provider,
        model=str(script) if scripted and not model else model,
        allow=tuple(rules),
        workspace=str(project),
        session=str(session),
        no_stream=no_stream,
        verbose=verbose,
    )
    _intro(console, project, rules, task, scripted, setup_only)
    if setup_only:
        _next_steps(console, root, project, None, task, rules, allos_command())
        return None
    command = allos_command()  # before PATH changes: what the user's own shell can run
    _python_first_on_path()
    result, _renderer = execute(options, task)
    if result.stop_reason == "error" and not result.usage.requests:
        # the model never answered, so nothing happened in the copy: don't leave it behind
        raise click.exceptions.Exit(exit_code_for("error"))
    _next_steps(console, root, project, result, task, rules, command)
    return result


def _python_first_on_path() -> None:
    """Make ``python`` in shell commands the interpreter running allos (venv or not)."""
    folder = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [folder]:
        os.environ["PATH"] = os.pathsep.join([folder, *parts])


def _intro(
    console: Any, project: Path, rules: list[str], task: str, scripted: bool, setup_only: bool
) -> None:
    from rich.markup import escape

    console.print("[bold]Allos demo[/]")
    console.print(f"  project copy: {escape(str(project))}  [dim](a failing test)[/]")
    if scripted:
        console.print(
            "  model: [bold]scripted[/] [dim](replays a recorded session; the tools, permission "
            "checks and session file are real)[/]"
        )
    console.print(f"  permission rules: {escape(', '.join('allow ' + r for r in rules))}")
    if not setup_only:
        console.print(f"  task: {escape(task)}\n")


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _next_steps(
    console: Any,
    root: Path,
    project: Path,
    result: Any,
    task: str,
    rules: list[str],
    command: str,
) -> None:
    """What to do next, with ``command`` the words that run allos in the user's shell."""
    from rich.markup import escape

    allos = escape(command)
    console.print()
    if result is not None and result.session_path:
        console.print(f"The session is saved in {escape(str(result.session_path))}")
        console.print(
            f"  [dim]read it:[/] {allos} sessions show {escape(_quote(str(result.session_path)))}"
        )
    console.print(f"The project copy is in {escape(str(project))} [dim](delete it when done)[/]")
    allow = " ".join(f"--allow {_quote(rule)}" for rule in rules)
    if result is None:  # a fresh copy: the real-model commands can run in it
        console.print("\nRun the task in this copy with a real model:")
        for provider, note in REAL_PROVIDERS:
            console.print(
                f"  {allos} run -p {provider} --workspace {escape(_quote(str(project)))} "
                f"{escape(allow)} {escape(_quote(task))}  [dim]# {note}[/]",
                soft_wrap=True,
            )
        return
    console.print("\nThe same task with a real model, in a fresh copy (one option changes):")
    for provider, note in REAL_PROVIDERS:
        console.print(f"  {allos} demo -p {provider:<20} [dim]# {note}[/]")
    console.print(f'On a project of your own:  {allos} run -p openai --workspace DIR "TASK"')


#: the real providers the next steps mention, with what each needs
REAL_PROVIDERS = [
    ("openai", "needs OPENAI_API_KEY"),
    ("anthropic", "needs ANTHROPIC_API_KEY"),
    ("google", "needs GEMINI_API_KEY"),
    ("ollama -m qwen3", "needs `ollama serve` and `ollama pull qwen3`"),
]
