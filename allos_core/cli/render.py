"""Show an agent run as it happens: the ``on_event`` consumer of ``allos run`` and ``allos chat``.

Where things go:

- the answer goes to stdout: streamed as it arrives when stdout is a terminal, else written once
  the model's last message is complete (so ``allos run TASK > answer.txt`` holds only the answer);
- everything else (spinner, tool calls, decisions, diffs, output summaries, the usage line) goes
  to stderr;
- with ``--json`` every event is one JSON line on stdout and nothing else is printed there.

Every string that came from the model, a tool or a plugin goes through the terminal sanitiser
(:mod:`allos_core.terminal`) before it is printed: escape sequences and invisible characters
show as text. The answer written to a redirected stdout stays exact.

Colour and the spinner follow the stderr console: off with ``NO_COLOR``, on a dumb terminal, or
when stderr is not a terminal.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from allos_core.terminal import neutralise, safe_markup

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

#: lines of a diff shown before it is cut (unless verbose)
DIFF_LINES = 60
#: lines shown from the start and the end of a shell command's output
OUTPUT_HEAD = 3
OUTPUT_TAIL = 3


def shorten(value: Any, limit: int = 60) -> str:
    """A value on one line, cut in the middle of long text with a marker of what was left out."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    keep = max(limit - 12, 8)
    left = text[: keep * 2 // 3]
    right = text[-(keep - len(left)) :]
    return f"{left}…({len(text) - len(left) - len(right)} chars)…{right}"


def format_call(name: str, arguments: dict[str, Any], limit: int = 60) -> str:
    """``name(key=value, ...)`` with long values shortened."""
    args = ", ".join(f"{key}={shorten(value, limit)}" for key, value in arguments.items())
    return f"{name}({args})"


def count(number: int) -> str:
    return f"{number:,}"


def colour_diff_lines(diff: str) -> list[tuple[str, str]]:
    """The lines of a unified diff (neutralised, split on newlines only, so a CR or U+2028
    inside a line cannot pass for a line of its own) with the rich style of each."""
    styled = []
    lines = neutralise(diff).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = "dim"
        styled.append((line, style))
    return styled


class Renderer:
    """Consume agent events and print them (call it with each event).

    ``live_answer`` decides whether answer text is streamed to stdout as it arrives (default: when
    stdout is a terminal). ``show_usage`` prints the usage line when the run stops.
    """

    def __init__(
        self,
        *,
        json_lines: bool = False,
        verbose: bool = False,
        out: IO[str] | None = None,
        console: Console | None = None,
        live_answer: bool | None = None,
        show_usage: bool = True,
    ) -> None:
        from allos_core.cli.ui import err_console

        self.json_lines = json_lines
        self.verbose = verbose
        self.out = out or sys.stdout
        self.err = console or err_console()
        self.live_answer = _isatty(self.out) if live_answer is None else live_answer
        self.live_progress = self.err.is_terminal and not self.err.is_dumb_terminal
        self.spinner_enabled = self.live_progress and not json_lines
        self.show_usage = show_usage
        self._status: Any = None
        self._streamed: str | None = None  # where this turn's text went: "out", "err" or None
        self._line_open = False  # the last text written did not end a line
        self.answer_printed = False
        self.started = time.monotonic()
        self.total_usage: Any = None
        self.iterations = 0
        self.session_path: str | None = None
        self._denied: dict[str, bool] = {}
        #: calls whose diff the permission prompt already showed
        self.previewed: set[str] = set()
        self._reasoning: list[str] = []  # this turn's streamed reasoning, not shown yet
        self._reasoning_shown = False

    # -- spinner -----------------------------------------------------------------------------------
    def spin(self, text: str) -> None:
        """Show (or update) the spinner, when stderr is a terminal."""
        if not self.spinner_enabled:
            return
        if self._status is None:
            self._status = self.err.status(text, spinner="dots")
            self._status.start()
        else:
            self._status.update(text)

    def pause(self) -> None:
        """Stop the spinner and end any open line (before prompting or printing)."""
        if self._status is not None:
            self._status.stop()
            self._status = None
        self._end_line()

    def _end_line(self) -> None:
        if self._line_open:
            stream = self.out if self._streamed == "out" else self.err.file
            stream.write("\n")
            stream.flush()
            self._line_open = False

    # -- dispatch ----------------------------------------------------------------------------------
    def __call__(self, event: Any) -> None:
        if self.json_lines:
            from allos_core.event_bounds import bounded_data

            data = bounded_data(event.to_dict())
            self.out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
            self.out.flush()
            return
        handler = getattr(self, f"on_{event.type}", None)
        if handler is not None:
            handler(event)

    def on_run_started(self, event: Any) -> None:
        self.started = time.monotonic()
        self.answer_printed = False
        if self.verbose:
            self.note(f"{event.provider} · {event.model}")

    def on_model_request(self, event: Any) -> None:
        self.iterations = event.iteration
        self._streamed = None
        self._reasoning, self._reasoning_shown = [], False
        self.spin("thinking…")
        if self.verbose:
            self.pause()
            self.note(
                f"request {event.iteration}: {event.messages} messages, "
                f"~{count(event.estimated_tokens)} tokens"
            )
            self.spin("thinking…")

    def on_reasoning_delta(self, event: Any) -> None:
        """Reasoning is collected while it streams and shown once it ends (see show_reasoning)."""
        if event.text:
            self._reasoning.append(event.text)

    def show_reasoning(self, text: str | None = None) -> None:
        """The turn's reasoning, dimmed: its first line and "…" (all of it with -v)."""
        if text is None:
            text = "".join(self._reasoning)
        self._reasoning = []
        text = _visible(text.strip())
        if not text or self._reasoning_shown:
            return
        self._reasoning_shown = True
        from rich.markup import escape

        self.pause()
        if self.verbose:
            self.err.print(f"[dim italic]{escape(text)}[/]")
            return
        lines = text.splitlines()
        first = _clip(lines[0], 100)
        more = " …" if len(lines) > 1 or first != lines[0] else ""
        self.err.print(f"[dim italic]✻ {escape(first)}{more}[/]")

    def on_text_delta(self, event: Any) -> None:
        if not event.text:
            return
        if self._reasoning:
            self.show_reasoning()
        if self._status is not None:
            self._status.stop()
            self._status = None
        if self.live_answer:
            target, self._streamed = self.out, "out"
        elif self.live_progress:
            target, self._streamed = self.err.file, "err"
        else:
            self._streamed = "none"
            return
        target.write(neutralise(event.text))
        target.flush()
        self._line_open = not event.text.endswith("\n")

    def on_assistant_message(self, event: Any) -> None:
        message = event.message
        reasoning = getattr(message, "reasoning", None)
        if reasoning:  # streamed and not shown yet, or the whole answer at once (no streaming)
            self.show_reasoning("\n".join(p.text for p in reasoning if p.text))
        text = message.text
        has_calls = bool(message.tool_calls)
        self.pause()
        streamed, self._streamed = self._streamed, None
        if not text:
            return
        if not has_calls:  # the answer
            if streamed != "out":
                self.write_answer(text)
            self.answer_printed = True
        elif streamed in (None, "none"):
            self.err.print(safe_markup(text.rstrip()), style="italic")

    def write_answer(self, text: str) -> None:
        """Write the answer to stdout (ending its line)."""
        self.pause()
        if _isatty(self.out):
            text = neutralise(text)
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()
        self.answer_printed = True

    def on_tool_call(self, event: Any) -> None:
        self.pause()
        call = event.call
        if call.parse_error:
            self.err.print(f"[bold]●[/] {safe_markup(call.name)} [red](invalid arguments)[/]")
            return
        # neutralised: the call comes from the model
        self._line(("●", "bold cyan"), (" ", ""), (neutralise(format_call(call.name, call.arguments)), "bold"))  # fmt: skip

    def on_permission(self, event: Any) -> None:
        decision = event.decision
        reason = safe_markup(_decision_reason(decision))
        self.pause()
        if decision.decision == "deny":
            self._denied[event.call.id] = True
            self.err.print(f"  [bold red]✗ denied[/][red]{reason}[/]")
        elif decision.decision == "allow":
            if self.verbose or decision.source not in ("", "default"):
                self.err.print(f"  [green]✓ allowed[/][dim]{reason}[/]")
            self.spin(f"running {safe_markup(event.call.name)}…")
        elif self.verbose:
            self.err.print(f"  [yellow]? ask[/] [dim]{reason}[/]")

    def on_tool_result(self, event: Any) -> None:
        self.pause()
        result = event.result
        metadata = result.metadata or {}
        name = event.call.name
        exit_code = _first(metadata, "exit_code", "returncode", "exit_status")
        if exit_code is not None or (name == "shell_exec" and not result.is_error):
            self._print_shell(result.content, exit_code, metadata, event.duration)
            return
        if result.is_error:
            if self._denied.pop(event.call.id, False):
                return  # the denial was shown with the decision
            self._print_block(result.content, "red", head=4, tail=2, prefix="  ✗ ")
            return
        diff = metadata.get("diff")
        if diff and event.call.id in self.previewed:  # shown in the prompt: just the outcome
            first = result.content.strip().splitlines()[:1]
            self.err.print(f"  [dim]→ {safe_markup(first[0] if first else 'done')}[/]")
            return
        if diff:
            self.print_diff(diff)
            return
        lines = result.content.splitlines()
        summary = metadata.get("summary")
        if not summary:
            summary = f"{len(lines)} line{'s' if len(lines) != 1 else ''}"
            if event.duration >= 0.5:
                summary += f" · {event.duration:.1f}s"
        self._line(("  ", ""), ("→ " + neutralise(str(summary)), "dim"))
        if self.verbose:
            self._print_block(result.content, "dim", head=20, tail=5)

    def _line(self, *parts: tuple[str, str]) -> None:
        """One line of (text, style) parts on stderr, written directly.

        The two lines every tool call prints go through here: rich's print machinery costs
        more than the rest of a turn's rendering. The text must already be neutralised; only
        the styles below are known (anything else falls back to rich).
        """
        console = self.err
        if console.is_dumb_terminal or console.record or console.is_jupyter:
            from rich.text import Text

            console.print(Text.assemble(*parts))
            return
        colour = console.color_system is not None and not console.no_color
        chunks = []
        for text, style in parts:
            code = _ANSI.get(style) if colour else ""
            if code is None:
                from rich.text import Text

                console.print(Text.assemble(*parts))
                return
            chunks.append(f"\x1b[{code}m{text}\x1b[0m" if code else text)
        console.file.write("".join(chunks) + "\n")
        console.file.flush()

    def print_diff(self, diff: str, *, indent: str = "  ") -> None:
        """A unified diff, coloured (plain +/- when colour is off), cut after DIFF_LINES lines."""
        from rich.text import Text

        lines = colour_diff_lines(diff)
        shown = lines if self.verbose else lines[:DIFF_LINES]
        text = Text()
        for line, style in shown:
            text.append(indent)
            text.append(neutralise(line), style=style)
            text.append("\n")
        if len(shown) < len(lines):
            text.append(f"{indent}… {len(lines) - len(shown)} more diff lines\n", style="dim")
        self.err.print(text, end="", soft_wrap=True)

    def _print_shell(
        self, content: str, exit_code: Any, metadata: dict[str, Any], duration: float
    ) -> None:
        from rich.markup import escape

        lines = [
            line
            for line in neutralise(content).rstrip("\n").split("\n")
            if not line.startswith("exit code:") and line not in ("stdout:", "stderr:")
        ]
        if lines == ["(no output)"]:
            lines = []
        parts = []
        if metadata.get("timed_out"):
            parts.append("timed out")
        if exit_code is not None:
            parts.append(f"exit {exit_code}")
        parts.append(f"{len(lines)} line{'s' if len(lines) != 1 else ''} of output")
        seconds = metadata.get("duration", duration)
        if isinstance(seconds, (int, float)) and seconds >= 0.1:
            parts.append(f"{seconds:.1f}s")
        colour = "green" if exit_code in (0, "0") else ("red" if exit_code is not None else "dim")
        self.err.print(f"  [{colour}]→ {escape(' · '.join(parts))}[/]")
        head, tail = (40, 20) if self.verbose else (OUTPUT_HEAD, OUTPUT_TAIL)
        if lines:
            self._print_block("\n".join(lines), "dim", head=head, tail=tail)

    def _print_block(
        self, content: str, style: str, *, head: int, tail: int, prefix: str = "    "
    ) -> None:
        from rich.text import Text

        lines = neutralise(content).rstrip("\n").split("\n")
        if len(lines) > head + tail + 1:
            shown = [*lines[:head], f"… {len(lines) - head - tail} more lines", *lines[-tail:]]
        else:
            shown = lines
        text = Text()
        for index, line in enumerate(shown):
            text.append((prefix if index == 0 else " " * len(prefix)) + _clip(line) + "\n", style)
        self.err.print(text, end="", soft_wrap=True)

    def on_tool_source_started(self, event: Any) -> None:
        if self.verbose:
            self.pause()
            self.note(f"tools from {event.source}: {event.tools} ({event.seconds:.1f}s to start)")

    def on_tool_source_failed(self, event: Any) -> None:
        from allos_core.cli.ui import print_warning

        self.pause()
        line = f"tool source {event.source}: {event.error}; going on without it"
        # the name and the error may come from a hostile project or server: no control codes
        print_warning("warning", " ".join(neutralise(line).splitlines()))

    def on_usage(self, event: Any) -> None:
        self.total_usage = event.total

    def on_compaction(self, event: Any) -> None:
        self.pause()
        what = "summarised older turns" if event.kind == "summary" else "shortened old tool output"
        self.note(
            f"context: {what} ({count(event.tokens_before)} → {count(event.tokens_after)} tokens)"
        )

    def on_notice(self, event: Any) -> None:
        from allos_core.cli.ui import print_warning

        self.pause()
        print_warning(event.level, event.message)

    def on_session_saved(self, event: Any) -> None:
        self.session_path = event.path
        if self.verbose:
            self.pause()
            self.note(f"session saved: {event.path}")

    def on_stop(self, event: Any) -> None:
        self.pause()
        if event.usage is not None:
            self.total_usage = event.usage
        self.iterations = event.iterations or self.iterations
        if event.reason == "interrupted":
            self.err.print("[yellow]interrupted[/]")
        if self.show_usage:
            self.print_usage()

    # -- helpers -----------------------------------------------------------------------------------
    def note(self, text: str) -> None:
        self.err.print(f"[dim]{safe_markup(text)}[/]")

    def usage_line(self) -> str:
        usage = self.total_usage
        elapsed = time.monotonic() - self.started
        parts = []
        if usage is not None:
            parts.append(
                f"{count(usage.input_tokens)} tokens in · {count(usage.output_tokens)} out"
            )
            cached = []
            if usage.cache_read_tokens:
                cached.append(f"{count(usage.cache_read_tokens)} read")
            if usage.cache_write_tokens:
                cached.append(f"{count(usage.cache_write_tokens)} written")
            if cached:
                parts.append("cache " + ", ".join(cached))
            if getattr(usage, "cost", None) is not None:
                parts.append(format_cost(usage.cost))
        turns = self.iterations
        parts.append(f"{turns} turn{'s' if turns != 1 else ''}")
        parts.append(f"{elapsed:.1f}s")
        return " · ".join(parts)

    def print_usage(self) -> None:
        self.note(self.usage_line())


def format_cost(dollars: float) -> str:
    """``$0.0123`` below a dollar, ``$4.56`` above."""
    return f"${dollars:.4f}" if dollars < 1 else f"${dollars:,.2f}"


#: SGR codes of the styles :meth:`Renderer._line` writes itself
_ANSI = {"": "", "bold": "1", "dim": "2", "bold cyan": "1;36"}


def _decision_reason(decision: Any) -> str:
    """`` by rule X`` / ``: why`` to follow "allowed" or "denied"."""
    reason = (decision.reason or "").strip()
    if not reason:
        return f" ({decision.source})" if decision.source else ""
    if reason.startswith("rule "):
        return f" by {reason}"
    for word in ("allowed ", "denied "):
        if reason.startswith(word):
            return " " + reason[len(word) :]
    return f": {reason}"


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def _visible(text: str) -> str:
    """``text`` with control characters (escape sequences from a model) shown, not obeyed."""
    return "".join(
        char
        if char in "\n\t" or not (char < " " or "\x7f" <= char <= "\x9f")
        else f"\\x{ord(char):02x}"
        for char in text
    )


def _clip(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
