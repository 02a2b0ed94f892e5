"""Structured output: a run that ends with a validated value instead of free text.

``Agent(..., output_type=T)`` accepts a pydantic model, a dataclass, a TypedDict, any type
pydantic's ``TypeAdapter`` understands (``list[Model]``, ``A | B``), or a JSON schema as a dict.
:class:`StructuredOutput` turns it into a JSON schema, checks whether the schema meets the strict
rules of OpenAI's structured outputs, and validates what the model answers.

Two ways to get the answer, chosen per request by the provider's
:attr:`~allos_core.providers.Capabilities.structured_output`:

- native: the request carries an :class:`~allos_core.providers.OutputSchema` and the API
  constrains the answer text to the schema;
- the fallback: a final-answer tool (``final_result``) whose arguments are the answer, and the
  provider makes the model call a tool.

A schema whose root is not an object (a list, a union, a string) is wrapped as
``{"result": ...}``, because both APIs and tool arguments need an object at the root; the value
is unwrapped before validation. An answer that fails validation goes back to the model with the
errors, up to ``retries`` times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from allos_core.errors import ConfigError
from allos_core.providers import OutputSchema, ToolSchema

__all__ = [
    "FINAL_TOOL",
    "OutputInvalid",
    "StructuredOutput",
    "Verdict",
    "strict_compatible",
]

#: the name of the final-answer tool of the fallback
FINAL_TOOL = "final_result"
WRAP_KEY = "result"
_NAME_OK = re.compile(r"[^A-Za-z0-9_-]")
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


class OutputInvalid(Exception):
    """An answer that does not match the output type; ``str()`` is the feedback for the model."""


@dataclass
class Verdict:
    """What the agent does with one assistant message of a structured run.

    ``handled`` False: the message is not an answer (tool calls to run as usual). Otherwise
    ``ok`` says whether ``value`` is the validated output; ``results`` answers the tool calls
    of the message (fallback mode); ``feedback`` is the user message telling the model what
    to fix; ``raw`` is the answer as the model gave it.
    """

    handled: bool = False
    ok: bool = False
    value: Any = None
    raw: str = ""
    error: str = ""
    results: list[Any] = field(default_factory=list)
    feedback: str | None = None


class StructuredOutput:
    """The output type of a run: its JSON schema, and the validation of answers."""

    def __init__(self, output_type: Any, *, retries: int = 3, name: str | None = None) -> None:
        if retries < 0:
            raise ConfigError("output_retries must be 0 or more", hint="for example 3")
        self.output_type = output_type
        self.retries = retries
        self._adapter: Any = None
        self._validator: Any = None
        if isinstance(output_type, Mapping):
            schema = _check_json_schema(dict(output_type))
            self._validator = _json_schema_validator(schema)
        else:
            from pydantic import TypeAdapter
            from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

            try:
                self._adapter = TypeAdapter(output_type)
                schema = self._adapter.json_schema()
            except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
                raise ConfigError(
                    f"output_type {output_type!r} has no JSON schema: {exc}",
                    hint="use a pydantic model, a dataclass, a TypedDict or a JSON schema dict",
                ) from None
        self.name = _NAME_OK.sub("_", name or str(schema.get("title") or "answer"))[:64]
        self.description = str(schema.get("description") or "")
        self.wrapped = not _is_object_schema(schema)
        self.schema = _closed(_wrap(schema) if self.wrapped else schema)
        self.strict = strict_compatible(self.schema)

    # -- what the request carries ----------------------------------------------------------------
    def request(self, *, tool: bool) -> OutputSchema:
        """The :class:`OutputSchema` of a request, native (``tool=False``) or the fallback."""
        return OutputSchema(
            name=FINAL_TOOL if tool else self.name,
            schema=self.schema,
            strict=self.strict,
            description=self.description,
            tool=tool,
        )

    def tool_schema(self) -> ToolSchema:
        """The final-answer tool of the fallback."""
        what = f" ({self.description})" if self.description else ""
        return ToolSchema(
            name=FINAL_TOOL,
            description=(
                f"Give your final answer{what}. Call this once, when you are done, with the "
                "answer as the arguments; it ends the task."
            ),
            parameters=self.schema,
        )

    # -- answers ---------------------------------------------------------------------------------
    def judge(self, message: Any, *, tool: bool) -> Verdict:
        """Check one assistant message (see :class:`Verdict`)."""
        from allos_core.messages import ToolResultPart

        calls = message.tool_calls
        finals = [c for c in calls if c.name == FINAL_TOOL] if tool else []
        if finals:
            final = finals[0]
            raw = final.raw_arguments or json.dumps(final.arguments, ensure_ascii=False)
            try:
                if final.parse_error:
                    raise OutputInvalid(f"the arguments were not valid JSON ({final.parse_error})")
                value = self.validate(final.arguments)
                ok, error = True, ""
            except OutputInvalid as exc:
                value, ok, error = None, False, str(exc)
            results = []
            for call in calls:
                if call is final:
                    content = "Final result accepted." if ok else f"{error}\n{self._fix_hint(True)}"
                    is_error = not ok
                elif ok:
                    content, is_error = "Not run: the task ended with the final result.", False
                else:
                    content = f"Not run: call {FINAL_TOOL} alone, with a valid answer."
                    is_error = True
                results.append(
                    ToolResultPart(
                        call_id=call.id, name=call.name, content=content, is_error=is_error
                    )
                )
            return Verdict(True, ok, value, raw, error, results)
        if calls:
            return Verdict()
        raw = message.text
        try:
            value = self.validate_text(raw)
        except OutputInvalid as exc:
            hint = self._fix_hint(tool, called=False)
            return Verdict(True, False, None, raw, str(exc), feedback=f"{exc}\n{hint}")
        return Verdict(True, True, value, raw)

    def _fix_hint(self, tool: bool, *, called: bool = True) -> str:
        if tool and called:
            return f"Call {FINAL_TOOL} again with arguments that match its schema."
        if tool:
            return f"Give your final answer by calling the {FINAL_TOOL} tool."
        return "Answer again with only a JSON value that matches the required schema."

    def validate_text(self, text: str) -> Any:
        """The output from an answer's text (JSON, maybe in a code fence); raises OutputInvalid."""
        fenced = _FENCE.match(text)
        body = fenced.group(1) if fenced else text
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise OutputInvalid(f"the answer is not valid JSON ({exc})") from None
        return self.validate(data)

    def validate(self, data: Any) -> Any:
        """The output from decoded JSON (unwrapped when the schema was wrapped)."""
        if self.wrapped:
            if not (isinstance(data, dict) and set(data) == {WRAP_KEY}):
                raise OutputInvalid(f'the answer must be an object {{"{WRAP_KEY}": ...}}')
            data = data[WRAP_KEY]
        if self._validator is not None:
            errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.path))
            if errors:
                lines = [
                    f"- {'.'.join(str(p) for p in e.path) or '(answer)'}: {e.message}"
                    for e in errors[:10]
                ]
                raise OutputInvalid("The answer does not match the schema:\n" + "\n".join(lines))
            return data
        from pydantic import ValidationError

        try:
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            lines = [
                f"- {'.'.join(str(p) for p in e['loc']) or '(answer)'}: {e['msg']}"
                for e in exc.errors()[:10]
            ]
            raise OutputInvalid(
                "The answer does not match the schema:\n" + "\n".join(lines)
            ) from None

    def dump(self, value: Any) -> Any:
        """``value`` as plain JSON data (for ``--json`` and stdout)."""
        if self._adapter is None:
            return value
        return self._adapter.dump_python(value, mode="json")


