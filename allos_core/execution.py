"""Tool-call execution: one model message's calls, checked, decided, run and recorded.

The :class:`~allos_core.agent.Agent` hands the calls of each assistant message to its
:class:`ToolExecutor`. Every call is prepared (known tool, valid JSON, valid arguments, the
permission subjects), decided (:func:`~allos_core.permissions.decide_permission`, asking the
agent's ``ask`` function when the decision is ``ask``) and invoked (observer hooks with
read-only views, a checkpoint of the files it may change), and exactly one result per call is
recorded, in call order. Consecutive calls of read-only tools run concurrently; permission
prompts never overlap.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allos_core import events as ev
from allos_core.context import cap_text
from allos_core.errors import ToolArgumentsError
from allos_core.event_bounds import bounded_result
from allos_core.messages import Message, ToolCallPart, ToolResultPart
from allos_core.permissions import (
    Answer,
    PermissionDecision,
    PermissionRequest,
    decide_permission,
    no_prompt_denial,
    normalize_answer,
    rule_text,
    unapproved_subjects,
)
from allos_core.tools import Tool, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.run_state import RunState

__all__ = ["DENIED_SUFFIX", "AskFunction", "ReadyCall", "ToolExecutor", "ToolInterrupted"]

logger = logging.getLogger("allos.agent")

#: ``ask`` answers ``"yes"``, ``"no"`` or ``"always"`` (for the rest of the session), sync or async
AskFunction = Callable[[PermissionRequest], Answer | Awaitable[Answer]]

DENIED_SUFFIX = "Do not retry the same call: take another approach, or tell the user what you need."


@dataclass
class ReadyCall:
    """A call that passed every check and may run."""

    call: ToolCallPart
    tool: Tool
    args: Any
    subjects: list[str | None] = field(default_factory=list)


class ToolInterrupted(Exception):
    """A KeyboardInterrupt inside a tool, carried out of a concurrent task as an ordinary error."""


class ToolExecutor:
    """Runs tool calls for one agent.

    It reads the agent's tools, permissions, ``yes``, ``ask``, tool context and checkpoints at
    call time, so replacing any of them on the agent takes effect at the next call.
    """

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def run_calls(self, state: RunState, calls: list[ToolCallPart]) -> None:
        """Answer ``calls`` (one assistant message's): one result each, appended in call order.

        ``state.pending`` holds the results so far, so an interrupted run can still answer
        every call.
        """
        results: list[ToolResultPart | None] = [None] * len(calls)
        state.pending = (calls, results)
        index = 0
        while index < len(calls):
            end = index + 1
            if self._is_read_only(calls[index]):
                while end < len(calls) and self._is_read_only(calls[end]):
                    end += 1
            ready: list[tuple[int, ReadyCall]] = []
            for position in range(index, end):  # decisions (and prompts) one at a time
                call = calls[position]
                self.agent._emit(state, ev.ToolCallRequested(call))
                prepared = await self.prepare(state, call)
                if isinstance(prepared, ToolResult):
                    self._store(state, position, call, prepared, 0.0)
                else:
                    ready.append((position, prepared))
            if len(ready) == 1:
                await self._invoke(state, *ready[0])
            elif ready:
                outcomes = await asyncio.gather(
                    *(self._invoke(state, position, item) for position, item in ready),
                    return_exceptions=True,
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
            index = end
        state.pending = None
        self.agent._append(state, Message.tool_results([r for r in results if r is not None]))

    async def call_one(self, call: ToolCallPart) -> ToolResult:
        """Check, decide and run one call outside any run (the conversation is not changed)."""
        ready = await self.prepare(None, call)
        if isinstance(ready, ToolResult):
            return ready
        return await ready.tool.invoke_validated(ready.args, self.agent.tool_context)

    def _is_read_only(self, call: ToolCallPart) -> bool:
        tool = self.agent._tools.get(call.name)
        return tool is not None and tool.read_only and call.parse_error is None

    async def prepare(self, state: RunState | None, call: ToolCallPart) -> ReadyCall | ToolResult:
        """Check and decide one call: a :class:`ReadyCall` to run, or the error result to give."""
        agent = self.agent
        tools = agent._tools
        tool = tools.get(call.name)
        if tool is None:
            available = ", ".join(sorted(tools)) or "none"
            return ToolResult.error(f"unknown tool {call.name!r}; available tools: {available}")
        if call.parse_error:
            return ToolResult.error(
                f"the arguments for {call.name} were not valid JSON ({call.parse_error}); "
                "call it again with a JSON object that matches the tool's schema"
            )
        try:
            args = tool.validate(call.arguments)
        except ToolArgumentsError as exc:
            return ToolResult.error(f"{exc}\nFix the arguments and call {call.name} again.")
        context = agent.tool_context
        try:
            subjects = tool.permission_subjects(args, context)
            subject = tool.permission_subject(args, context)
        except Exception as exc:  # e.g. a path outside the workspace
            return ToolResult.error(f"{call.name} refused: {exc}")
        try:
            decision = decide_permission(
                tool,
                call,
                args,
                context,
                rules=agent.permissions,
                plugin_manager=agent.plugin_manager,
                session=agent.session_permissions,
                yes=agent.yes,
                subjects=subjects,
                subject=subject,
            )
        except Exception as exc:  # e.g. a plugin answering something that is not a decision
            logger.warning("deciding %s failed", call.name, exc_info=True)
            decision = PermissionDecision.deny(f"the permission check failed ({exc})", "error")
        if decision.decision == "ask":
            decision = await self._ask(tool, call, args, subject, subjects, decision)
        agent._emit(state, ev.PermissionDecided(call, decision, subject))
        if decision.decision == "deny":
            result = ToolResult.error(f"denied: {decision.reason}. {DENIED_SUFFIX}")
            self._hook("allos_after_tool_call", call=call, tool=tool, result=result)
            return result
        return ReadyCall(call, tool, args, subjects)

    def _nobody_to_ask(
        self, tool: Tool, subjects: list[str | None], decision: PermissionDecision
    ) -> PermissionDecision:
        """The deny an ``ask`` becomes with no one to ask: it names the parts of the call that
        need approval (a ``> FILE`` redirection is one) and the rules that would allow them."""
        agent = self.agent
        needed = unapproved_subjects(
            tool.name,
            subjects or [None],
            agent.permissions,
            path_like=tool.path_subject,
            workspace=agent.workspace,
        )
        return no_prompt_denial(tool.name, needed, decision.reason, path_like=tool.path_subject)

    async def _ask(
        self,
        tool: Tool,
        call: ToolCallPart,
        args: Any,
        subject: str | None,
        subjects: list[str | None],
        decision: PermissionDecision,
    ) -> PermissionDecision:
        agent = self.agent
        if agent.ask is None:
            return self._nobody_to_ask(tool, subjects, decision)
        try:
            preview = tool.preview(args, agent.tool_context)
        except Exception as exc:
            preview = f"(no preview: {exc})"
        request = PermissionRequest(
            call=call,
            tool_name=tool.name,
            arguments=dict(call.arguments),
            subject=subject,
            reason=decision.reason,
            preview=preview,
            subjects=list(subjects),
            always_rule=", ".join(rule_text(tool.name, s) for s in (subjects or [None])),
            read_only=tool.read_only,
        )
        try:
            answer = agent.ask(request)
            if inspect.isawaitable(answer):
                answer = await answer
            # a Ctrl-C during a blocking prompt only requests cancellation: let it land here,
            # before the tool runs
            await asyncio.sleep(0)
        except EOFError:
            return self._nobody_to_ask(tool, subjects, decision)
        except Exception as exc:
            return PermissionDecision.deny(f"the permission prompt failed ({exc})", "prompt")
        answer = normalize_answer(answer)
        if answer == "yes":
            return PermissionDecision.allow("allowed by the user", "user answer")
        if answer == "always":
            granted = agent.session_permissions.grant(tool.name, subjects)
            return PermissionDecision.allow(
                f"allowed by the user for the rest of this session: {granted}", "user answer"
            )
        return PermissionDecision.deny("the user said no", "user answer")

    async def _invoke(self, state: RunState, position: int, ready: ReadyCall) -> None:
        call, tool = ready.call, ready.tool
        context = self.agent.tool_context
        self._hook("allos_before_tool_call", call=call, tool=tool)
        snapshot = self._checkpoint_before(ready)
        started = time.perf_counter()
        try:
            result = await tool.invoke_validated(ready.args, context)
        except KeyboardInterrupt:
            raise ToolInterrupted() from None
        except SystemExit as exc:
            result = ToolResult.error(f"{tool.name} failed: it tried to exit ({exc.code})")
        finally:
            if snapshot is not None:
                self.agent.checkpoints.record(context, snapshot)
        duration = time.perf_counter() - started
        self._hook("allos_after_tool_call", call=call, tool=tool, result=result)
        self._store(state, position, call, result, duration)

    def _checkpoint_before(self, ready: ReadyCall) -> Any:
        """Snapshot the files a writing path tool names; note any other writing call."""
        tool = ready.tool
        if tool.read_only:
            return None
        checkpoints = self.agent.checkpoints
        paths = [s for s in ready.subjects if isinstance(s, str)]
        if tool.path_subject and paths:
            return checkpoints.snapshot(self.agent.tool_context, paths)
        shown = next((s for s in ready.subjects if s), None)
        checkpoints.note_command(f"{tool.name}: {shown}" if shown else tool.name)
        return None

    def _store(
        self, state: RunState, position: int, call: ToolCallPart, result: ToolResult, took: float
    ) -> None:
        limit = self.agent.max_tool_output_chars
        part = ToolResultPart(
            call_id=call.id,
            name=call.name,
            content=cap_text(result.content, limit),
            is_error=result.is_error,
            images=list(result.images),
        )
        assert state.pending is not None
        state.pending[1][position] = part
        # the event carries what the conversation keeps, not a tool's unbounded output
        shown = bounded_result(result, limit)
        self.agent._emit(state, ev.ToolResultEvent(call, shown, took))

    def _hook(self, name: str, **kwargs: Any) -> None:
        """Call an observer hook with read-only copies; a failing hook is reported, never fatal."""
        from allos_core.plugin_checks import read_only_call, read_only_result

        agent = self.agent
        views = {
            "call": read_only_call(kwargs["call"]),
            "tool": kwargs["tool"],
            **({"result": read_only_result(kwargs["result"])} if "result" in kwargs else {}),
        }
        try:
            agent.plugin_manager.notify(name, context=agent.tool_context, **views)
        except Exception:
            logger.warning("plugin hook %s failed", name, exc_info=True)
