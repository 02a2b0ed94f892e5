"""Mapping between the Allos conversation model and Ollama's ``/api/chat`` wire format.

Pure functions on plain dicts: nothing here imports the ``ollama`` SDK.

Ollama's differences from OpenAI-style APIs, handled here:

- tool-call ``arguments`` are JSON objects, not strings;
- tool calls carry no ids: a ``tool`` message names the tool it answers in ``tool_name``, and
  results are matched to calls by order. Ids in the conversation (from OpenAI or Anthropic) are
  simply not sent; ids for Ollama's calls are generated with ``new_tool_call_id``;
- generation settings live in ``options`` (``temperature``, ``num_predict``, ``num_ctx``, ...),
  while a few settings (``keep_alive``, ``think``, ``format``) are top-level request keys;
- reasoning arrives in ``message.thinking`` and goes back the same way on the assistant messages
  Ollama wrote; reasoning from other providers is not sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message, ToolCallPart, Usage
    from allos_core.providers import ModelRequest, ToolSchema

PROVIDER = "ollama"
#: options that are top-level keys of a chat request rather than entries of ``options``
TOP_LEVEL_KEYS = frozenset({"keep_alive", "think", "format", "logprobs", "top_logprobs"})

#: property keys the ollama SDK's ``Tool`` model keeps (it silently drops every other key)
_SDK_PROPERTY_KEYS = ("type", "items", "description", "enum")
#: keys that only label a schema and carry nothing the model needs
_NOISE_KEYS = frozenset({"title"})


# -- request ------------------------------------------------------------------------------------


def to_ollama_messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The conversation as Ollama chat messages.

    Each tool result becomes its own ``tool`` message carrying ``tool_name``; a call whose
    arguments could not be parsed is sent with ``{}`` (Ollama only accepts objects).
    """
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            results = message.tool_results_parts
            for result in results:
                content = result.content
                if result.is_error and not content.lower().startswith("error"):
                    content = f"Error: {content}"
                wire.append({"role": "tool", "content": content, "tool_name": result.name})
            shown = [image.data for result in results for image in result.images]
            if shown:  # as a user message after the results, like the other providers
                names = ", ".join(dict.fromkeys(r.name for r in results if r.images))
                wire.append(
                    {"role": "user", "content": f"[images returned by {names}]", "images": shown}
                )
            continue
        entry: dict[str, Any] = {"role": message.role, "content": message.text}
        if message.role == "user" and message.images:
            entry["images"] = [image.data for image in message.images]
        if message.role == "assistant":
            thinking = "".join(
                p.text for p in message.reasoning if p.provider == PROVIDER and p.text
            )
            if thinking:
                entry["thinking"] = thinking
        calls = message.tool_calls if message.role == "assistant" else []
        if calls:
            entry["tool_calls"] = [_call_to_wire(call) for call in calls]
        wire.append(entry)
    return wire


def _call_to_wire(call: ToolCallPart) -> dict[str, Any]:
    arguments = {} if call.parse_error else dict(call.arguments)
    return {"function": {"name": call.name, "arguments": arguments}}


def to_ollama_tools(tools: Iterable[ToolSchema]) -> list[dict[str, Any]]:
    """Tool schemas as Ollama function tools."""
    return [
        {
            "type": "function",
            "function": {
                "name": schema.name,
                "description": schema.description,
                "parameters": fit_parameters(schema.parameters),
            },
        }
        for schema in tools
    ]