# -- schemas -------------------------------------------------------------------------------------


def _check_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(
            f"the output schema is not a valid JSON schema: {exc.message}",
            hint="check it against https://json-schema.org, or use the concise form 'name, age int'",
        ) from None
    return schema


def _json_schema_validator(schema: dict[str, Any]) -> Any:
    from jsonschema import validators

    return validators.validator_for(schema)(schema)


def _is_object_schema(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def _wrap(schema: dict[str, Any]) -> dict[str, Any]:
    inner = dict(schema)
    defs = inner.pop("$defs", None)
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {WRAP_KEY: inner},
        "required": [WRAP_KEY],
        "additionalProperties": False,
    }
    if defs is not None:
        wrapped["$defs"] = defs
    return wrapped


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``additionalProperties: false`` on every object that leaves it unsaid.

    Extra keys are ignored by validation anyway; saying so lets strict APIs accept the schema.
    """

    def close(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        out = dict(node)
        for key in ("properties", "$defs", "definitions"):
            if isinstance(out.get(key), dict):
                out[key] = {name: close(child) for name, child in out[key].items()}
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if isinstance(out.get(key), list):
                out[key] = [close(child) for child in out[key]]
        for key in ("items", "not"):
            if isinstance(out.get(key), dict):
                out[key] = close(out[key])
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out

    return close(schema)


def strict_compatible(schema: Any) -> bool:
    """Whether ``schema`` meets OpenAI's strict structured-output rules.

    Every object lists all its properties in ``required`` and has ``additionalProperties:
    false``; the root is an object.
    """
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return False

    def ok(node: Any) -> bool:
        if not isinstance(node, dict):
            return True
        if node.get("type") == "object" or "properties" in node:
            properties = node.get("properties") or {}
            if node.get("additionalProperties") is not False:
                return False
            if set(node.get("required") or []) != set(properties):
                return False
        return all(ok(child) for child in _subschemas(node))

    return ok(schema)


def _subschemas(node: dict[str, Any]) -> list[Any]:
    children: list[Any] = []
    for key in ("properties", "$defs", "definitions"):
        children.extend((node.get(key) or {}).values())
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        children.extend(node.get(key) or [])
    for key in ("items", "not", "additionalProperties"):
        if isinstance(node.get(key), dict):
            children.append(node[key])
    return children
