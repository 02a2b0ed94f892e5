"""The httpcore network backend that connects only where :mod:`allos_web.netguard` allows.

Imported only when a request is made: loading the plugin (``allos plugins list``) stays cheap.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpcore

from allos_web.netguard import WebAccessError, non_public_reason


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows.

    ``may_reach_private(host)`` answers whether a user rule names ``host``; only then may a
    non-public address be reached.
    """

    def __init__(self, may_reach_private: Callable[[str], bool]) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._may_reach_private = may_reach_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        import anyio

        name = host.strip("[]").rstrip(".").lower()
        try:
            infos = await anyio.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {name}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            reason = non_public_reason(address)
            if reason and not self._may_reach_private(name):
                raise WebAccessError(
                    f"{name} resolves to {address}, {reason}: refused so that fetched pages "
                    f"cannot reach your machine or network; if you mean it, allow it with "
                    f"--allow 'web_fetch(domain:{name})'"
                )
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"cannot connect to {name}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise WebAccessError("unix sockets are refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