def fit_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON schema reshaped so the ollama SDK's ``Tool`` model does not lose information.

    The SDK (0.6) keeps only ``type``, ``items``, ``description`` and ``enum`` of each property
    and silently drops the rest: nested object ``properties``, ``anyOf`` (pydantic's optional
    fields), ``default``, ``minimum``... Here ``anyOf``/``oneOf`` of plain types becomes a type
    list, and whatever else would be dropped is written into the description as JSON schema, so
    the model still sees it.
    """
    fitted: dict[str, Any] = {"type": parameters.get("type", "object")}
    for key in ("required", "$defs"):
        if key in parameters:
            fitted[key] = parameters[key]
    properties = parameters.get("properties")
    fitted["properties"] = (
        {name: _fit_property(prop) for name, prop in properties.items()}
        if isinstance(properties, Mapping)
        else {}
    )
    return fitted


def _fit_property(schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return schema
    kept = {key: schema[key] for key in _SDK_PROPERTY_KEYS if key in schema}
    consumed = set(kept) | _NOISE_KEYS
    if "type" not in kept:
        for key in ("anyOf", "oneOf"):
            types = _plain_types(schema.get(key))
            if types:
                kept["type"] = types[0] if len(types) == 1 else types
                consumed.add(key)
                break
    extra = {key: value for key, value in schema.items() if key not in consumed}
    if extra:
        note = "JSON schema: " + json.dumps(extra, sort_keys=True, ensure_ascii=False)
        description = kept.get("description")
        kept["description"] = f"{description} ({note})" if description else note
    return kept


def _plain_types(variants: Any) -> list[str] | None:
    """``["string", "null"]`` for ``[{"type": "string"}, {"type": "null"}]``; None if not plain."""
    if not isinstance(variants, list) or not variants:
        return None
    types: list[str] = []
    for variant in variants:
        if not (isinstance(variant, Mapping) and set(variant) - _NOISE_KEYS == {"type"}):
            return None
        kind = variant["type"]
        if not isinstance(kind, str):
            return None
        types.append(kind)
    return types


def chat_arguments(
    *,
    model: str,
    request: ModelRequest,
    provider_options: Mapping[str, Any],
    temperature: float | None,
    max_tokens: int | None,
    stream: bool,
    think: Any = None,
) -> dict[str, Any]:
    """Keyword arguments for ``AsyncClient.chat``.

    Options from the provider (constructor) and from the request (which win) are sorted: keys in
    :data:`TOP_LEVEL_KEYS` become request keys, a mapping under ``options`` is merged into
    ``options``, everything else (``num_ctx``, ``top_p``, ``seed``, ...) goes into ``options``.
    ``temperature`` and ``max_tokens`` become ``options.temperature`` and ``options.num_predict``.
    """
    options: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for source in (provider_options, request.options):
        for key, value in source.items():
            if key == "options" and isinstance(value, Mapping):
                options.update(value)
            elif key in TOP_LEVEL_KEYS:
                top[key] = value
            else:
                options[key] = value
    temperature = request.temperature if request.temperature is not None else temperature
    max_tokens = request.max_tokens if request.max_tokens is not None else max_tokens
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["num_predict"] = max_tokens
    arguments: dict[str, Any] = {
        "model": model,
        "messages": to_ollama_messages(request.messages),
        "stream": stream,
        **top,
    }
    if request.tools:
        arguments["tools"] = to_ollama_tools(request.tools)
    if think is not None and "think" not in arguments:
        arguments["think"] = think_value(model, think)
    if options:
        arguments["options"] = options
    return arguments


def think_value(model: str, think: Any) -> bool | str:
    """Ollama's ``think`` for the neutral option: a level for gpt-oss models, else true/false."""
    from allos_core.thinking import parse_think

    setting = parse_think(think)
    if setting is None:
        return False
    return setting.effort if "gpt-oss" in model else True


def thinking_of(message: Any) -> str:
    """The ``thinking`` text of a (possibly partial) response message."""
    value = _field(message, "thinking") if message is not None else None
    return value if isinstance(value, str) else ""


# -- response -----------------------------------------------------------------------------------


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` for SDK models, ``obj[name]`` for dicts."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def calls_from_message(message: Any) -> list[ToolCallPart]:
    """The tool calls of a (possibly partial) Ollama response message, with fresh ids."""
    from allos_core.providers import new_tool_call_id, tool_call_from_json

    calls = []
    for raw in _field(message, "tool_calls") or ():
        function = _field(raw, "function") or {}
        name = _field(function, "name") or ""
        arguments = _field(function, "arguments")
        if isinstance(arguments, Mapping) and not isinstance(arguments, dict):
            arguments = dict(arguments)
        calls.append(tool_call_from_json(new_tool_call_id(), name, arguments))
    return calls


def finish_reason(done_reason: str | None, has_tool_calls: bool) -> str:
    """Ollama's ``done_reason`` as an Allos finish reason.

    Ollama says ``stop`` even when the model asked for tools; that is reported as ``tool_calls``.
    """
    if has_tool_calls:
        return "tool_calls"
    if done_reason in (None, "", "stop"):
        return "stop"
    if done_reason == "length":
        return "length"
    return "other"


def usage_from(response: Any) -> Usage:
    """Token counts of a final chat response (``prompt_eval_count`` / ``eval_count``)."""
    from allos_core.messages import Usage

    return Usage(
        input_tokens=_field(response, "prompt_eval_count") or 0,
        output_tokens=_field(response, "eval_count") or 0,
        requests=1,
    )
