"""Provider conformance: what every provider plugin must do, checked against its own fake server.

Subclass :class:`ProviderConformance` in a test module and define two fixtures:

- ``conformance_provider``: your :class:`~allos_core.providers.Provider`, pointed at your fake
  server, with retries off (``max_retries=0``) so an error answer is seen at once;
- ``conformance_server``: an object with the methods of :class:`ScriptedServer`, which queues
  answers on that server in your wire format.

The tests prove: ``complete`` and ``stream`` agree (text, tool calls, usage, finish reason);
streamed text deltas add up to the final text and ``StreamDone`` comes last, once; tool calls
come back with their names, arguments and distinct non-empty ids; tool results and a
conversation recorded by another provider (foreign call ids) are sent back in a form the server
accepts; usage is reported per request; HTTP errors map onto the core's error types; a cancelled
call raises ``CancelledError`` and the provider keeps working, and so does a stream closed early.
Override :attr:`ProviderConformance.error_types` when your API answers a status differently.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Protocol

import pytest

from allos_core import errors
from allos_core.messages import Message, ToolCallPart, ToolResultPart
from allos_core.providers import (
    ModelRequest,
    ModelResponse,
    Provider,
    StreamDone,
    TextDelta,
    ToolSchema,
)

LOOKUP = ToolSchema(
    "lookup",
    "Look a word up in the glossary.",
    {
        "type": "object",
        "properties": {"word": {"type": "string", "description": "The word."}},
        "required": ["word"],
    },
)
TEXT = "The kit says hello, in several words."


class ScriptedServer(Protocol):
    """What the kit needs from a provider plugin's fake server (write a small adapter)."""

    def queue_text(self, text: str, *, usage: tuple[int, int]) -> None:
        """Answer the next request with ``text`` and usage ``(input, output)`` tokens."""

    def queue_tool_calls(
        self, calls: list[tuple[str, dict[str, Any]]], *, usage: tuple[int, int]
    ) -> None:
        """Answer the next request with these ``(name, arguments)`` tool calls."""

    def queue_error(self, status: int) -> None:
        """Answer the next request with HTTP ``status`` and the API's error body."""

    def last_tool_results(self) -> list[str]:
        """The contents of the tool results in the last request the server received."""


def ask(*messages: Message) -> ModelRequest:
    """A request with the kit's tool and the given messages (a user message by default)."""
    return ModelRequest(messages=list(messages) or [Message.user("Say hello.")], tools=[LOOKUP])


async def streamed(provider: Provider, request: ModelRequest) -> tuple[list[Any], ModelResponse]:
    """Every event of a stream, and the response of its ``StreamDone``."""
    events = [event async for event in provider.stream(request)]
    done = [event for event in events if isinstance(event, StreamDone)]
    assert len(done) == 1, f"a stream ends with exactly one StreamDone, got {len(done)}"
    assert events[-1] is done[0], "StreamDone must be the last event"
    return events, done[0].response


def calls_of(response: ModelResponse) -> list[tuple[str, dict[str, Any]]]:
    return [(call.name, dict(call.arguments)) for call in response.message.tool_calls]


