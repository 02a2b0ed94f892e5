"""Keeping a conversation inside the model's context window.

Three mechanisms, cheapest first:

1. :func:`cap_text` bounds every tool result as it enters the conversation (head and tail kept,
   a marker in between says how much was cut);
2. when the estimate nears the window (``threshold``, 80 % by default), the oldest tool results
   are shortened to a one-line marker until the estimate is under ``target`` (60 %), leaving
   the recent turns alone;
3. if that is not enough, older turns are compacted into a summary written by the model. The
   system prompt, the task (the first user message, which then carries the summary) and the
   recent turns are kept.

Cuts are only made at turn boundaries (before a ``user`` or ``assistant`` message), so a tool
call is never separated from its result, and the compacted conversation is valid for every
provider. :func:`repair_conversation` makes any conversation consistent again (used after an
interruption and when a session is resumed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allos_core.events import Compacted

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message, Usage
    from allos_core.providers import Provider, ToolSchema

#: tool results longer than this are cut as they enter the conversation
DEFAULT_MAX_TOOL_OUTPUT_CHARS = 30_000
#: the window assumed when a provider cannot tell its model's
DEFAULT_CONTEXT_WINDOW = 128_000
ELIDED_PREFIX = "[output elided to save context:"
SUMMARY_HEADER = "[Summary of the earlier conversation, written to save context]"
INTERRUPTED_RESULT = "interrupted by the user before this tool call finished; it may not have run"

SUMMARY_SYSTEM_PROMPT = (
    "You summarise the conversation of a coding agent so that it can continue its work with "
    "less context. Be factual and concise; never invent anything."
)
SUMMARY_INSTRUCTIONS = """\
Write a summary of the conversation above that lets the agent continue the task without it. \
Include: what has been done so far (files read and changed, commands run and their outcomes), \
the important facts found (paths, names, error messages, test results), decisions made and why, \
and what remains to do. Use short bullet points; at most about 500 words.\
"""


def cap_text(text: str, limit: int = DEFAULT_MAX_TOOL_OUTPUT_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail with a marker.

    Cuts are moved to a line break when one is near, so lines stay whole.
    """
    if limit <= 0 or len(text) <= limit:
        return text
    head_len = (limit * 2) // 3
    tail_len = limit - head_len
    head = text[:head_len]
    newline = head.rfind("\n")
    if newline >= head_len * 0.8:
        head = head[: newline + 1]
    tail = text[len(text) - tail_len :]
    newline = tail.find("\n")
    if 0 <= newline <= tail_len * 0.2:
        tail = tail[newline + 1 :]
    omitted = len(text) - len(head) - len(tail)
    marker = (
        f"\n[... {omitted} of {len(text)} characters cut here to keep the context small; "
        f"ask for a narrower range to see them ...]\n"
    )
    return head + marker + tail


def is_summary_part(part: Any) -> bool:
    return getattr(part, "type", None) == "text" and part.text.lstrip().startswith(SUMMARY_HEADER)


def repair_conversation(
    messages: list[Message], result_text: str = INTERRUPTED_RESULT
) -> tuple[list[Message], int]:
    """``messages`` made consistent: every tool call answered once, no result without a call.

    Missing results are added as error results with ``result_text`` right after the call's
    other results; orphaned and duplicate results are dropped. Returns the (possibly new) list
    and the number of changes; the input list is returned unchanged when it was valid.
    """
    from allos_core.messages import Message, ToolResultPart

    out: list[Message] = []
    pending: dict[str, Any] = {}
    changes = 0

    def flush() -> None:
        nonlocal changes
        if pending:
            out.append(
                Message.tool_results(
                    [
                        ToolResultPart(
                            call_id=c.id, name=c.name, content=result_text, is_error=True
                        )
                        for c in pending.values()
                    ]
                )
            )
            changes += len(pending)
            pending.clear()

    for message in messages:
        if message.role == "tool":
            kept = []
            for part in message.parts:
                if part.type == "tool_result" and part.call_id in pending:
                    del pending[part.call_id]
                    kept.append(part)
            if len(kept) == len(message.parts):
                out.append(message)
            else:
                changes += len(message.parts) - len(kept)
                if kept:
                    out.append(message.model_copy(update={"parts": kept}))
            continue
        flush()
        out.append(message)
        if message.role == "assistant":
            pending = {call.id: call for call in message.tool_calls}
    flush()
    return (out, changes) if changes else (messages, 0)


