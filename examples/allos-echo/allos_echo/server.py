"""The in-process echo "server": answers request bodies in the wire format of :mod:`wire`."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

_IDS = itertools.count(1)


class EchoServer:
    """Echoes the last user message; ``/call NAME {json}`` asks for a tool; repeats tool results.

    A transport is anything with ``async send(body) -> answer``; tests pass a scripted one.
    """

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)  # a real transport waits for the network here
        messages = body.get("messages") or []
        last = messages[-1] if messages else {"role": "user", "text": ""}
        usage = {"in": sum(len(m.get("text", "")) for m in messages) // 4 + 1}
        if last["role"] == "tool":
            results = [m["text"] for m in messages if m["role"] == "tool"]
            text = "tool said: " + "; ".join(results)
            return {"status": 200, "text": text, "usage": {**usage, "out": len(text) // 4 + 1}}
        text = str(last.get("text", ""))
        if text.startswith("/call "):
            name, _, arguments = text[6:].partition(" ")
            call = {"id": f"echo_{next(_IDS)}", "name": name, "arguments": arguments or "{}"}
            return {"status": 200, "text": "", "calls": [call], "usage": {**usage, "out": 5}}
        answer = f"echo: {text}"
        return {"status": 200, "text": answer, "usage": {**usage, "out": len(answer) // 4 + 1}}


def dumps(body: dict[str, Any]) -> str:
    """The body as the bytes a real transport would send (JSON)."""
    return json.dumps(body, ensure_ascii=False)
