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
broken), ``usage`` (``input_tokens``, ``output_tokens``, ``cache_read_tokens``,
``cache_write_tokens``), ``finish_reason`` and ``delay`` (seconds the model "thinks" before
answering, to simulate latency). Scripts in files
are JSON or YAML: a list of turns, or a mapping with a ``turns`` list.

This module is also the built-in plugin that registers the provider ``scripted``: pass the script
file as the model (``allos run -p scripted -m demo.yaml``) or as the ``script`` option.
``structured_output=True`` makes it act like an API with native structured output (the request's
``output`` schema is recorded; the scripted text is the answer).

The conformance kit for plugin authors is here too, imported on first use (it needs pytest):
:class:`ProviderConformance`, :class:`ScriptedServer` and :class:`ToolConformance` (see
:mod:`allos_core.conformance`).
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
    ProviderStatus,
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
        raise ConfigError(
            f"script {file} must be a list of turns or a mapping with a 'turns' list",
            hint=SCRIPT_FORMAT_HINT,
        )
    check_script(data, f"script {file}")
    return data


#: where the script format is described, for every script error's hint
SCRIPT_FORMAT_HINT = "the script format is described in docs/cli.md (section 'Scripted provider')"
_TURN_KEYS = {"text", "tool_calls", "usage", "finish_reason", "delay"}
_CALL_KEYS = {"id", "name", "arguments", "raw_arguments"}


def check_script(turns: list[Turn], where: str = "script") -> None:
    """Raise a :class:`ConfigError` naming the turn (1-based) for the first malformed turn.

    A turn is text, a mapping with ``text`` / ``tool_calls`` / ``usage`` / ``finish_reason``,
    a :class:`ModelResponse`, or (in code) an exception to raise.
    """
    for number, turn in enumerate(turns, start=1):
        problem = _turn_problem(turn)
        if problem:
            raise ConfigError(f"{where}: turn {number}: {problem}", hint=SCRIPT_FORMAT_HINT)


def _turn_problem(turn: Turn) -> str | None:
    if isinstance(turn, (str, ModelResponse, BaseException)):
        return None
    if not isinstance(turn, dict):
        return f"must be text or a mapping, not {type(turn).__name__}"
    unknown = sorted(set(map(str, turn)) - _TURN_KEYS)
    if unknown:
        return f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_TURN_KEYS))})"
    if "text" in turn and not isinstance(turn["text"], str):
        return "'text' must be a string"
    calls = turn.get("tool_calls") or []
    if not isinstance(calls, list):
        return "'tool_calls' must be a list"
    for index, call in enumerate(calls, start=1):
        problem = _call_problem(call)
        if problem:
            return f"tool call {index}: {problem}"
    usage = turn.get("usage") or {}
    if not isinstance(usage, dict) or any(
        not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in usage.values()
    ):
        return "'usage' must map input_tokens / output_tokens to whole numbers"
    if "finish_reason" in turn and not isinstance(turn["finish_reason"], str):
        return "'finish_reason' must be a string"
    delay = turn.get("delay", 0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
        return "'delay' must be a number of seconds"
    return None


def _call_problem(call: Any) -> str | None:
    if not isinstance(call, dict):
        return "must be a mapping with 'name' and 'arguments'"
    unknown = sorted(set(map(str, call)) - _CALL_KEYS)
    if unknown:
        return f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_CALL_KEYS))})"
    if not isinstance(call.get("name"), str) or not call["name"]:
        return "needs a 'name' (the tool to call)"
    if "id" in call and not isinstance(call["id"], str):
        return "'id' must be a string"
    if "raw_arguments" in call and not isinstance(call["raw_arguments"], str):
        return "'raw_arguments' must be a string (the JSON as the model sent it)"
    if "arguments" in call and not isinstance(call["arguments"], (dict, type(None))):
        return "'arguments' must be a mapping"
    return None


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
        structured_output: bool = False,
        **options: Any,
    ) -> None:
        if turns is None and script is None and model and _looks_like_script(model):
            script = model
        super().__init__(model=model, **options)
        if structured_output:  # act like an API with native structured output
            self.capabilities = Capabilities(structured_output=True)  # type: ignore[misc]
        if turns is None:
            if script is None:
                raise ConfigError(
                    "the scripted provider needs a script of turns",
                    hint="pass a JSON or YAML file as the model: -p scripted -m script.yaml",
                )
            turns = load_script(script)
        else:
            check_script(list(turns))
        self.turns = list(turns)
        self.position = 0
        self.requests: list[ModelRequest] = []
        self._context_window = context_window

    @classmethod
    def status(cls, **options: Any) -> ProviderStatus:
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
            cache_read_tokens=usage_spec.get("cache_read_tokens", 0),
            cache_write_tokens=usage_spec.get("cache_write_tokens", 0),
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


_CONFORMANCE = ("ProviderConformance", "ScriptedServer", "ToolConformance", "provider_safe_name")


def __getattr__(name: str) -> Any:
    # the kit imports pytest: load it only when a test asks for it, never during plugin discovery
    if name in _CONFORMANCE:
        import allos_core.conformance as kit

        return getattr(kit, name)
    raise AttributeError(f"module 'allos_core.testing' has no attribute {name!r}")
