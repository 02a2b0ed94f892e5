"""``allos batch TASKS.jsonl -o RESULTS.jsonl``: many tasks, each in its own workspace copy.

A thin layer over :func:`allos_core.batch.arun_batch`: it reads and checks the tasks file (every
malformed line reported, with its number, before anything runs), turns the agent options into
the defaults of every task, shows progress on stderr and maps the outcome to an exit code:
0 every task answered, 1 some did not (the summary names them), 2 usage error (bad option,
malformed tasks file), 130 interrupted (Ctrl-C: no new task starts, running ones are cancelled
cleanly and the results file stays valid; run the same command again to finish).
"""

from __future__ import annotations

import time
from typing import Any

import click

from allos_core.cli.options import agent_options


@click.command("batch")
@click.argument("tasks_file", metavar="TASKS.jsonl", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, metavar="RESULTS.jsonl", type=click.Path(dir_okay=False), help="Append one result line per finished task here; ids already in it are skipped.")  # fmt: skip
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True, metavar="N", help="Run N tasks at once.")  # fmt: skip
@click.option("--keep", is_flag=True, help="Keep each task's workspace copy (its path goes in the results).")  # fmt: skip
@click.option("--rerun-failed", is_flag=True, help="Run again the tasks whose result is not an answer.")  # fmt: skip
@click.option("--backend", default="local", show_default=True, metavar="NAME", help="Where tasks run: local, or a backend a plugin adds (e.g. ray from allos-ray).")  # fmt: skip
@click.option("--address", metavar="ADDR", help="The cluster the backend connects to (e.g. ray://head:10001; default: a local one).")  # fmt: skip
@agent_options
def batch(tasks_file: str, output: str, **kwargs: Any) -> None:
    """Run every task of TASKS.jsonl, each in its own copy of its workspace.

    Each line of TASKS.jsonl is a JSON object with an "id" and a "task", and optionally
    "workspace", "repo"/"ref", "provider", "model", "allow"/"ask"/"deny", "max_iterations",
    "max_cost", "schema", "system". The options below are the defaults for every task. Nothing
    asks: a call that would ask is denied, with a hint. See docs/batch.md.

    \b
    Examples:
      allos batch tasks.jsonl -o results.jsonl -j 8 -p openai --allow 'edit_file(**)'
      allos batch tasks.jsonl -o results.jsonl --rerun-failed
      allos batch tasks.jsonl -o results.jsonl --backend ray --address ray://head:10001 -j 64
    """
    from allos_core.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, handle_errors
    from allos_core.cli.options import AgentOptions

    jobs, keep, rerun = kwargs.pop("jobs"), kwargs.pop("keep"), kwargs.pop("rerun_failed")
    backend, address, max_cost = (
        kwargs.pop("backend"),
        kwargs.pop("address"),
        kwargs.pop("max_cost"),
    )
    options = AgentOptions.from_kwargs(kwargs)
    if options.session:
        raise click.UsageError(
            "allos batch saves each task's session itself (next to the results file); drop -s"
        )
    with handle_errors(options.verbose):
        from allos_core.batch.tasks import load_tasks

        tasks = load_tasks(tasks_file)
        outcome = _run(
            tasks,
            output=output,
            defaults=_defaults(options, max_cost),
            jobs=jobs,
            keep=keep,
            rerun_failed=rerun,
            backend=backend,
            address=address,
            verbose=options.verbose,
        )
    if outcome is None:
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if any(not result.ok for result in outcome):
        raise click.exceptions.Exit(EXIT_ERROR)


def _defaults(options: Any, max_cost: float | None) -> Any:
    from pathlib import Path

    from allos_core.batch.execute import TaskDefaults

    return TaskDefaults(
        provider=options.provider,
        model=options.model,
        base_url=options.base_url,
        tools=tuple(options.tools),
        allow=tuple(options.allow),
        ask=tuple(options.ask),
        deny=tuple(options.deny),
        yes=options.yes,
        max_iterations=options.max_iterations,
        max_total_tokens=options.max_total_tokens,
        max_cost=max_cost,
        system=options.system,
        append_system=options.append_system,
        trust_workspace=options.trust_workspace,
        base_dir=str(Path(options.workspace or Path.cwd()).resolve()),
    )


def _run(tasks: list[Any], *, output: str, verbose: bool, **options: Any) -> list[Any] | None:
    """Run the batch with progress on stderr; None when interrupted (Ctrl-C)."""
    import asyncio
    import contextlib
    import signal

    from allos_core.batch.runner import arun_batch
    from allos_core.cli.batch_progress import BatchProgress
    from allos_core.cli.ui import err_console
    from allos_core.sync_loop import DaemonThreadPool

    progress = BatchProgress(err_console(), verbose=verbose)
    started = time.perf_counter()

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        # a tool blocked in a system call must not keep the process from exiting on Ctrl-C
        loop.set_default_executor(DaemonThreadPool())
        current = asyncio.current_task()
        assert current is not None

        def interrupt() -> None:
            loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C stops at once
            current.cancel()

        # not on the main thread, or no signal support here: Ctrl-C raises as usual
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, interrupt)
        return await arun_batch(
            tasks,
            concurrency=options.pop("jobs"),
            results=output,
            on_progress=progress,
            **options,
        )

    try:
        results = asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        progress.stop()
        from allos_core.cli.ui import print_error

        print_error(
            f"interrupted: the running tasks were cancelled; finished ones are in {output}",
            "run the same command again to run the rest",
        )
        return None
    finally:
        progress.stop()
    progress.summary(output, time.perf_counter() - started)
    return results
