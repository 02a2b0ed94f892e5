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
import contextlib
import inspect
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core import events as ev
from allos_core.context import (
    DEFAULT_MAX_TOOL_OUTPUT_CHARS,
    INTERRUPTED_RESULT,
    ContextBudget,
    cap_text,
    repair_conversation,
)
from allos_core.errors import (
    AllosError,
    ConfigError,
    ContextLengthError,
    ProviderError,
    SessionError,
    ToolArgumentsError,
)
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
from allos_core.providers import (
    ModelRequest,
    ModelResponse,
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
    from allos_core.plugins import PluginManager
    from allos_core.sessions import Session

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


class _ToolInterrupted(Exception):
    """A KeyboardInterrupt inside a tool, carried out of a concurrent task as an ordinary error."""


class Agent:
    """A coding agent: a provider, tools, permissions, a conversation and maybe a session.

    ``provider`` is a :class:`~allos_core.providers.Provider` or a provider name resolved
    through the plugin manager (built with ``model`` and ``provider_options``). ``tools=None``
    uses every installed tool; names are looked up. ``system_prompt=None`` uses the default
    coding-agent prompt plus ``ALLOS.md`` / ``AGENTS.md`` from the workspace. ``permissions``
    are the user's rules, ``yes`` approves every ``ask`` (a ``deny`` still wins), and ``ask``
    is called for each ``ask`` decision (with none, an ``ask`` becomes a ``deny`` that says how
    to allow the call). ``session`` (a :class:`~allos_core.sessions.Session`, a name or a path)
    is resumed if it exists and saved after every turn.

    One run at a time per agent. :meth:`run` is synchronous and cannot be called from inside a
    running event loop; use :meth:`arun` or :meth:`iter_events` there.

    The agent keeps one SDK client per provider for its life (and, for :meth:`run`, one event
    loop): release them with :meth:`close` / :meth:`aclose`, or use the agent as a context
    manager (``with Agent(...) as agent:`` or ``async with``). What is left open is closed
    when the agent is collected or the interpreter exits.
    """

    def __init__(
        self,
        provider: Provider | str,
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
    ) -> None:
        self._plugin_manager = plugin_manager
        self.workspace = Path(workspace if workspace is not None else Path.cwd()).resolve()
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
        self.stream = stream
        self.on_event = on_event
        self.context = context or ContextBudget()
        self.max_tool_output_chars = max_tool_output_chars
        self.tool_context = ToolContext(
            workspace=self.workspace,
            extra=dict(tool_context_extra or {}),
            read_denied=self._read_denied,
            settings=plugin_settings or {},
        )
        from allos_core.prompts import build_system_prompt

        self.system_prompt = build_system_prompt(
            self._tools.values(),
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
        self._messages: list[Message] = self._initial_messages()
        #: tool-call ids used in this conversation (built on first use; see _unique_call_ids)
        self._call_ids: set[str] | None = None
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
        """Close the providers' HTTP clients and the agent's event loop.

        The agent stays usable: a later run opens what it needs again. Must not be called
        from inside a running event loop (use :meth:`aclose`).
        """
        _refuse_inside_loop("close", "await agent.aclose()")
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
        """Close the providers' HTTP clients (on the running loop, where :meth:`arun` used them)."""
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
            self._append(state, message)
        provider = self.provider
        self._emit(state, ev.RunStarted(state.task, provider.name, provider.model))
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
        request = ModelRequest(messages=list(self._messages), tools=schemas)
        self._emit(state, ev.ModelRequestStarted(state.iterations, len(request.messages), tokens))
        try:
            response = await self._call_model(state, request)
        except ContextLengthError:
            # our estimate was too low: summarise now and try once more
            before = len(self._messages)
            await self._fit_context(state, schemas, force=True)
            if len(self._messages) >= before:
                raise
            request = ModelRequest(messages=list(self._messages), tools=schemas)
            response = await self._call_model(state, request)
        self.context.counter.observe(request.messages, response.usage.input_tokens)
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

    async def _prepare(self, state: _RunState, call: ToolCallPart) -> _Ready | ToolResult:
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
        return _Ready(call, tool, args)

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
        started = time.perf_counter()
        try:
            result = await tool.invoke_validated(ready.args, self.tool_context)
        except KeyboardInterrupt:
            raise _ToolInterrupted() from None
        except SystemExit as exc:
            result = ToolResult.error(f"{tool.name} failed: it tried to exit ({exc.code})")
        duration = time.perf_counter() - started
        self._hook("allos_after_tool_call", call=call, tool=tool, result=result)
        self._store(state, position, call, result, duration)

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
        self._emit(state, ev.ToolResultEvent(call, result, took))

    def _hook(self, name: str, **kwargs: Any) -> None:
        """Call an auditing hook; a failing hook is logged, never fatal."""
        try:
            getattr(self.plugin_manager.hook, name)(context=self.tool_context, **kwargs)
        except Exception:
            logger.warning("plugin hook %s failed", name, exc_info=True)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _append(self, state: _RunState, message: Message) -> None:
        self._messages.append(message)
        state.new_messages.append(message)

    def _record_usage(
        self, state: _RunState | None, usage: Usage, *, kind: str, model: str | None = None
    ) -> None:
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

    def _save_behind(self, state: _RunState) -> None:
        """Save after a turn: snapshot now, write while the next request goes out.

        A turn right after the last write is written a moment later (see session_writer), by a
        timer that saves only while the conversation is consistent (no tool call running).
        """
        session = self.session
        if session is None or session.path is None:
            return
        writer = self._writer
        if writer.save_behind(session):
            self._emit(state, ev.SessionSaved(str(session.path)))
        elif not self._save_timer_set:
            self._save_timer_set = True
            asyncio.get_running_loop().call_later(
                writer.seconds_to_next() + 0.01, self._save_if_dirty, state
            )

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
        )
        state.result = result
        state.finished = True
        self.last_result = result
        self._emit(
            state,
            ev.RunStopped(state.stop_reason, state.error, state.usage, state.iterations),
        )
        return result


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
