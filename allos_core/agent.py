"""The agent loop: :class:`Agent` runs a task with a model and tools.

::

    from allos_core.agent import Agent

    agent = Agent("openai", "gpt-4o-mini", tools=["read_file", "edit_file"], ask=my_prompt)
    result = agent.run("fix the failing test")       # or: await agent.arun(...)
    print(result.stop_reason, result.text)

Each turn sends the conversation and the tools' schemas to the model. When the model asks for
tools, its message is recorded first; then every call is checked (known tool, valid JSON, valid
arguments), decided (:func:`~allos_core.permissions.decide_permission`, asking the caller's
``ask`` function when the decision is ``ask``) and run, and exactly one result per call is
appended, in call order. Consecutive calls of read-only tools run concurrently; permission
prompts never overlap. The loop stops at a final answer, the iteration limit, the token limit,
an error or an interruption (Ctrl-C, task cancellation) — and in every case the conversation is
left consistent (every call has its result) and the session, if any, is saved.

Events for every step go to ``on_event`` and to :meth:`Agent.iter_events`; see
:mod:`allos_core.events`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core import events as ev
from allos_core.agent_config import AgentConfig, accepts_config
from allos_core.context import (
    DEFAULT_MAX_TOOL_OUTPUT_CHARS,
    INTERRUPTED_RESULT,
    ContextBudget,
    cap_text,
    repair_conversation,
)
from allos_core.errors import (
    AllosError,
    BadRequestError,
    ConfigError,
    ContextLengthError,
    ProviderError,
    SessionError,
    ToolArgumentsError,
)
from allos_core.event_bounds import bounded_result
from allos_core.messages import Message, ToolCallPart, ToolResultPart, Usage
from allos_core.permissions import (
    Answer,
    PermissionDecision,
    PermissionRequest,
    PermissionRules,
    SessionPermissions,
    decide_permission,
    normalize_answer,
    rule_text,
    suggested_rule,
)
from allos_core.plugins import strict_from_env
from allos_core.pricing import Pricer, budget_stop
from allos_core.providers import (
    ModelRequest,
    ModelResponse,
    OutputSchema,
    Provider,
    StreamDone,
    ToolSchema,
    new_tool_call_id,
)
from allos_core.providers import ReasoningDelta as _StreamReasoning
from allos_core.providers import TextDelta as _StreamText
from allos_core.session_writer import SessionWriter
from allos_core.sync_loop import SyncLoop, close_providers, close_sync_loop
from allos_core.tools import Tool, ToolContext, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.checkpoints import UndoReport
    from allos_core.output import StructuredOutput
    from allos_core.plugins import PluginManager
    from allos_core.sessions import Session
    from allos_core.tool_sources import ToolSource, ToolSourceRunner

__all__ = ["Agent", "AskFunction", "PermissionRequest", "RunResult"]

logger = logging.getLogger("allos.agent")

#: ``ask`` answers ``"yes"``, ``"no"`` or ``"always"`` (for the rest of the session), sync or async
AskFunction = Callable[[PermissionRequest], Answer | Awaitable[Answer]]
EventCallback = Callable[[ev.Event], None]

DENIED_SUFFIX = "Do not retry the same call: take another approach, or tell the user what you need."


@dataclass
class RunResult:
    """The outcome of one run.

    ``text`` is the model's final answer (or its last text when the run stopped early),
    ``new_messages`` the messages this run added, ``messages`` the whole conversation after it,
    ``usage`` the tokens this run used. ``stop_reason`` is ``answered``, ``iteration_limit``,
    ``usage_limit``, ``interrupted`` or ``error``; for errors ``error`` says what happened and
    ``error_hint`` what to do.
    """

    text: str
    new_messages: list[Message] = field(repr=False)
    messages: list[Message] = field(repr=False)
    usage: Usage
    stop_reason: ev.StopReason
    iterations: int
    error: str | None = None
    error_hint: str | None = None
    session_path: Path | None = None
    #: the validated answer of a run with ``output_type`` (None otherwise, or when it failed)
    output: Any = None

    @property
    def ok(self) -> bool:
        """True when the model gave a final answer."""
        return self.stop_reason == "answered"


@dataclass
class _RunState:
    task: str | None
    sinks: tuple[EventCallback, ...]
    #: images sent with the task (ImagePart)
    images: list[Any] = field(default_factory=list)
    new_messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    iterations: int = 0
    stop_reason: ev.StopReason | None = None
    error: str | None = None
    error_hint: str | None = None
    #: the calls of the assistant message being answered, and their results so far
    pending: tuple[list[ToolCallPart], list[ToolResultPart | None]] | None = None
    finished: bool = False
    result: RunResult | None = None
    #: structured output: the validated value, the model's last raw answer, failed attempts
    output: Any = None
    output_raw: str | None = None
    output_failures: int = 0

    def stop(
        self, reason: ev.StopReason, error: str | None = None, hint: str | None = None
    ) -> None:
        self.stop_reason = reason
        self.error = error
        self.error_hint = hint


@dataclass
class _Ready:
    """A call that passed every check and may run."""

    call: ToolCallPart
    tool: Tool
    args: Any
    subjects: list[str | None] = field(default_factory=list)


class _ToolInterrupted(Exception):
    """A KeyboardInterrupt inside a tool, carried out of a concurrent task as an ordinary error."""


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
        self.provider: Provider = self._resolve_provider(provider, model, provider_options)
        self._tools = self._resolve_tools(tools)
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
        self.output: StructuredOutput | None = None
        if output_type is not None:
            from allos_core.output import StructuredOutput

            self.output = StructuredOutput(output_type, retries=output_retries)
        #: a provider whose server refused native structured output (see _request)
        self._native_output_refused: Provider | None = None
        self.stream = stream
        self.on_event = on_event
        self.context = context or ContextBudget()
        self.max_tool_output_chars = max_tool_output_chars
        self.tool_context = ToolContext(
            workspace=self.workspace,
            extra=dict(tool_context_extra or {}),
            read_denied=self._read_denied,
            rule_allows=self._rule_allows,
            settings=plugin_settings or {},
            deps=deps,
        )
        from allos_core.prompts import build_system_prompt
        from allos_core.tool_sources import source_summaries

        self.system_prompt = build_system_prompt(
            [*self._tools.values(), *source_summaries(tool_sources or [])],
            self.workspace,
            system_prompt=system_prompt,
            append=append_system_prompt,
        )
        #: tokens used over this agent's life
        self.usage = Usage()
        self.last_result: RunResult | None = None
        self._running = False
        self._state: _RunState | None = None
        self.session: Session | None = self._open_session(session)
        from allos_core.checkpoints import CheckpointLog

        #: the file changes of every turn, for :meth:`undo` (kept in the session)
        self.checkpoints = CheckpointLog.from_data(
            self.session.metadata.get("checkpoints") if self.session else None
        )
        self._messages: list[Message] = self._initial_messages()
        #: tool-call ids used in this conversation (built on first use; see _unique_call_ids)
        self._call_ids: set[str] | None = None
        #: started for each run, stopped when it ends (see allos_core.tool_sources)
        self.tool_sources: list[ToolSource] = list(tool_sources or [])
        self.keep_tool_sources = keep_tool_sources
        self._source_runner: ToolSourceRunner | None = None
        #: providers this agent used (the current one last); closed by close()/aclose()
        self._providers: list[Provider] = [self.provider]
        #: the event loop of the synchronous API, and what closes it (with the providers)
        self._sync: SyncLoop | None = None
        self._finalizer: weakref.finalize | None = None
        #: writes the per-turn session saves on a worker thread (see session_writer)
        self._writer = SessionWriter()
        self._save_timer_set = False
        #: whether the caller named the tools (else: every installed tool, dropped for a model
        #: that cannot call tools); and the (provider, model) whose tool support was checked
        self._tools_asked = tools is not None
        self._checked_model: tuple[int, str] | None = None
        self._model_lacks_tools = False

    # -- set-up --------------------------------------------------------------------------------
    def _rule_allows(self, tool_name: str, subject: str) -> str | None:
        """The user's allow rule deciding ``subject`` for ``tool_name`` (None: none does)."""
        rules = self.permissions
        if rules is None:
            return None
        answer = rules.decide_one(tool_name, subject, path_like=False, workspace=self.workspace)
        if answer is None or answer.decision != "allow":
            return None
        return answer.reason.removeprefix("rule ")

    def _read_denied(self, relative_path: str) -> bool:
        """Whether the user's rules deny ``read_file`` for this workspace-relative path.

        Given to tools as :attr:`ToolContext.read_denied`, so searches (``grep``, ``glob``,
        listings) skip files the user keeps from ``read_file``. Only the user's rules count
        (``self.permissions``, read at call time so replacing it takes effect): plugins'
        ``allos_check_permission`` answers need a real call and are not consulted here.
        """
        rules = self.permissions
        if rules is None:
            return False
        answer = rules.decide_one(
            "read_file", relative_path, path_like=True, workspace=self.workspace
        )
        return answer is not None and answer.decision == "deny"

    @property
    def plugin_manager(self) -> PluginManager:
        """The plugin manager (discovering installed plugins on first use if none was given)."""
        if self._plugin_manager is None:
            from allos_core.plugins import create_plugin_manager

            self._plugin_manager = create_plugin_manager()
        return self._plugin_manager

    def _resolve_provider(
        self, provider: Provider | str, model: str | None, options: dict[str, Any] | None
    ) -> Provider:
        if isinstance(provider, str):
            cls = self.plugin_manager.get_provider_class(provider)
            return cls(model=model, **(options or {}))
        if not isinstance(provider, Provider):
            raise ConfigError(
                f"provider must be a Provider or a provider name, not {type(provider).__name__}",
                hint="pass for example Agent('openai', 'gpt-4o-mini') or a Provider instance",
            )
        if model:
            provider.model = model
        return provider

    def _resolve_tools(self, tools: list[Tool | str] | None) -> dict[str, Tool]:
        if tools is None:  # every installed tool: a name two plugins claim must be picked first
            self.plugin_manager.check_conflicts("tool")
        items = list(self.plugin_manager.tools().values()) if tools is None else list(tools)
        resolved: dict[str, Tool] = {}
        for item in items:
            tool = self.plugin_manager.get_tool(item) if isinstance(item, str) else item
            if not isinstance(tool, Tool):
                raise ConfigError(
                    f"tools must be Tool instances or tool names, not {type(tool).__name__}",
                    hint="decorate functions with allos_core.tools.tool",
                )
            if tool.name in resolved and resolved[tool.name] is not tool:
                raise ConfigError(
                    f"two tools are named {tool.name!r}", hint="give one of them another name"
                )
            resolved[tool.name] = tool
        return resolved

    def _open_session(self, session: Session | str | Path | None) -> Session | None:
        if session is None:
            return None
        from allos_core.sessions import Session

        if not isinstance(session, Session):
            session = Session.open(session)
        session.metadata.setdefault("workspace", str(self.workspace))
        return session

    def _initial_messages(self) -> list[Message]:
        session = self.session
        messages = session.messages if session is not None else []
        if messages:
            fixed, changes = repair_conversation(messages)
            if changes:
                messages[:] = fixed
        if self.system_prompt:
            system = Message.system(self.system_prompt)
            if messages and messages[0].role == "system":
                messages[0] = system  # this agent's tools and workspace, not the saved ones
            else:
                messages.insert(0, system)
        return messages

    # -- public state --------------------------------------------------------------------------
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
        self.provider = self._resolve_provider(provider, model, provider_options)
        if self.provider not in self._providers:
            self._providers.append(self.provider)
        return self.provider

    def clear(self) -> None:
        """Forget the conversation except the system prompt (the session is saved)."""
        keep = [m for m in self._messages[:1] if m.role == "system"]
        self._messages[:] = keep
        self.context.counter.forget_observation()
        self._save(None)

    # -- running -------------------------------------------------------------------------------
    def run(self, task: str | None = None, *, images: list[Any] | None = None) -> RunResult:
        """Run ``task`` to the end and return the result (``None`` continues the conversation).

        ``images`` (:class:`~allos_core.messages.ImagePart`, see :mod:`allos_core.images`) go
        with the task. Provider and tool failures, limits and Ctrl-C do not raise: see
        ``result.stop_reason``. Must not be called from inside a running event loop (use
        :meth:`arun`).
        """
        _refuse_inside_loop("run", "await agent.arun(task)")
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
        queue: asyncio.Queue[Any] = asyncio.Queue()
        done = object()
        runner = asyncio.ensure_future(
            self._execute(task, (queue.put_nowait,), reraise_cancel=True)
        )
        runner.add_done_callback(lambda _task: queue.put_nowait(done))
        try:
            while True:
                item = await queue.get()
                if item is done:
                    break
                yield item
            runner.result()
        finally:
            if not runner.done():
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner

    def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Run one tool call on the user's behalf, through the same checks as the model's calls.

        The arguments are validated, the permission decided (an ``ask`` goes to :attr:`ask`),
        and the tool runs in the workspace; every failure is an error :class:`ToolResult`. The
        conversation is not changed. The chat's ``@path`` mentions use it with ``read_file``.
        """
        _refuse_inside_loop("call_tool", "await agent.acall_tool(...)")
        return self._sync_loop().run(self.acall_tool(name, arguments))

    async def acall_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """The asynchronous :meth:`call_tool`."""
        from allos_core.providers import new_tool_call_id

        call = ToolCallPart(id=new_tool_call_id(), name=name, arguments=arguments)
        ready = await self._prepare(None, call)
        if isinstance(ready, ToolResult):
            return ready
        return await ready.tool.invoke_validated(ready.args, self.tool_context)

    def undo(self, turns: int = 1, *, force: bool = False) -> UndoReport:
        """Restore the files the last ``turns`` turns changed, and drop those turns.

        The conversation loses those turns too (so the model knows), unless it was compacted
        since; the session is saved. Raises :class:`~allos_core.checkpoints.UndoError` when
        there is nothing to undo or a file was changed since (unless ``force``). Changes made by
        shell commands are not undone: ``report.commands`` lists them.
        """
        if self._running:
            raise AllosError("cannot undo while a run is in progress")
        from allos_core.checkpoints import drop_turn_messages, undo

        report = undo(self.tool_context, self.checkpoints, turns, force=force)
        # the session's list too: they are one list
        if drop_turn_messages(self._messages, report.turns[-1]):
            self._call_ids = None
        self._save(None)
        return report

    async def acompact(self) -> list[ev.Compacted]:
        """Summarise the conversation now (all but the last turn); returns what was done."""
        if self._running:
            raise AllosError("cannot compact while a run is in progress")
        result = await self.context.fit(
            self.provider, self._messages, self.tool_schemas(), force=True
        )
        if result.events:
            self._messages[:] = result.messages
            if result.usage is not None:
                self._record_usage(None, result.usage, kind="summary")
            for event in result.events:
                self._emit(None, event)
            self._save(None)
        return result.events

    def compact(self) -> list[ev.Compacted]:
        """The synchronous :meth:`acompact`."""
        _refuse_inside_loop("compact", "await agent.acompact()")
        return self._sync_loop().run(self.acompact())

    # -- lifetime ------------------------------------------------------------------------------
    def _sync_loop(self) -> SyncLoop:
        """The event loop every synchronous call runs on (made on first use, closed by close())."""
        if self._sync is None or self._sync.closed:
            self._sync = SyncLoop()
            self._finalizer = weakref.finalize(self, close_sync_loop, self._sync, self._providers)
        return self._sync

    def close(self) -> None:
        """Close the providers' HTTP clients, the tool sources kept running between runs
        (``keep_tool_sources``) and the agent's event loop.

        The agent stays usable: a later run opens what it needs again. Must not be called
        from inside a running event loop (use :meth:`aclose`).
        """
        _refuse_inside_loop("close", "await agent.aclose()")
        self._stop_kept_sources()
        finalizer = self._finalizer
        if finalizer is not None and finalizer.alive:
            finalizer()
        else:  # only the async API was used: the clients' loops are the caller's
            closer = SyncLoop()
            try:
                closer.run(close_providers(self._providers))
            finally:
                closer.close()
        del self._providers[:-1]

    async def aclose(self) -> None:
        """Close the providers' HTTP clients (on the running loop, where :meth:`arun` used them)
        and the tool sources kept running between runs."""
        await self._astop_kept_sources()
        await close_providers(self._providers)
        del self._providers[:-1]

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
        state = self._state = _RunState(task=task, sinks=sinks, images=list(images or ()))
        if len(self._providers) > 1:  # set_provider() was called: release the old clients
            await close_providers(self._providers[:-1])
            self._providers[:] = [self.provider]
        cancelled = False
        try:
            try:
                await self._loop(state)
            except (KeyboardInterrupt, _ToolInterrupted):
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
                await self._stop_tool_sources()
            result = self._finish(state)
        finally:
            self._running = False
        if cancelled and reraise_cancel and _cancel_requested():
            raise asyncio.CancelledError
        return result

    async def _loop(self, state: _RunState) -> None:
        if state.task is not None:
            message = Message.user(state.task)
            message.parts.extend(state.images)
            self.checkpoints.begin_turn(state.task, len(self._messages))
            self._append(state, message)
        provider = self.provider
        self._emit(state, ev.RunStarted(state.task, provider.name, provider.model))
        self.pricer.warm_up(provider)
        await self._start_tool_sources(state)
        schemas = await self._model_tools(state)
        while True:
            if self.max_iterations is not None and state.iterations >= self.max_iterations:
                state.stop("iteration_limit")
                return
            limit = self.max_total_tokens
            if limit is not None and state.usage.total_tokens >= limit:
                state.stop("usage_limit")
                return
            tokens = await self._fit_context(state, schemas)
            if self.max_cost is not None and self._over_budget(state, tokens):
                return
            state.iterations += 1
            response = await self._request(state, schemas, tokens)
            message = self._unique_call_ids(response.message)
            provider = self.provider
            if message.provider is None:
                message.provider = provider.name
            if message.model is None:
                message.model = response.model or provider.model
            if message.usage is None:
                message.usage = response.usage
            self._append(state, message)
            self._emit(state, ev.AssistantMessage(message))
            self._record_usage(state, response.usage, kind="model", model=message.model)
            calls = message.tool_calls
            if self.output is not None:
                step = self._judge_output(state, message)
                if step == "stop":
                    return
                if step == "again":
                    self._save(state)
                    continue
            if calls and self.max_cost is not None and self._over_budget(state, None):
                self._append(state, Message.tool_results([_not_run(c) for c in calls]))
                return
            if not calls:
                state.stop("answered")
                return
            await self._run_tools(state, calls)
            self._save_behind(state)

    async def _model_tools(self, state: _RunState) -> list[ToolSchema]:
        """The tool schemas to send, checked once per model against what it can do.

        A model that cannot call tools (as its provider reports) is refused before the first
        request when tools were asked for by name, and runs without tools (with a notice)
        when they were not.
        """
        schemas = self.tool_schemas()
        provider = self.provider
        key = (id(provider), provider.model)
        if not schemas:
            return schemas
        if self._checked_model != key:
            self._checked_model, self._model_lacks_tools = key, False
            try:
                info = await provider.model_info()
            except Exception:  # a failed check must not stop a run the model may well handle
                logger.debug("checking %s failed", provider.model, exc_info=True)
                info = None
            self.tool_context.vision = info.vision if info is not None else None
            if info is not None and info.tools is False:
                if self._tools_asked:
                    self._checked_model = None
                    raise ConfigError(
                        f"the model {provider.model} ({provider.name}) cannot call tools, "
                        f"and tools were asked for: {', '.join(self._tools)}",
                        hint="pick a model that can (see `allos models`), or run without -t",
                    )
                self._model_lacks_tools = True
                self._emit(
                    state,
                    ev.Notice(
                        "warning",
                        f"{provider.model} cannot call tools: running without tools "
                        "(see `allos models` for models that can)",
                    ),
                )
        return [] if self._model_lacks_tools else schemas

    def _unique_call_ids(self, message: Message) -> Message:
        """``message`` with every tool-call id unique in the conversation.

        Some servers reuse ids ("call_0" on every turn, or twice in one answer); results are
        matched to calls by id, so a repeated id gets a fresh one before anything runs.
        """
        calls = message.tool_calls
        if not calls:
            return message
        seen = self._call_ids
        if seen is None:
            seen = self._call_ids = {c.id for m in self._messages for c in m.tool_calls}
        if len({c.id for c in calls}) == len(calls) and seen.isdisjoint(c.id for c in calls):
            seen.update(c.id for c in calls)
            return message
        parts = []
        for part in message.parts:
            if part.type == "tool_call":
                if part.id in seen:
                    part = part.model_copy(update={"id": new_tool_call_id()})
                seen.add(part.id)
            parts.append(part)
        return message.model_copy(update={"parts": parts})

    async def _fit_context(
        self, state: _RunState, schemas: list[ToolSchema], *, force: bool = False
    ) -> int:
        result = await self.context.fit(self.provider, self._messages, schemas, force=force)
        if result.events:
            self._messages[:] = result.messages
            if result.usage is not None:
                self._record_usage(state, result.usage, kind="summary")
            for event in result.events:
                self._emit(state, event)
        return result.tokens

    async def _request(
        self, state: _RunState, schemas: list[ToolSchema], tokens: int
    ) -> ModelResponse:
        tools, output = self._output_request(schemas)
        request = ModelRequest(messages=list(self._messages), tools=tools, output=output)
        self._emit(state, ev.ModelRequestStarted(state.iterations, len(request.messages), tokens))
        try:
            response = await self._call_model(state, request)
        except BadRequestError as exc:
            if output is None or output.tool or not _about_output(exc):
                raise
            # a server without native structured output: the final-answer tool from now on
            self._native_output_refused = self.provider
            tools, output = self._output_request(schemas)
            request = ModelRequest(messages=list(self._messages), tools=tools, output=output)
            response = await self._call_model(state, request)
        except ContextLengthError:
            # our estimate was too low: summarise now and try once more
            before = len(self._messages)
            await self._fit_context(state, schemas, force=True)
            if len(self._messages) >= before:
                raise
            request = ModelRequest(messages=list(self._messages), tools=tools, output=output)
            response = await self._call_model(state, request)
        self.context.counter.observe(request.messages, response.usage.input_tokens)
        response.usage = self.pricer.priced(self.provider, response.model, response.usage)
        if response.message.usage is not None:
            response.message.usage = self.pricer.priced(
                self.provider, response.model, response.message.usage
            )
        return response

    async def _call_model(self, state: _RunState, request: ModelRequest) -> ModelResponse:
        provider = self.provider
        if not (self.stream and provider.capabilities.streaming):
            return await provider.complete(request)
        response: ModelResponse | None = None
        stream = provider.stream(request)
        try:
            async for item in stream:
                if isinstance(item, _StreamText):
                    if item.text:
                        self._emit(state, ev.TextDelta(item.text))
                elif isinstance(item, _StreamReasoning):
                    if item.text:
                        self._emit(state, ev.ReasoningDelta(item.text))
                elif isinstance(item, StreamDone):
                    response = item.response
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # closing a broken stream must not hide why it broke
                    logger.debug("closing the stream of %s failed", provider.name, exc_info=True)
        if response is None:
            raise ProviderError(
                f"{provider.name} ended its stream without a final response",
                hint="try again, or run without streaming",
                provider=provider.name,
            )
        return response

    # -- tool sources --------------------------------------------------------------------------
    async def _start_tool_sources(self, state: _RunState) -> None:
        if not self.tool_sources:
            return
        from allos_core.tool_sources import ToolSourceRunner

        def failed(source: ToolSource, error: str) -> None:
            self._emit(state, ev.ToolSourceFailed(source.name, error))

        if self._source_runner is not None:  # kept from an earlier run
            self._source_runner.on_failure = failed
            return
        runner = self._source_runner = ToolSourceRunner(
            self.tool_sources, on_failure=failed, hosted=self.keep_tool_sources
        )
        try:
            self._tools.update(await runner.start(taken=self._tools))
        except BaseException:  # interrupted while starting: the next run starts afresh
            await self._stop_tool_sources(force=True)
            raise
        self._schemas = None
        for status in runner.statuses:
            if status.state == "running":
                source = status.source.name
                self._emit(state, ev.ToolSourceStarted(source, len(status.tools), status.seconds))

    async def _stop_tool_sources(self, *, force: bool = False) -> None:
        if self.keep_tool_sources and not force:
            return
        runner = self._take_source_runner()
        if runner is not None:
            await runner.stop()

    def _take_source_runner(self) -> ToolSourceRunner | None:
        runner, self._source_runner = self._source_runner, None
        if runner is not None:
            for status in runner.statuses:
                for name in status.tools:
                    self._tools.pop(name, None)
            self._schemas = None
        return runner

    def _stop_kept_sources(self) -> None:
        """Stop the tool sources kept running between runs (``keep_tool_sources``)."""
        runner = self._take_source_runner()
        if runner is not None:
            runner.stop_blocking()

    async def _astop_kept_sources(self) -> None:
        runner = self._take_source_runner()
        if runner is not None:
            await runner.stop()

    # -- tool calls ----------------------------------------------------------------------------
    async def _run_tools(self, state: _RunState, calls: list[ToolCallPart]) -> None:
        results: list[ToolResultPart | None] = [None] * len(calls)
        state.pending = (calls, results)
        index = 0
        while index < len(calls):
            end = index + 1
            if self._is_read_only(calls[index]):
                while end < len(calls) and self._is_read_only(calls[end]):
                    end += 1
            ready: list[tuple[int, _Ready]] = []
            for position in range(index, end):  # decisions (and prompts) one at a time
                call = calls[position]
                self._emit(state, ev.ToolCallRequested(call))
                prepared = await self._prepare(state, call)
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
        self._append(state, Message.tool_results([r for r in results if r is not None]))

    def _is_read_only(self, call: ToolCallPart) -> bool:
        tool = self._tools.get(call.name)
        return tool is not None and tool.read_only and call.parse_error is None

    async def _prepare(self, state: _RunState | None, call: ToolCallPart) -> _Ready | ToolResult:
        """Check and decide one call: a :class:`_Ready` to run, or the error result to give."""
        tool = self._tools.get(call.name)
        if tool is None:
            available = ", ".join(sorted(self._tools)) or "none"
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
        context = self.tool_context
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
                rules=self.permissions,
                plugin_manager=self.plugin_manager,
                session=self.session_permissions,
                yes=self.yes,
                subjects=subjects,
                subject=subject,
            )
        except Exception as exc:  # e.g. a plugin answering something that is not a decision
            logger.warning("deciding %s failed", call.name, exc_info=True)
            decision = PermissionDecision.deny(f"the permission check failed ({exc})", "error")
        if decision.decision == "ask":
            decision = await self._ask(tool, call, args, subject, subjects, decision)
        self._emit(state, ev.PermissionDecided(call, decision, subject))
        if decision.decision == "deny":
            result = ToolResult.error(f"denied: {decision.reason}. {DENIED_SUFFIX}")
            self._hook("allos_after_tool_call", call=call, tool=tool, result=result)
            return result
        return _Ready(call, tool, args, subjects)

    async def _ask(
        self,
        tool: Tool,
        call: ToolCallPart,
        args: Any,
        subject: str | None,
        subjects: list[str | None],
        decision: PermissionDecision,
    ) -> PermissionDecision:
        if self.ask is None:
            return self._nobody_to_ask(tool, subjects, decision)
        try:
            preview = tool.preview(args, self.tool_context)
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
            answer = self.ask(request)
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
            granted = self.session_permissions.grant(tool.name, subjects)
            return PermissionDecision.allow(
                f"allowed by the user for the rest of this session: {granted}", "user answer"
            )
        return PermissionDecision.deny("the user said no", "user answer")

    def _nobody_to_ask(
        self, tool: Tool, subjects: list[str | None], decision: PermissionDecision
    ) -> PermissionDecision:
        rules = []
        for subject in subjects or [None]:
            rule = suggested_rule(tool.name, subject, path_like=tool.path_subject)
            if rule not in rules:
                rules.append(rule)
        allow = " ".join(f"--allow '{rule}'" for rule in rules)
        why = f" ({decision.reason})" if decision.reason else ""
        return PermissionDecision.deny(
            f"not allowed: {tool.name} needs approval{why} and there is no one to ask. "
            f"Allow it with {allow} or approve every ask with -y",
            "no prompt",
        )

    async def _invoke(self, state: _RunState, position: int, ready: _Ready) -> None:
        call, tool = ready.call, ready.tool
        self._hook("allos_before_tool_call", call=call, tool=tool)
        snapshot = self._checkpoint_before(ready)
        started = time.perf_counter()
        try:
            result = await tool.invoke_validated(ready.args, self.tool_context)
        except KeyboardInterrupt:
            raise _ToolInterrupted() from None
        except SystemExit as exc:
            result = ToolResult.error(f"{tool.name} failed: it tried to exit ({exc.code})")
        finally:
            if snapshot is not None:
                self.checkpoints.record(self.tool_context, snapshot)
        duration = time.perf_counter() - started
        self._hook("allos_after_tool_call", call=call, tool=tool, result=result)
        self._store(state, position, call, result, duration)

    def _checkpoint_before(self, ready: _Ready) -> Any:
        """Snapshot the files a writing path tool names; note any other writing call."""
        tool = ready.tool
        if tool.read_only:
            return None
        paths = [s for s in ready.subjects if isinstance(s, str)]
        if tool.path_subject and paths:
            return self.checkpoints.snapshot(self.tool_context, paths)
        shown = next((s for s in ready.subjects if s), None)
        self.checkpoints.note_command(f"{tool.name}: {shown}" if shown else tool.name)
        return None

    def _store(
        self, state: _RunState, position: int, call: ToolCallPart, result: ToolResult, took: float
    ) -> None:
        content = cap_text(result.content, self.max_tool_output_chars)
        part = ToolResultPart(
            call_id=call.id,
            name=call.name,
            content=content,
            is_error=result.is_error,
            images=list(result.images),
        )
        assert state.pending is not None
        state.pending[1][position] = part
        # the event carries what the conversation keeps, not a tool's unbounded output
        shown = bounded_result(result, self.max_tool_output_chars)
        self._emit(state, ev.ToolResultEvent(call, shown, took))

    def _hook(self, name: str, **kwargs: Any) -> None:
        """Call an observer hook with read-only copies; a failing hook is reported, never fatal."""
        from allos_core.plugin_checks import read_only_call, read_only_result

        views = {
            "call": read_only_call(kwargs["call"]),
            "tool": kwargs["tool"],
            **({"result": read_only_result(kwargs["result"])} if "result" in kwargs else {}),
        }
        try:
            self.plugin_manager.notify(name, context=self.tool_context, **views)
        except Exception:
            logger.warning("plugin hook %s failed", name, exc_info=True)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _append(self, state: _RunState, message: Message) -> None:
        self._messages.append(message)
        state.new_messages.append(message)

    def _record_usage(
        self, state: _RunState | None, usage: Usage, *, kind: str, model: str | None = None
    ) -> None:
        usage = self.pricer.priced(self.provider, model, usage)
        self.usage = self.usage + usage
        if state is not None:
            state.usage = state.usage + usage
        if self.session is not None:
            self.session.record_turn(
                self.provider.name, model or self.provider.model, usage, kind=kind
            )
        self._emit(state, ev.UsageUpdated(usage, state.usage if state else self.usage))

    def _emit(self, state: _RunState | None, event: ev.Event) -> None:
        sinks = state.sinks if state is not None else ()
        for sink in (self.on_event, *sinks):
            if sink is None:
                continue
            try:
                sink(event)
            except Exception:
                logger.warning("an event callback failed on %s", event.type, exc_info=True)
        if self._event_observers():
            try:
                self.plugin_manager.hook.allos_on_event(event=event, context=self.tool_context)
            except Exception:
                logger.warning("a plugin's allos_on_event failed on %s", event.type, exc_info=True)

    def _event_observers(self) -> bool:
        """Whether any plugin implements ``allos_on_event`` (looked up once per agent)."""
        observers = self.__dict__.get("_observers")
        if observers is None:
            try:
                hook = self.plugin_manager.hook.allos_on_event
                observers = bool(hook.get_hookimpls())
            except Exception:
                observers = False
            self.__dict__["_observers"] = observers
        return observers

    def _save_behind(self, state: _RunState) -> None:
        """Save after a turn: snapshot now, write while the next request goes out.

        A turn right after the last write is written a moment later (see session_writer), by a
        timer that saves only while the conversation is consistent (no tool call running).
        """
        session = self.session
        if session is None or session.path is None:
            return
        self._keep_checkpoints(session)
        writer = self._writer
        if writer.save_behind(session):
            self._emit(state, ev.SessionSaved(str(session.path)))
        elif not self._save_timer_set:
            self._save_timer_set = True
            asyncio.get_running_loop().call_later(
                writer.seconds_to_next() + 0.01, self._save_if_dirty, state
            )

    def _keep_checkpoints(self, session: Session) -> None:
        """Put the file-change log in the session (only once there is one)."""
        if self.checkpoints.checkpoints or "checkpoints" in session.metadata:
            session.metadata["checkpoints"] = self.checkpoints.to_data()

    def _save_if_dirty(self, state: _RunState) -> None:
        self._save_timer_set = False
        if not self._writer.dirty or state.finished:
            return
        if state.pending is not None:  # tools are running: their turn's save will take it
            return
        try:
            self._save_behind(state)
        except SessionError:  # raised again by the next save, which stops the run
            logger.debug("a deferred session save failed", exc_info=True)

    def _save(self, state: _RunState | None) -> None:
        session = self.session
        with contextlib.suppress(SessionError):  # this save rewrites all; its own error counts
            self._writer.wait()
        self._writer.forget()
        if session is None or session.path is None:
            return
        self._keep_checkpoints(session)
        path = session.save()
        self._emit(state, ev.SessionSaved(str(path)))

    def _finish(self, state: _RunState) -> RunResult:
        """Make the conversation consistent, save, emit the stop event, build the result."""
        if state.finished:
            assert state.result is not None
            return state.result
        if state.pending is not None:
            calls, results = state.pending
            parts = [
                result
                or ToolResultPart(
                    call_id=call.id, name=call.name, content=INTERRUPTED_RESULT, is_error=True
                )
                for call, result in zip(calls, results, strict=False)
            ]
            state.pending = None
            self._append(state, Message.tool_results(parts))
        fixed, changes = repair_conversation(self._messages)
        if changes:
            self._messages[:] = fixed
        if state.stop_reason is None:
            state.stop("interrupted")
        try:
            self._save(state)
        except SessionError as exc:
            state.stop("error", str(exc), exc.hint)
        text = ""
        for message in reversed(state.new_messages):
            if message.role == "assistant":
                text = message.text
                break
        if not text and state.output_raw:
            text = state.output_raw  # a final-answer tool call's arguments
        assert state.stop_reason is not None
        result = RunResult(
            text=text,
            new_messages=list(state.new_messages),
            messages=list(self._messages),
            usage=state.usage,
            stop_reason=state.stop_reason,
            iterations=state.iterations,
            error=state.error,
            error_hint=state.error_hint,
            session_path=self.session.path if self.session is not None else None,
            output=state.output,
        )
        state.result = result
        state.finished = True
        self.last_result = result
        extra = {}
        if self.output is not None and state.output is not None:
            extra["output"] = self.output.dump(state.output)
        self._emit(
            state,
            ev.RunStopped(state.stop_reason, state.error, state.usage, state.iterations, extra),
        )
        return result

    # -- structured output and budgets ---------------------------------------------------------
    def _output_request(
        self, schemas: list[ToolSchema]
    ) -> tuple[list[ToolSchema], OutputSchema | None]:
        """The tools and output schema of a request: native, or with the final-answer tool."""
        output = self.output
        if output is None:
            return schemas, None
        if self._native_output():
            return schemas, output.request(tool=False)
        return [*schemas, output.tool_schema()], output.request(tool=True)

    def _native_output(self) -> bool:
        """Whether the provider gets the schema natively (else: the final-answer tool)."""
        provider = self.provider
        return (
            provider.capabilities.structured_output and self._native_output_refused is not provider
        )

    def _judge_output(self, state: _RunState, message: Message) -> str | None:
        """Check an answer of a structured run: ``stop``, ``again`` (asked to fix it) or None."""
        assert self.output is not None
        tool = not self._native_output()
        verdict = self.output.judge(message, tool=tool)
        if not verdict.handled:
            return None
        state.output_raw = verdict.raw
        if verdict.results:
            self._append(state, Message.tool_results(verdict.results))
        if verdict.ok:
            state.output = verdict.value
            state.stop("answered")
            return "stop"
        state.output_failures += 1
        if state.output_failures > self.output.retries:
            state.stop(
                "output_invalid",
                f"the answer did not match the output type after {state.output_failures} "
                f"attempts: {verdict.error}",
                "the last answer is kept as the run's text; simplify the schema, raise output_retries, "
                "or try a stronger model",
            )
            return "stop"
        if verdict.feedback:
            self._append(state, Message.user(verdict.feedback))
        return "again"

    def _over_budget(self, state: _RunState, input_tokens: int | None) -> bool:
        """Stop the run when ``max_cost`` is spent, or would be by a request of
        ``input_tokens`` (see :func:`allos_core.pricing.budget_stop`)."""
        assert self.max_cost is not None
        spent = state.usage.cost or 0.0
        stop = budget_stop(self.pricer, self.provider, self.max_cost, spent, input_tokens)
        if stop is None:
            return False
        reason, error, hint = stop
        state.stop("cost_limit" if reason == "cost_limit" else "error", error, hint)
        return True


class _DaemonThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each job (a sync tool) on its own daemon thread.

    The synchronous entry points use it as the loop's default executor so that a tool blocked
    in a system call when the user presses Ctrl-C does not keep :meth:`Agent.run` (or the
    process's exit) waiting for it: the run stops at once, the thread is abandoned. (asyncio
    accepts only ThreadPoolExecutor instances as default executors, hence the base class.)
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=work, name="allos-tool", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # never wait for abandoned tools


def _run_sync(coroutine: Awaitable[Any]) -> Any:
    """``asyncio.run`` with :class:`_DaemonThreadExecutor` as the default executor."""

    async def main() -> Any:
        asyncio.get_running_loop().set_default_executor(_DaemonThreadExecutor())
        return await coroutine

    return asyncio.run(main())


def _about_output(exc: BadRequestError) -> bool:
    """Whether a rejected request was rejected for its structured-output parameters."""
    text = str(exc).lower()
    return any(
        word in text for word in ("response_format", "json_schema", "output_config", "format")
    )


def _not_run(call: ToolCallPart) -> ToolResultPart:
    content = "not run: the run stopped at its cost limit"
    return ToolResultPart(call_id=call.id, name=call.name, content=content, is_error=True)


def _refuse_inside_loop(method: str, instead: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise AllosError(
        f"Agent.{method}() cannot be called from inside a running event loop",
        hint=f"use {instead} in async code",
    )


def _cancel_requested() -> bool:
    """Whether the current task itself is being cancelled (always assumed before Python 3.11)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return True if cancelling is None else cancelling() > 0
