"""The model side of a turn: which tools to offer, fitting the context, the request itself
(streamed or not, retried once when the context was too long or the server refused native
structured output) and unique tool-call ids in what comes back."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from allos_core import events as ev
from allos_core.errors import BadRequestError, ConfigError, ContextLengthError, ProviderError
from allos_core.output_handling import about_output
from allos_core.providers import ModelRequest, ModelResponse, StreamDone, new_tool_call_id
from allos_core.providers import ReasoningDelta as _StreamReasoning
from allos_core.providers import TextDelta as _StreamText

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.context import Compaction
    from allos_core.messages import Message
    from allos_core.providers import ToolSchema
    from allos_core.run_state import RunState

__all__ = ["ModelCalls"]

logger = logging.getLogger("allos.agent")


class ModelCalls:
    """Talks to ``agent.provider`` for one agent (the provider is read at call time)."""

    def __init__(self, agent: Agent, *, tools_asked: bool) -> None:
        self.agent = agent
        #: whether the caller named the tools (else: every installed tool, dropped for a model
        #: that cannot call tools); and the (provider, model) whose tool support was checked
        self._tools_asked = tools_asked
        self._checked_model: tuple[int, str] | None = None
        self._model_lacks_tools = False
        #: tool-call ids used in this conversation (built on first use; see unique_call_ids)
        self._call_ids: set[str] | None = None

    async def model_tools(self, state: RunState) -> list[ToolSchema]:
        """The tool schemas to send, checked once per model against what it can do.

        A model that cannot call tools (as its provider reports) is refused before the first
        request when tools were asked for by name, and runs without tools (with a notice)
        when they were not.
        """
        agent = self.agent
        schemas = agent.tool_schemas()
        provider = agent.provider
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
            agent.tool_context.vision = info.vision if info is not None else None
            if info is not None and info.tools is False:
                if self._tools_asked:
                    self._checked_model = None
                    raise ConfigError(
                        f"the model {provider.model} ({provider.name}) cannot call tools, "
                        f"and tools were asked for: {', '.join(agent._tools)}",
                        hint="pick a model that can (see `allos models`), or run without -t",
                    )
                self._model_lacks_tools = True
                agent._emit(
                    state,
                    ev.Notice(
                        "warning",
                        f"{provider.model} cannot call tools: running without tools "
                        "(see `allos models` for models that can)",
                    ),
                )
        return [] if self._model_lacks_tools else schemas

    def unique_call_ids(self, message: Message) -> Message:
        """``message`` with every tool-call id unique in the conversation.

        Some servers reuse ids ("call_0" on every turn, or twice in one answer); results are
        matched to calls by id, so a repeated id gets a fresh one before anything runs.
        """
        calls = message.tool_calls
        if not calls:
            return message
        seen = self._call_ids
        if seen is None:
            seen = self._call_ids = {c.id for m in self.agent.messages for c in m.tool_calls}
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

    def forget_call_ids(self) -> None:
        """The conversation lost messages (undo): rebuild the ids on next use."""
        self._call_ids = None

    async def fit_context(
        self, state: RunState | None, schemas: list[ToolSchema], *, force: bool = False
    ) -> int:
        """Summarise the conversation when it would not fit; the tokens it now takes."""
        agent = self.agent
        result = await agent.context.fit(agent.provider, agent.messages, schemas, force=force)
        self._take_summary(state, result)
        return result.tokens

    async def compact(self) -> list[ev.Compacted]:
        """Summarise the conversation now (all but the last turn); what was done."""
        agent = self.agent
        result = await agent.context.fit(
            agent.provider, agent.messages, agent.tool_schemas(), force=True
        )
        self._take_summary(None, result)
        return result.events

    def _take_summary(self, state: RunState | None, result: Compaction) -> None:
        if result.events:
            agent = self.agent
            agent.messages[:] = result.messages
            if result.usage is not None:
                agent._accounting.record(state, result.usage, kind="summary")
            for event in result.events:
                agent._emit(state, event)

    async def request(
        self, state: RunState, schemas: list[ToolSchema], tokens: int
    ) -> ModelResponse:
        """Send the conversation (``tokens`` long, as estimated) and return the priced answer."""
        agent = self.agent
        outputs = agent._outputs
        messages = agent.messages
        tools, output = outputs.request_parts(schemas)
        request = ModelRequest(messages=list(messages), tools=tools, output=output)
        agent._emit(state, ev.ModelRequestStarted(state.iterations, len(request.messages), tokens))
        try:
            response = await self._call_model(state, request)
        except BadRequestError as exc:
            if output is None or output.tool or not about_output(exc):
                raise
            # a server without native structured output: the final-answer tool from now on
            outputs.refused_by = agent.provider
            tools, output = outputs.request_parts(schemas)
            request = ModelRequest(messages=list(messages), tools=tools, output=output)
            response = await self._call_model(state, request)
        except ContextLengthError:
            # our estimate was too low: summarise now and try once more
            before = len(messages)
            await self.fit_context(state, schemas, force=True)
            if len(messages) >= before:
                raise
            request = ModelRequest(messages=list(messages), tools=tools, output=output)
            response = await self._call_model(state, request)
        agent.context.counter.observe(request.messages, response.usage.input_tokens)
        pricer, provider = agent.pricer, agent.provider
        response.usage = pricer.priced(provider, response.model, response.usage)
        if response.message.usage is not None:
            response.message.usage = pricer.priced(provider, response.model, response.message.usage)
        return response

    async def _call_model(self, state: RunState, request: ModelRequest) -> ModelResponse:
        agent = self.agent
        provider = agent.provider
        if not (agent.stream and provider.capabilities.streaming):
            return await provider.complete(request)
        response: ModelResponse | None = None
        stream = provider.stream(request)
        try:
            async for item in stream:
                if isinstance(item, _StreamText):
                    if item.text:
                        agent._emit(state, ev.TextDelta(item.text))
                elif isinstance(item, _StreamReasoning):
                    if item.text:
                        agent._emit(state, ev.ReasoningDelta(item.text))
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
