"""What ``allos batch`` shows on stderr while it runs, and the summary at the end.

On a terminal: a progress bar with done / failed / running, tokens, cost and the time left, and
one line above it for each task that did not answer. Elsewhere (CI logs, pipes): one line per
finished task. Task ids and errors come from files and models: they are shown with control
characters neutralised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from allos_core.batch.results import TaskResult

#: failed tasks named one per line in the summary before the rest are counted
SUMMARY_FAILED = 20


def clean(text: Any, limit: int = 200) -> str:
    """One line of outside text, safe for the terminal (see :mod:`allos_core.terminal`)."""
    from allos_core.terminal import neutralise

    line = neutralise(" ".join(str(text).replace("\t", " ").splitlines()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class Tally:
    """Counts for the progress line and the summary."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[TaskResult] = field(default_factory=list)
    running: dict[str, int] = field(default_factory=dict)  # id -> tokens so far
    tokens: int = 0
    cost: float | None = None

    def add(self, result: TaskResult) -> None:
        self.running.pop(result.id, None)
        self.done += 1
        if not result.ok:
            self.failed.append(result)
        usage = result.usage or {}
        self.tokens += int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
        if result.cost is not None:
            self.cost = (self.cost or 0.0) + float(result.cost)

    def stats(self) -> str:
        tokens = self.tokens + sum(self.running.values())
        parts = [
            f"[green]✓ {self.done - len(self.failed)}[/]",
            f"[red]✗ {len(self.failed)}[/]",
            f"▶ {len(self.running)}",
            f"{tokens:,} tokens",
        ]
        if self.cost is not None:
            parts.append(f"${self.cost:.4f}")
        return " · ".join(parts)


class BatchProgress:
    """The ``on_progress`` consumer of :func:`allos_core.batch.arun_batch` for the CLI."""

    def __init__(self, console: Console, *, live: bool | None = None, verbose: bool = False):
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.verbose = verbose
        self.tally = Tally()
        self._progress: Any = None
        self._bar: Any = None

    def __call__(self, item: Any) -> None:
        handler = getattr(self, f"on_{item.type}", None)
        if handler is not None:
            handler(item)

    # -- events --------------------------------------------------------------------------------
    def on_batch_planned(self, plan: Any) -> None:
        self.tally.total = len(plan.tasks)
        self.tally.skipped = len(plan.tasks) - len(plan.todo)
        for result in plan.previous.values():
            if result.id not in {t.id for t in plan.todo} and not result.ok:
                self.tally.failed.append(result)
        if self.tally.skipped:
            self.note(
                f"{self.tally.skipped} of {self.tally.total} tasks already have a result: skipped"
            )
        if self.live and plan.todo:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._bar = self._progress.add_task(
                "batch", total=len(plan.todo), stats=self.tally.stats()
            )
            self._progress.start()

    def on_task_started(self, item: Any) -> None:
        self.tally.running[item.id] = 0
        self._refresh()

    def on_task_event(self, item: Any) -> None:
        event = item.event
        if getattr(event, "type", None) == "usage" and item.id in self.tally.running:
            self.tally.running[item.id] = event.total.total_tokens
            self._refresh()

    def on_task_finished(self, item: Any) -> None:
        result = item.result
        self.tally.add(result)
        if not result.ok or not self.live or self.verbose:
            self._line(result)
        if self._progress is not None:
            self._progress.advance(self._bar)
        self._refresh()

    # -- output --------------------------------------------------------------------------------
    def _line(self, result: TaskResult) -> None:
        from rich.markup import escape

        if result.ok:
            text = (
                f"[green]✓[/] {escape(clean(result.id, 80))} answered in {result.duration_s:.1f}s"
            )
        else:
            why = clean(result.error or result.stop_reason)
            text = f"[red]✗[/] {escape(clean(result.id, 80))} {escape(clean(result.stop_reason))}: {escape(why)}"
        self.console.print(text)

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, stats=self.tally.stats())

    def note(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(f"[dim]{escape(text)}[/]")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summary(self, results_path: str, elapsed: float) -> None:
        """The closing lines: counts, tokens, cost, time, and each failed task by name."""
        from rich.markup import escape

        self.stop()
        tally = self.tally
        answered = tally.done + tally.skipped - len(tally.failed)
        line = f"{tally.total} tasks: {answered} answered, {len(tally.failed)} failed"
        if tally.skipped:
            line += f" ({tally.skipped} from earlier runs)"
        line += f" · {tally.tokens:,} tokens"
        if tally.cost is not None:
            line += f" · ${tally.cost:.4f}"
        line += f" · {elapsed:.1f}s · results in {results_path}"
        self.console.print(escape(line))
        for result in tally.failed[:SUMMARY_FAILED]:
            why = clean(result.error or result.stop_reason)
            self.console.print(f"  [red]failed[/] {escape(clean(result.id, 80))}: {escape(why)}")
        if len(tally.failed) > SUMMARY_FAILED:
            self.console.print(
                f"  … and {len(tally.failed) - SUMMARY_FAILED} more (see the results file)"
            )