class ProviderConformance:
    """The provider contract as tests (see the module docstring for the two fixtures)."""

    #: HTTP status -> the core error type it must raise (override for your API)
    error_types: ClassVar[dict[int, type[errors.ProviderError]]] = {
        401: errors.AuthenticationError,
        429: errors.RateLimitError,
        500: errors.ProviderServerError,
    }

    # -- text ------------------------------------------------------------------------------------
    async def test_complete_returns_the_text_and_its_usage(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        conformance_server.queue_text(TEXT, usage=(21, 8))
        response = await conformance_provider.complete(ask())
        assert response.message.role == "assistant"
        assert response.message.text == TEXT
        assert response.message.tool_calls == []
        assert response.finish_reason == "stop"
        usage = response.usage
        assert (usage.input_tokens, usage.output_tokens, usage.requests) == (21, 8, 1)
        assert response.message.provider == conformance_provider.name

    async def test_stream_agrees_with_complete(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        conformance_server.queue_text(TEXT, usage=(21, 8))
        complete = await conformance_provider.complete(ask())
        conformance_server.queue_text(TEXT, usage=(21, 8))
        events, done = await streamed(conformance_provider, ask())
        deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert deltas == done.message.text == complete.message.text
        assert done.finish_reason == complete.finish_reason
        assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.requests) == (
            complete.usage.input_tokens,
            complete.usage.output_tokens,
            complete.usage.requests,
        )

    # -- tool calls ------------------------------------------------------------------------------
    async def test_tool_calls_come_back_with_arguments_and_distinct_ids(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        wanted = [("lookup", {"word": "allos"}), ("lookup", {"word": "ἄλλος"})]
        conformance_server.queue_tool_calls(wanted, usage=(30, 12))
        response = await conformance_provider.complete(ask())
        assert calls_of(response) == wanted
        ids = [call.id for call in response.message.tool_calls]
        assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
        assert response.finish_reason == "tool_calls"
        assert all(call.parse_error is None for call in response.message.tool_calls)

    async def test_streamed_tool_calls_agree_with_complete(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        wanted = [("lookup", {"word": "stream"})]
        conformance_server.queue_tool_calls(wanted, usage=(30, 12))
        complete = await conformance_provider.complete(ask())
        conformance_server.queue_tool_calls(wanted, usage=(30, 12))
        _, done = await streamed(conformance_provider, ask())
        assert calls_of(done) == calls_of(complete) == wanted
        assert done.finish_reason == complete.finish_reason == "tool_calls"
        assert all(call.id for call in done.message.tool_calls)

    async def test_tool_results_go_back_to_the_model(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        conformance_server.queue_tool_calls([("lookup", {"word": "kit"})], usage=(30, 12))
        first = await conformance_provider.complete(ask())
        call = first.message.tool_calls[0]
        result = Message.tool_results(
            [ToolResultPart(call_id=call.id, name=call.name, content="kit: a set of tools")]
        )
        conformance_server.queue_text("Done.", usage=(40, 2))
        second = await conformance_provider.complete(
            ask(Message.user("Look up kit."), first.message, result)
        )
        assert second.message.text == "Done."
        assert any("kit: a set of tools" in c for c in conformance_server.last_tool_results())

    async def test_a_conversation_from_another_provider_is_valid_input(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        foreign = [
            ToolCallPart(id="toolu_01AbC-from.another:provider", name="lookup", arguments={}),
            ToolCallPart(id="call 2 (ollama-made)", name="lookup", arguments={"word": "x"}),
        ]
        assistant = Message.assistant("Looking.", foreign, provider="elsewhere", model="m")
        results = Message.tool_results(
            [
                ToolResultPart(call_id=c.id, name=c.name, content=f"answer {n}", is_error=n == 1)
                for n, c in enumerate(foreign)
            ]
        )
        conformance_server.queue_text("Understood.", usage=(50, 3))
        response = await conformance_provider.complete(
            ask(Message.system("Be brief."), Message.user("Go."), assistant, results)
        )
        assert response.message.text == "Understood."
        sent = conformance_server.last_tool_results()
        assert any("answer 0" in c for c in sent) and any("answer 1" in c for c in sent)

    # -- errors and cancellation -----------------------------------------------------------------
    @pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
    async def test_http_errors_map_to_core_error_types(
        self,
        conformance_provider: Provider,
        conformance_server: ScriptedServer,
        streaming: bool,
    ) -> None:
        for status, expected in self.error_types.items():
            conformance_server.queue_error(status)
            with pytest.raises(expected) as caught:
                if streaming:
                    await streamed(conformance_provider, ask())
                else:
                    await conformance_provider.complete(ask())
            assert caught.value.hint, f"a {status} error needs a hint that says what to do"
            assert caught.value.provider == conformance_provider.name

    async def test_a_cancelled_call_raises_cancelled_and_the_provider_keeps_working(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        conformance_server.queue_text("never read", usage=(1, 1))
        task = asyncio.ensure_future(conformance_provider.complete(ask()))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        conformance_server.queue_text(TEXT, usage=(21, 8))
        conformance_server.queue_text(TEXT, usage=(21, 8))
        response = await conformance_provider.complete(ask())
        assert response.message.text in (TEXT, "never read")

    async def test_a_stream_closed_early_leaves_the_provider_working(
        self, conformance_provider: Provider, conformance_server: ScriptedServer
    ) -> None:
        conformance_server.queue_text(TEXT, usage=(21, 8))
        stream = conformance_provider.stream(ask())
        first = await stream.__anext__()
        assert isinstance(first, (TextDelta, StreamDone)) or first is not None
        await stream.aclose()  # type: ignore[attr-defined]
        conformance_server.queue_text("Again.", usage=(5, 1))
        response = await conformance_provider.complete(ask())
        assert response.message.text == "Again."
