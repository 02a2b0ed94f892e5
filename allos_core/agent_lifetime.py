"""What an agent keeps open between runs, and closes: its providers' SDK clients and the event
loop of its synchronous API (see :mod:`allos_core.sync_loop`).

Whatever is left open is closed when the agent is collected or the interpreter exits, by a
finaliser that does not refer to the agent.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from allos_core.sync_loop import SyncLoop, close_providers, close_sync_loop

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.providers import Provider

__all__ = ["ClientLifetime"]


class ClientLifetime:
    """The providers an agent used (the current one last) and its synchronous event loop."""

    def __init__(self, provider: Provider) -> None:
        self.providers: list[Provider] = [provider]
        self._sync: SyncLoop | None = None
        self._finalizer: weakref.finalize | None = None

    def sync_loop(self, owner: Any) -> SyncLoop:
        """The loop every synchronous call of ``owner`` runs on (made on first use)."""
        if self._sync is None or self._sync.closed:
            self._sync = SyncLoop()
            self._finalizer = weakref.finalize(owner, close_sync_loop, self._sync, self.providers)
        return self._sync

    def use(self, provider: Provider) -> None:
        """Note a provider switched to (its predecessors are closed at the next run)."""
        if provider not in self.providers:
            self.providers.append(provider)

    async def release_previous(self, current: Provider) -> None:
        """Close the clients of the providers used before ``current`` (at a run's start)."""
        if len(self.providers) > 1:
            await close_providers(self.providers[:-1])
            self.providers[:] = [current]

    def close(self) -> None:
        """Close the clients (on the loop they were made on) and the synchronous loop."""
        finalizer = self._finalizer
        if finalizer is not None and finalizer.alive:
            finalizer()
        else:  # only the async API was used: the clients' loops are the caller's
            closer = SyncLoop()
            try:
                closer.run(close_providers(self.providers))
            finally:
                closer.close()
        del self.providers[:-1]

    async def aclose(self) -> None:
        """Close the clients on the running loop (where the async API used them)."""
        await close_providers(self.providers)
        del self.providers[:-1]
