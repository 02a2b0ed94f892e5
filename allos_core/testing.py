"""Test helpers: :class:`ScriptedProvider` replays model turns offline.

Use it to test your own tools and agents without a network or a key::

    from allos_core.testing import ScriptedProvider

    provider = ScriptedProvider([
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "README.md"}}]},
        "The README says hello.",
    ])
    result = Agent(provider=provider, tools=[...]).run("What does the README say?")
    assert provider.requests[1].messages[-1].role == "tool"

A turn is a string (the model's text answer) or a mapping with ``text``, ``tool_calls`` (each
with ``name``, ``arguments`` and optionally ``id``; or ``raw_arguments`` for a call whose JSON is
broken), ``usage`` (``input_tokens``, ``output_tokens``), ``finish_reason`` and ``delay`` (seconds
the model "thinks" before answering, to simulate latency). Scripts in files
are JSON or YAML: a list of turns, or a mapping with a ``turns`` list.

This module is also the built-in plugin that registers the provider ``scripted``: pass the script
file as the model (``allos run -p scripted -m demo.yaml``) or as the ``script`` option.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from allos_core.errors import ConfigError, ProviderError
from allos_core.hookspecs import hookimpl
from allos_core.providers import (
    Capabilities,
    ModelRequest,
    ModelResponse,
    Provider,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    new_tool_call_id,
    tool_call_from_json,
)

Turn = Any  # str | Mapping | ModelResponse


def load_script(path: str | Path) -> list[Turn]:
    """Read a list of turns from a JSON or YAML file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read script {file}: {exc.strerror or exc}",
            hint="pass the path of a JSON or YAML list of turns",
        ) from None
    try:
        if file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise ConfigError(f"script {file} is not valid JSON/YAML: {exc}") from None
    if isinstance(data, dict):
        data = data.get("turns")
    if not isinstance(data, list):
        raise ConfigError(f"script {file} must be a list of turns or a mapping with a 'turns' list")
    return data


class ScriptedProvider(Provider):
    """A provider that replays scripted turns and records every request it receives."""

    name = "scripted"
    description = "Replays model turns from a JSON/YAML script (offline demos and tests)"
    default_model = "scripted"
    capabilities = Capabilities(streaming=True, tools=True, parallel_tool_calls=True)

    def __init__(
        self,
        turns: list[Turn] | None = None,
        model: str | None = None,
        *,
        script: str | Path | None = None,
        context_window: int | None = 200_000,
        **options: Any,
    ) -> None:
        if turns is None and script is None and model and _looks_like_script(model):
            script = model
        super().__init__(model=model, **options)
        if turns is None:
            if script is None:
                raise ConfigError(
                    "the scripted provider needs a script of turns",
                    hint="pass a JSON or YAML file as the model: -p scripted -m script.yaml",
                )
            turns = load_script(script)
        self.turns = list(turns)
        self.position = 0
        self.requests: list[ModelRequest] = []
        self._context_window = context_window

    @classmethod
    def status(cls, **options: Any):
        from allos_core.providers import ProviderStatus

        return ProviderStatus(True, "offline; replays a script file")

    @property
    def remaining(self) -> int:
        return len(self.turns) - self.position

    async def context_window(self) -> int | None:
        return self._context_window

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(copy.copy(request))
        if self.position >= len(self.turns):
            raise ProviderError(
                f"the script has no turn left (it has {len(self.turns)})",
                hint="add turns to the script",
                provider=self.name,
            )
        turn = self.turns[self.position]
        self.position += 1
        if isinstance(turn, BaseException):
            raise turn
        if isinstance(turn, dict) and turn.get("delay"):
            import asyncio

            await asyncio.sleep(float(turn["delay"]))
        return self._response(turn, request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        response = await self.complete(request)
        text = response.message.text
        # word by word, as a real stream arrives
        pieces = text.split(" ")
        for index, piece in enumerate(pieces):
            if piece or index:
                yield TextDelta(piece if index == 0 else " " + piece)
        for index, call in enumerate(response.message.tool_calls):
            yield ToolCallDelta(index, call.id, call.name, json.dumps(call.arguments))
        yield StreamDone(response)

    def _response(self, turn: Turn, request: ModelRequest) -> ModelResponse:
        from allos_core.messages import Message, Usage

        if isinstance(turn, ModelResponse):
            return turn
        if isinstance(turn, str):
            turn = {"text": turn}
        if not isinstance(turn, dict):
            raise ConfigError(f"script turn {self.position} must be text or a mapping")
        calls = []
        for spec in turn.get("tool_calls") or []:
            raw = spec.get("raw_arguments", spec.get("arguments") or {})
            calls.append(
                tool_call_from_json(spec.get("id") or new_tool_call_id(), spec["name"], raw)
            )
        usage_spec = turn.get("usage") or {}
        usage = Usage(
            input_tokens=usage_spec.get("input_tokens", self.count_tokens(request.messages)),
            output_tokens=usage_spec.get("output_tokens", max(1, len(turn.get("text", "")) // 4)),
            requests=1,
        )
        message = Message.assistant(
            turn.get("text", ""), calls, provider=self.name, model=self.model, usage=usage
        )
        finish = turn.get("finish_reason") or ("tool_calls" if calls else "stop")
        return ModelResponse(message=message, usage=usage, finish_reason=finish, model=self.model)


def _looks_like_script(model: str) -> bool:
    return model.lower().endswith((".json", ".yaml", ".yml"))


@hookimpl
def allos_providers() -> list[type[Provider]]:
    return [ScriptedProvider]