class TokenCounter:
    """Token estimates for a growing conversation, cached per message object.

    Uses the provider's :meth:`~allos_core.providers.Provider.count_tokens` one message at a
    time, so each new message is counted once, however long the conversation grows. When the
    provider reported the real input size of a request (:meth:`observe`), the estimate never
    falls below it.
    """

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Message, int]] = {}
        self._provider: Any = None
        self._schemas: Any = None
        self._schema_tokens = 0
        self._anchor: tuple[int, Message, int] | None = None

    def reset(self) -> None:
        self._cache.clear()
        self._provider = None
        self._schemas = None
        self._anchor = None

    def forget_observation(self) -> None:
        """Drop the provider-reported size (after the conversation was rewritten)."""
        self._anchor = None

    def _bind(self, provider: Provider, schemas: list[ToolSchema] | None) -> None:
        if provider is not self._provider:
            self.reset()
            self._provider = provider
        if schemas is not self._schemas:
            self._schemas = schemas
            self._schema_tokens = provider.count_tokens([], schemas) if schemas else 0

    def message_tokens(self, provider: Provider, message: Message) -> int:
        entry = self._cache.get(id(message))
        if entry is not None and entry[0] is message:
            return entry[1]
        tokens = provider.count_tokens([message])
        self._cache[id(message)] = (message, tokens)
        return tokens

    def per_message(self, provider: Provider, messages: list[Message]) -> list[int]:
        return [self.message_tokens(provider, m) for m in messages]

    def count(
        self,
        provider: Provider,
        messages: list[Message],
        schemas: list[ToolSchema] | None = None,
    ) -> int:
        """The estimated size of a request with ``messages`` and ``schemas``."""
        self._bind(provider, schemas)
        cache = self._cache
        total = self._schema_tokens
        for message in messages:
            entry = cache.get(id(message))
            if entry is not None and entry[0] is message:
                total += entry[1]
            else:
                total += self.message_tokens(provider, message)
        if len(cache) > 2 * len(messages) + 64:
            keep = {id(m) for m in messages}
            for key in [k for k in cache if k not in keep]:
                del cache[key]
        anchor = self._anchor
        if anchor is not None:
            size, last, reported = anchor
            if size <= len(messages) and messages[size - 1] is last:
                newer = sum(self.message_tokens(provider, m) for m in messages[size:])
                total = max(total, reported + newer)
            else:
                self._anchor = None
        return total

    def observe(self, messages: list[Message], input_tokens: int) -> None:
        """Remember that a request with ``messages`` took ``input_tokens`` (provider-reported)."""
        if messages and input_tokens > 0:
            self._anchor = (len(messages), messages[-1], input_tokens)


@dataclass
class Compaction:
    """What :meth:`ContextBudget.fit` did: the new conversation, its events, the usage it cost."""

    messages: list[Message]
    events: list[Compacted] = field(default_factory=list)
    usage: Usage | None = None
    tokens: int = 0


