"""The echo provider: a complete :class:`~allos_core.providers.Provider` over a transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from allos_core.providers import (
    Capabilities,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderStatus,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    tool_call_arguments_json,
)
from allos_echo.wire import request_body, response_from


class EchoProvider(Provider):
    """A model that echoes (``allos run -p echo "hi"``); see the package README."""

    name = "echo"
    description = "Example provider: echoes the last message (offline, no key)"
    default_model = "echo-1"
    capabilities = Capabilities(streaming=True, tools=True, parallel_tool_calls=True)

    def __init__(self, model: str | None = None, *, transport: Any = None, **options: Any) -> None:
        super().__init__(model=model, **options)
        if transport is None:
            from allos_echo.server import EchoServer

            transport = EchoServer()
        self.transport = transport  # one for the provider's life, like an SDK client

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
        return ProviderStatus(True, "offline; no key needed")

    async def complete(self, request: ModelRequest) -> ModelResponse:
        answer = await self.transport.send(request_body(request, self.model))
        return response_from(answer, self.model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Text word by word, then each tool call, then :class:`StreamDone` with the response."""
        response = await self.complete(request)
        words = response.message.text.split(" ")
        for index, word in enumerate(words):
            if word or index:
                yield TextDelta(word if index == 0 else " " + word)
        for index, call in enumerate(response.message.tool_calls):
            yield ToolCallDelta(index, call.id, call.name, tool_call_arguments_json(call))
        yield StreamDone(response)

    async def aclose(self) -> None:
        close = getattr(self.transport, "aclose", None)
        if close is not None:
            await close()
