"""One SDK client per provider, bound to the event loop it was made on.

An async SDK client (``openai.AsyncOpenAI``, ``anthropic.AsyncAnthropic``, ``ollama.AsyncClient``)
keeps a pool of connections that belong to the event loop that opened them. A provider keeps one
client for the Agent's life (a new client costs a new SSL context, 40-45 ms, and a new
connection), so it must know which loop that is:

- :meth:`LoopBoundClient.get` returns the client, making it on first use;
- when it is asked for from another loop (an ``asyncio.run`` per call in the caller's code), the
  old client is *abandoned* — marked closed without touching its dead loop, so the SDK's
  ``__del__`` does not schedule a close on the new loop that fails with
  ``Task exception was never retrieved ... Event loop is closed`` — and a new one is made;
- :meth:`LoopBoundClient.aclose` closes it properly on its own loop.

Provider plugins use it like this::

    self._client = LoopBoundClient(self._make_client)
    ...
    client = self._client.get()          # inside a request
    ...
    async def aclose(self):
        await self._client.aclose()

This module imports only the standard library, and asyncio only when a client is asked for:
provider modules import it, and ``allos plugins list`` imports provider modules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

__all__ = ["LoopBoundClient", "abandon_client"]

C = TypeVar("C")


class LoopBoundClient(Generic[C]):
    """Holds one SDK client made by ``factory`` and the event loop it belongs to."""

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._client: C | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: how many clients were made (for tests and benchmarks: 1 over an Agent's life)
        self.made = 0

    @property
    def current(self) -> C | None:
        """The client if one is open, else None (never makes one)."""
        return self._client

    def get(self) -> C:
        """The client for the running event loop (made on first use, or when the loop changed).

        Called outside a running loop (``status`` checks, tests), the client is made and bound
        to no loop; the first use inside a loop binds it.
        """
        import asyncio

        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._client is not None:
            if self._loop is None or loop is None or self._loop is loop:
                self._loop = self._loop or loop
                return self._client
            self.abandon()
        self._client = self._factory()
        self._loop = loop
        self.made += 1
        return self._client

    async def aclose(self) -> None:
        """Close the client: on its own loop properly, from any other loop by abandoning it."""
        import asyncio

        client, loop = self._client, self._loop
        if client is None:
            return
        self._client, self._loop = None, None
        if loop is not None and loop is not asyncio.get_running_loop():
            abandon_client(client)
            return
        await client.close()  # type: ignore[attr-defined]

    def abandon(self) -> None:
        """Forget the client without a loop: marked closed, connections left to the OS."""
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            abandon_client(client)


def abandon_client(client: Any) -> None:
    """Mark an async SDK client closed without running its event loop.

    Why: the SDKs' ``__del__`` schedules ``aclose()`` on whatever loop is running when the
    client is collected; for a client whose loop is gone that task fails noisily. httpx marks a
    client closed before its first ``await`` in ``aclose``, so stepping the close coroutine once
    is enough; whatever it would have awaited is dropped.
    """
    close = getattr(client, "close", None)
    if close is None:
        return
    try:
        coroutine = close()
    except Exception:  # a sync close that failed: nothing more to do
        import logging

        logging.getLogger("allos.clients").debug("closing a client failed", exc_info=True)
        return
    if not hasattr(coroutine, "send"):  # a sync close: done
        return
    try:
        coroutine.send(None)
    except Exception:  # StopIteration, or "Event loop is closed": both fine here
        pass
    finally:
        with contextlib.suppress(RuntimeError):  # a close that awaits in its cleanup
            coroutine.close()