class ContextBudget:
    """Decides when and how to shrink a conversation to fit the model's context window.

    ``window`` overrides what the provider reports; ``threshold`` and ``target`` are fractions
    of the window: shrinking starts above ``threshold`` and old tool results are shortened until
    the estimate is under ``target``. ``keep_recent_turns`` assistant turns (with their results)
    are never shortened; ``recent_fraction`` of the window is kept verbatim by a summary.
    """

    def __init__(
        self,
        *,
        window: int | None = None,
        threshold: float = 0.8,
        target: float = 0.6,
        keep_recent_turns: int = 2,
        recent_fraction: float = 0.3,
        default_window: int = DEFAULT_CONTEXT_WINDOW,
        min_elide_chars: int = 400,
        transcript_result_chars: int = 2_000,
    ) -> None:
        self.window = window
        self.threshold = threshold
        self.target = target
        self.keep_recent_turns = keep_recent_turns
        self.recent_fraction = recent_fraction
        self.default_window = default_window
        self.min_elide_chars = min_elide_chars
        self.transcript_result_chars = transcript_result_chars
        self.counter = TokenCounter()
        self._windows: dict[tuple[int, str], int] = {}

    async def window_for(self, provider: Provider) -> int:
        """The context window to respect with ``provider`` (asked once per provider and model)."""
        if self.window:
            return self.window
        key = (id(provider), str(getattr(provider, "model", "")))
        cached = self._windows.get(key)
        if cached is not None:
            return cached
        try:
            window = await provider.context_window()
        except Exception:  # a provider that cannot tell is not an error
            window = None
        window = int(window) if window else self.default_window
        self._windows[key] = window
        return window

    def estimate(
        self, provider: Provider, messages: list[Message], schemas: list[ToolSchema] | None = None
    ) -> int:
        return self.counter.count(provider, messages, schemas)

    # -- step 2: shorten old tool results ------------------------------------------------------
    def elide_old_results(
        self,
        provider: Provider,
        messages: list[Message],
        schemas: list[ToolSchema] | None,
        target_tokens: int,
    ) -> tuple[list[Message], int, int]:
        """Shorten the oldest tool results until the estimate is under ``target_tokens``.

        Returns the new list, how many results were shortened, and the new estimate.
        """
        tokens = self.estimate(provider, messages, schemas)
        boundary = self._recent_boundary(messages)
        out = list(messages)
        elided = 0
        for index in range(boundary):
            if tokens <= target_tokens:
                break
            message = out[index]
            if message.role != "tool":
                continue
            parts = []
            changed = False
            for part in message.parts:
                if (
                    part.type == "tool_result"
                    and len(part.content) > self.min_elide_chars
                    and not part.content.startswith(ELIDED_PREFIX)
                ):
                    note = f"{ELIDED_PREFIX} {len(part.content)} chars]"
                    part = part.model_copy(update={"content": note})
                    changed = True
                    elided += 1
                parts.append(part)
            if changed:
                replacement = message.model_copy(update={"parts": parts})
                tokens += self.counter.message_tokens(
                    provider, replacement
                ) - self.counter.message_tokens(provider, message)
                out[index] = replacement
        if elided:
            self.counter.forget_observation()
        return (out if elided else messages), elided, tokens

    def _recent_boundary(self, messages: list[Message]) -> int:
        """Index of the first message of the recent turns that are never shortened."""
        seen = 0
        for index in range(len(messages) - 1, -1, -1):
            if messages[index].role == "assistant":
                seen += 1
                if seen >= self.keep_recent_turns:
                    return index
        return 0

    # -- step 3: summarise older turns ---------------------------------------------------------
    def plan_summary(
        self,
        provider: Provider,
        messages: list[Message],
        recent_tokens: int,
        *,
        keep_minimum: bool = False,
    ) -> tuple[int, int] | None:
        """``(task_index, cut)``: summarise ``messages[task_index + 1:cut]``, or None.

        ``cut`` is the start of a turn (a ``user`` or ``assistant`` message), so nothing after
        it answers a call before it. The tail from ``cut`` fits in ``recent_tokens`` when it
        can; at least the last turn is kept. With ``keep_minimum`` only the last turn is kept.
        """
        task_index = next((i for i, m in enumerate(messages) if m.role == "user"), None)
        if task_index is None:
            return None
        candidates = [
            i
            for i in range(task_index + 2, len(messages))
            if messages[i].role in ("user", "assistant")
        ]
        if not candidates:
            return None
        if keep_minimum:
            return task_index, candidates[-1]
        counts = self.counter.per_message(provider, messages)
        tail = 0
        suffix = [0] * (len(messages) + 1)
        for index in range(len(messages) - 1, -1, -1):
            tail += counts[index]
            suffix[index] = tail
        for cut in candidates:
            if suffix[cut] <= recent_tokens:
                return task_index, cut
        return task_index, candidates[-1]

    async def summarize(
        self, provider: Provider, messages: list[Message], task_index: int, cut: int, window: int
    ) -> tuple[str, Usage | None]:
        """A summary of ``messages[task_index + 1:cut]`` written by the model."""
        from allos_core.messages import Message
        from allos_core.providers import ModelRequest

        task = messages[task_index]
        earlier = "\n".join(getattr(p, "text", "") for p in task.parts if is_summary_part(p))
        task_text = "".join(
            p.text for p in task.parts if p.type == "text" and not is_summary_part(p)
        )
        transcript = render_transcript(messages[task_index + 1 : cut], self.transcript_result_chars)
        if earlier:
            transcript = f"{earlier.strip()}\n\n{transcript}"
        transcript = cap_text(transcript, max(window * 2, 8_000))
        prompt = (
            f"The task given to the agent:\n{task_text}\n\n"
            f"The conversation so far:\n{transcript}\n\n{SUMMARY_INSTRUCTIONS}"
        )
        request = ModelRequest(
            messages=[Message.system(SUMMARY_SYSTEM_PROMPT), Message.user(prompt)], tools=[]
        )
        response = await provider.complete(request)
        return response.message.text.strip(), response.usage

    async def fit(
        self,
        provider: Provider,
        messages: list[Message],
        schemas: list[ToolSchema] | None = None,
        *,
        force: bool = False,
    ) -> Compaction:
        """Shrink ``messages`` if they near the window (or always, with ``force``).

        The result's ``events`` are empty (and its ``messages`` the same list) when nothing had
        to change; ``tokens`` is the estimate of the conversation it returns. ``force`` (a
        user's ``/compact``) skips the shortening step and summarises all but the last turn.
        """
        window = await self.window_for(provider)
        tokens = self.estimate(provider, messages, schemas)
        result = Compaction(messages=messages, tokens=tokens)
        if not force and tokens < self.threshold * window:
            return result
        if not force:
            shortened, count, after = self.elide_old_results(
                provider, messages, schemas, int(self.target * window)
            )
            if count:
                result.events.append(Compacted("truncate", tokens, after, 0))
                result.messages, result.tokens = shortened, after
            if after < self.threshold * window:
                return result
        await self._summarize_into(provider, result, schemas, window, force)
        return result

    async def _summarize_into(
        self,
        provider: Provider,
        result: Compaction,
        schemas: list[ToolSchema] | None,
        window: int,
        force: bool,
    ) -> None:
        from allos_core.messages import TextPart

        messages = result.messages
        plan = self.plan_summary(
            provider, messages, int(self.recent_fraction * window), keep_minimum=force
        )
        if plan is None:
            return
        task_index, cut = plan
        removed = cut - task_index - 1
        try:
            summary, usage = await self.summarize(provider, messages, task_index, cut, window)
        except Exception as exc:  # keep going without the old turns rather than fail the run
            summary, usage = "", None
            failure = f"{type(exc).__name__}: {exc}"
        else:
            failure = ""
        if not summary:
            why = f": {failure}" if failure else ""
            summary = f"({removed} earlier messages were removed to save context; no summary{why})"
        task = messages[task_index]
        parts = [p for p in task.parts if not is_summary_part(p)]
        parts.append(TextPart(text=f"\n\n{SUMMARY_HEADER}\n{summary}"))
        new_task = task.model_copy(update={"parts": parts})
        compacted = [*messages[:task_index], new_task, *messages[cut:]]
        self.counter.forget_observation()
        after = self.estimate(provider, compacted, schemas)
        result.events.append(Compacted("summary", result.tokens, after, removed))
        result.messages, result.tokens = compacted, after
        if usage is not None:
            result.usage = usage if result.usage is None else result.usage + usage


def render_transcript(messages: list[Message], result_chars: int = 2_000) -> str:
    """A plain-text transcript of ``messages`` (for summaries and ``sessions show``)."""
    lines: list[str] = []
    for message in messages:
        role = message.role
        if role == "system":
            continue
        if role == "tool":
            for part in message.tool_results_parts:
                flag = " (error)" if part.is_error else ""
                content = cap_text(part.content, result_chars) if result_chars else part.content
                lines.append(f"[result of {part.name}{flag}]\n{content}")
            continue
        text = message.text.strip()
        if text:
            lines.append(f"[{role}]\n{text}")
        for call in message.tool_calls:
            arguments = call.raw_arguments if call.parse_error else json.dumps(call.arguments)
            lines.append(f"[{role} calls {call.name}] {arguments}")
    return "\n\n".join(lines)
