"""The agent loop: :class:`Agent` runs a task with a model and tools.

::

    from allos_core.agent import Agent

    agent = Agent("openai", "gpt-4o-mini", tools=["read_file", "edit_file"], ask=my_prompt)
    result = agent.run("fix the failing test")       # or: await agent.arun(...)
    print(result.stop_reason, result.text)

Each turn sends the conversation and the tools' schemas to the model
(:mod:`allos_core.model_calls`). When the model asks for tools, its message is recorded first;
then its calls go to the :class:`~allos_core.execution.ToolExecutor` (checked, decided, run:
exactly one result per call, in call order). The loop stops at a final answer, the iteration
limit, the token limit, an error or an interruption (Ctrl-C, task cancellation) — and in every
case the conversation is left consistent (every call has its result) and the session, if any,
is saved.

Events for every step go to ``on_event`` and to :meth:`Agent.iter_events`; see
:mod:`allos_core.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core import events as ev
from allos_core.accounting import Accounting, not_run
from allos_core.agent_config import AgentConfig, accepts_config
from allos_core.agent_lifetime import ClientLifetime
from allos_core.agent_setup import (
    checkpoint_log,
    initial_messages,
    open_session,
    resolve_provider,
    resolve_tools,
    system_prompt_for,
    tool_context_for,
)
from allos_core.agent_sources import AgentToolSources
from allos_core.context import (
    DEFAULT_MAX_TOOL_OUTPUT_CHARS,
    ContextBudget,
    repair_conversation,
)
from allos_core.errors import AllosError, SessionError
from allos_core.event_dispatch import EventDispatch, stream_events
from allos_core.execution import AskFunction, ToolExecutor, ToolInterrupted
from allos_core.messages import Message, ToolCallPart, Usage
from allos_core.model_calls import ModelCalls
from allos_core.output_handling import OutputHandling, structured_output
from allos_core.permissions import PermissionRequest, PermissionRules, SessionPermissions
from allos_core.plugins import strict_from_env
from allos_core.pricing import Pricer
from allos_core.providers import Provider, ToolSchema
from allos_core.run_state import EventCallback, RunResult, RunState
from allos_core.session_saving import SessionSaver
from allos_core.sync_loop import SyncLoop, cancel_requested, refuse_inside_loop
from allos_core.tools import Tool, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.output import StructuredOutput
    from allos_core.plugins import PluginManager
    from allos_core.sessions import Session
    from allos_core.tool_sources import ToolSource
    from allos_core.undo import UndoReport

__all__ = ["Agent", "AskFunction", "PermissionRequest", "RunResult"]

logger = logging.getLogger("allos.agent")


class Agent:
    """A coding agent: a provider, tools, permissions, a conversation and maybe a session.

    ``provider`` is a :class:`~allos_core.providers.Provider` or a provider name resolved
    through the plugin manager (built with ``model`` and ``provider_options``), or an
    :class:`~allos_core.agent_config.AgentConfig` holding all of these arguments. ``tools=None``
    uses every installed tool; names are looked up. ``system_prompt=None`` uses the default
    coding-agent prompt plus ``ALLOS.md`` / ``AGENTS.md`` from the workspace. ``permissions``
    are the user's rules, ``yes`` approves every ``ask`` (a ``deny`` still wins), and ``ask``
    is called for each ``ask`` decision (with none, an ``ask`` becomes a ``deny`` that says how
    to allow the call). ``session`` (a :class:`~allos_core.sessions.Session`, a name or a path)
    is resumed if it exists and saved after every turn. ``tool_sources`` (MCP servers and other
    :class:`~allos_core.tool_sources.ToolSource` objects) start when a run first needs tools and
    stop when it ends; their tools join the run under each source's prefix. With
    ``keep_tool_sources=True`` they start once and serve every run until :meth:`close`.

    ``output_type`` (a pydantic model, dataclass, TypedDict, JSON schema dict, or a list or union
    of them) makes every run end with a validated value in ``result.output`` (see
    :mod:`allos_core.output`); an answer that does not validate goes back to the model up to
    ``output_retries`` times, then the run stops as ``output_invalid``. ``deps`` reaches tools
    as ``context.deps`` (declare the parameter as ``ToolContext[MyDeps]``). ``max_cost`` stops a
    run (``cost_limit``) before a request likely to take it over that many US dollars and after
    one that did; ``prices`` are the user's own prices by model (see :mod:`allos_core.pricing`).

    One run at a time per agent. :meth:`run` is synchronous and cannot be called from inside a
    running event loop; use :meth:`arun` or :meth:`iter_events` there.

    The agent keeps one SDK client per provider for its life (and, for :meth:`run`, one event
    loop): release them with :meth:`close` / :meth:`aclose`, or use the agent as a context
    manager (``with Agent(...) as agent:`` or ``async with``). What is left open is closed
    when the agent is collected or the interpreter exits.
    """

    @accepts_config
    def __init__(
        self,
        provider: Provider | str | AgentConfig,
        model: str | None = None,
        *,
        tools: list[Tool | str] | None = None,
        system_prompt: str | None = None,
        append_system_prompt: str | None = None,
        permissions: PermissionRules | None = None,
        yes: bool = False,
        ask: AskFunction | None = None,
        workspace: str | Path | None = None,
        plugin_manager: PluginManager | None = None,
        provider_options: dict[str, Any] | None = None,
        max_iterations: int | None = 50,
        max_total_tokens: int | None = None,
        stream: bool = True,
        on_event: EventCallback | None = None,
        session: Session | str | Path | None = None,
        context: ContextBudget | None = None,
        max_tool_output_chars: int = DEFAULT_MAX_TOOL_OUTPUT_CHARS,
        tool_context_extra: dict[str, Any] | None = None,
        plugin_settings: Mapping[str, Any] | None = None,
        deps: Any = None,
        output_type: Any = None,
        output_retries: int = 3,
        max_cost: float | None = None,
        prices: Mapping[str, Any] | None = None,
        tool_sources: list[ToolSource] | None = None,
        keep_tool_sources: bool = False,
    ) -> None:
        self._plugin_manager = plugin_manager
        if plugin_manager is not None or strict_from_env():
            self.plugin_manager.check_ready()  # strict: a failed plugin refuses the agent
        self.workspace = Path(workspace if workspace is not None else Path.cwd()).resolve()
        assert not isinstance(provider, AgentConfig)  # expanded by @accepts_config
        manager = lambda: self.plugin_manager  # noqa: E731 - looked up only when needed
        self.provider: Provider = resolve_provider(manager, provider, model, provider_options)
        self._tools = resolve_tools(manager, tools)
        self._schemas: list[ToolSchema] | None = None
        self.permissions = permissions
        self.yes = yes
        self.ask = ask
        #: "always" answers given during this agent's life (never saved in a session file)
        self.session_permissions = SessionPermissions()
        self.max_iterations = max_iterations
        self.max_total_tokens = max_total_tokens
        self.max_cost = max_cost
        self.pricer = Pricer(prices)
        self.output: StructuredOutput | None = structured_output(output_type, output_retries)
        self.stream = stream
        self.on_event = on_event
        self.context = context or ContextBudget()
        self.max_tool_output_chars = max_tool_output_chars
        self.tool_context = tool_context_for(self, tool_context_extra, plugin_settings, deps)
        prompt, append = system_prompt, append_system_prompt
        tool_list = list(self._tools.values())
        self.system_prompt = system_prompt_for(
            tool_list, tool_sources, self.workspace, prompt, append
        )
        #: tokens used over this agent's life
        self.usage = Usage()
        self.last_result: RunResult | None = None
        self._running = False
        self._state: RunState | None = None
        self.session: Session | None = open_session(session, self.workspace)
        #: the file changes of every turn, for :meth:`undo` (kept in the session)
        self.checkpoints = checkpoint_log(self.session)
        self._messages: list[Message] = initial_messages(self.session, self.system_prompt)
        #: started for each run, stopped when it ends (see allos_core.tool_sources)
        self.tool_sources: list[ToolSource] = list(tool_sources or [])
        self.keep_tool_sources = keep_tool_sources
        # the parts the loop delegates to (each reads the agent's settings at call time)
        self._events = EventDispatch(self)
        self._executor = ToolExecutor(self)
        self._model = ModelCalls(self, tools_asked=tools is not None)
        self._outputs = OutputHandling(self)
        self._accounting = Accounting(self)
        self._saver = SessionSaver(self)
        self._sources = AgentToolSources(self)
        #: the providers' clients and the event loop of the synchronous API
        self._lifetime = ClientLifetime(self.provider)

    # -- public state --------------------------------------------------------------------------
    @property
    def plugin_manager(self) -> PluginManager:
        """The plugin manager (discovering installed plugins on first use if none was given)."""
        if self._plugin_manager is None:
            from allos_core.plugins import create_plugin_manager

            self._plugin_manager = create_plugin_manager()
        return self._plugin_manager

    @property
    def messages(self) -> list[Message]:
        """The whole conversation, system prompt first (the live list)."""
        return self._messages

    @property
    def tools(self) -> dict[str, Tool]:
        return self._tools

    def tool_schemas(self) -> list[ToolSchema]:
        """The tools as the model sees them."""
        if self._schemas is None:
            self._schemas = [tool.schema() for tool in self._tools.values()]
        return self._schemas

    def set_provider(
        self,
        provider: Provider | str,
        model: str | None = None,
        *,
        provider_options: dict[str, Any] | None = None,
    ) -> Provider:
        """Switch to another provider or model; the conversation carries over.

        The previous provider's client is closed at the start of the next run.
        """
        manager = lambda: self.plugin_manager  # noqa: E731 - looked up only when needed
        self.provider = resolve_provider(manager, provider, model, provider_options)
        self._lifetime.use(self.provider)
        return self.provider

    def clear(self) -> None:
        """Forget the conversation except the system prompt (the session is saved)."""
        keep = [m for m in self._messages[:1] if m.role == "system"]
        self._messages[:] = keep
        self.context.counter.forget_observation()
        self._saver.save(None)

    # -- running -------------------------------------------------------------------------------
    def run(self, task: str | None = None, *, images: list[Any] | None = None) -> RunResult:
        """Run ``task`` to the end and return the result (``None`` continues the conversation).

        ``images`` (:class:`~allos_core.messages.ImagePart`, see :mod:`allos_core.images`) go
        with the task. Provider and tool failures, limits and Ctrl-C do not raise: see
        ``result.stop_reason``. Must not be called from inside a running event loop (use
        :meth:`arun`).
        """
        refuse_inside_loop("run", "await agent.arun(task)")
        self._state = None
        try:
            return self._sync_loop().run(
                self._execute(task, (), reraise_cancel=False, images=images)
            )
        except KeyboardInterrupt:
            state = self._state
            if state is None:
                raise
            if not state.finished:  # the interrupt landed outside the loop's own code
                state.stop("interrupted")
                self._running = False
                return self._finish(state)
            assert state.result is not None
            return state.result

    async def arun(self, task: str | None = None, *, images: list[Any] | None = None) -> RunResult:
        """The asynchronous :meth:`run`.

        When the task running this coroutine is cancelled, the run stops as ``interrupted``,
        the conversation is made consistent and saved, and the cancellation is re-raised
        (``agent.last_result`` holds the result).
        """
        return await self._execute(task, (), reraise_cancel=True, images=images)

    async def iter_events(self, task: str | None = None) -> AsyncIterator[ev.Event]:
        """Run ``task`` and yield its events as they happen; the result is ``last_result``.

        Leaving the loop early cancels the run (which still stops consistently and saves).
        """
        events = stream_events(lambda sink: self._execute(task, (sink,), reraise_cancel=True))
        async with contextlib.aclosing(events):  # leaving early cancels the run now
            async for event in events:
                yield event

    def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Run one tool call on the user's behalf, through the same checks as the model's calls.

        The arguments are validated, the permission decided (an ``ask`` goes to :attr:`ask`),
        and the tool runs in the workspace; every failure is an error :class:`ToolResult`. The
        conversation is not changed. The chat's ``@path`` mentions use it with ``read_file``.
        """
        refuse_inside_loop("call_tool", "await agent.acall_tool(...)")
        return self._sync_loop().run(self.acall_tool(name, arguments))

    async def acall_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """The asynchronous :meth:`call_tool`."""
        from allos_core.providers import new_tool_call_id

        call = ToolCallPart(id=new_tool_call_id(), name=name, arguments=arguments)
        return await self._executor.call_one(call)

    def undo(self, turns: int = 1, *, force: bool = False) -> UndoReport:
        """Restore the files the last ``turns`` turns changed, and drop those turns.

        The conversation loses those turns too (so the model knows), unless it was compacted
        since; the session is saved. Raises :class:`~allos_core.undo.UndoError` when
        there is nothing to undo or a file was changed since (unless ``force``). Changes made by
        shell commands are not undone: ``report.commands`` lists them.
        """
        if self._running:
            raise AllosError("cannot undo while a run is in progress")
        from allos_core.undo import drop_turn_messages, undo

        report = undo(self.tool_context, self.checkpoints, turns, force=force)
        # the session's list too: they are one list
        if drop_turn_messages(self._messages, report.turns[-1]):
            self._model.forget_call_ids()
        self._saver.save(None)
        return report

    async def acompact(self) -> list[ev.Compacted]:
        """Summarise the conversation now (all but the last turn); returns what was done."""
        if self._running:
            raise AllosError("cannot compact while a run is in progress")
        events = await self._model.compact()
        if events:
            self._saver.save(None)
        return events

    def compact(self) -> list[ev.Compacted]:
        """The synchronous :meth:`acompact`."""
        refuse_inside_loop("compact", "await agent.acompact()")
        return self._sync_loop().run(self.acompact())

    # -- lifetime ------------------------------------------------------------------------------
    def _sync_loop(self) -> SyncLoop:
        """The event loop every synchronous call runs on (made on first use, closed by close())."""
        return self._lifetime.sync_loop(self)

    def close(self) -> None:
        """Close the providers' HTTP clients, the tool sources kept running between runs
        (``keep_tool_sources``) and the agent's event loop.

        The agent stays usable: a later run opens what it needs again. Must not be called
        from inside a running event loop (use :meth:`aclose`).
        """
        refuse_inside_loop("close", "await agent.aclose()")
        self._sources.stop_kept()
        self._lifetime.close()

    async def aclose(self) -> None:
        """Close the providers' HTTP clients (on the running loop, where :meth:`arun` used them)
        and the tool sources kept running between runs."""
        await self._sources.astop_kept()
        await self._lifetime.aclose()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    # -- the loop ------------------------------------------------------------------------------
    async def _execute(
        self,
        task: str | None,
        sinks: tuple[EventCallback, ...],
        *,
        reraise_cancel: bool,
        images: list[Any] | None = None,
    ) -> RunResult:
        if self._running:
            raise AllosError(
                "this agent is already running a task",
                hint="wait for the run to finish, or use a second Agent",
            )
        self._running = True
        state = self._state = RunState(task=task, sinks=sinks, images=list(images or ()))
        # set_provider() was called: release the old clients
        await self._lifetime.release_previous(self.provider)
        cancelled = False
        try:
            try:
                await self._loop(state)
            except (KeyboardInterrupt, ToolInterrupted):
                state.stop("interrupted")
            except asyncio.CancelledError:
                cancelled = True
                state.stop("interrupted")
            except AllosError as exc:
                state.stop("error", str(exc), exc.hint)
            except Exception as exc:
                logger.exception("the agent run failed")
                state.stop("error", f"{type(exc).__name__}: {exc}")
            finally:
                await self._sources.stop()
            result = self._finish(state)
        finally:
            self._running = False
        if cancelled and reraise_cancel and cancel_requested():
            raise asyncio.CancelledError
        return result

    async def _loop(self, state: RunState) -> None:
        if state.task is not None:
            message = Message.user(state.task)
            message.parts.extend(state.images)
            self.checkpoints.begin_turn(state.task, len(self._messages))
            self._append(state, message)
        provider = self.provider
        self._emit(state, ev.RunStarted(state.task, provider.name, provider.model))
        self.pricer.warm_up(provider)
        await self._sources.start(state)
        schemas = await self._model.model_tools(state)
        while True:
            if self.max_iterations is not None and state.iterations >= self.max_iterations:
                state.stop("iteration_limit")
                return
            limit = self.max_total_tokens
            if limit is not None and state.usage.total_tokens >= limit:
                state.stop("usage_limit")
                return
            tokens = await self._model.fit_context(state, schemas)
            if self.max_cost is not None and self._accounting.over_budget(state, tokens):
                return
            state.iterations += 1
            response = await self._model.request(state, schemas, tokens)
            message = self._model.unique_call_ids(response.message)
            provider = self.provider
            if message.provider is None:
                message.provider = provider.name
            if message.model is None:
                message.model = response.model or provider.model
            if message.usage is None:
                message.usage = response.usage
            self._append(state, message)
            self._emit(state, ev.AssistantMessage(message))
            self._accounting.record(state, response.usage, kind="model", model=message.model)
            calls = message.tool_calls
            if self.output is not None:
                step = self._outputs.judge(state, message)
                if step == "stop":
                    return
                if step == "again":
                    self._saver.save(state)
                    continue
            if calls and self.max_cost is not None and self._accounting.over_budget(state, None):
                self._append(state, Message.tool_results([not_run(c) for c in calls]))
                return
            if not calls:
                state.stop("answered")
                return
            await self._executor.run_calls(state, calls)
            self._saver.save_behind(state)

    def _append(self, state: RunState, message: Message) -> None:
        self._messages.append(message)
        state.new_messages.append(message)

    def _emit(self, state: RunState | None, event: ev.Event) -> None:
        self._events.emit(state, event)

    def _finish(self, state: RunState) -> RunResult:
        """Make the conversation consistent, save, emit the stop event, build the result."""
        if state.finished:
            assert state.result is not None
            return state.result
        answers = state.answer_pending()
        if answers is not None:
            self._append(state, answers)
        fixed, changes = repair_conversation(self._messages)
        if changes:
            self._messages[:] = fixed
        if state.stop_reason is None:
            state.stop("interrupted")
        try:
            self._saver.save(state)
        except SessionError as exc:
            state.stop("error", str(exc), exc.hint)
        session_path = self.session.path if self.session is not None else None
        result = state.make_result(self._messages, session_path)
        self.last_result = result
        extra = {}
        if self.output is not None and state.output is not None:
            extra["output"] = self.output.dump(state.output)
        self._emit(
            state,
            ev.RunStopped(result.stop_reason, state.error, state.usage, state.iterations, extra),
        )
        return result
