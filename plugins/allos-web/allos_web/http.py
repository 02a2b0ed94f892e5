"""One HTTP request for the web tools: guarded connections, a time budget and a size cap.

Redirects are not followed here (the caller decides, hop by hop, whether the next host is within
the rules). Bodies are read up to ``max_bytes`` and gzip/deflate is decompressed up to the same
cap, so a huge page or a compression bomb costs at most that much memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import httpcore

from allos_web.guarded_backend import GuardedBackend
from allos_web.netguard import Target, WebAccessError

USER_AGENT = "allos-web/0.1 (+https://pypi.org/project/allos-web/)"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    url: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"'")
        return "utf-8"

    def text(self) -> str:
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")


async def request(
    target: Target,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    may_reach_private: Callable[[str], bool],
    timeout: float,
    max_bytes: int,
) -> Response:
    """Send one request to ``target``; raises :class:`WebAccessError` with a readable reason."""
    import anyio

    sent = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip, deflate",
        "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
        **(headers or {}),
    }
    backend = GuardedBackend(may_reach_private)
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    try:
        with anyio.fail_after(timeout):
            async with (
                httpcore.AsyncConnectionPool(network_backend=backend, retries=0) as pool,
                pool.stream(
                    method,
                    target.url,
                    headers=list(sent.items()),
                    content=body,
                    extensions={"timeout": limits},
                ) as response,
            ):
                received = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers
                }
                raw, truncated = await _read_capped(response, max_bytes)
    except TimeoutError:
        raise WebAccessError(f"{target.host} did not answer within {timeout:g} s") from None
    except httpcore.TimeoutException:
        raise WebAccessError(f"{target.host} did not answer within {timeout:g} s") from None
    except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise WebAccessError(f"cannot reach {target.host}: {exc or type(exc).__name__}") from None
    except httpcore.UnsupportedProtocol as exc:
        raise WebAccessError(str(exc)) from None
    data, cut = _decompress(raw, received.get("content-encoding", ""), max_bytes)
    return Response(response.status, received, data, truncated or cut, target.url)


async def _read_capped(response: httpcore.Response, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


def _decompress(data: bytes, encoding: str, max_bytes: int) -> tuple[bytes, bool]:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data, False
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise WebAccessError(f"the server sent {encoding}-compressed content, which is not read")
    wbits = 31 if "gzip" in encoding else 15
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error:
        try:  # some servers send raw deflate
            out = zlib.decompressobj(-15).decompress(data, max_bytes + 1)
        except zlib.error as exc:
            raise WebAccessError(f"the content could not be decompressed ({exc})") from None
    if len(out) > max_bytes:
        return out[:max_bytes], True
    return out, False
