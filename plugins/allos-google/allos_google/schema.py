"""JSON Schema (as Allos tools declare their arguments) -> the schema subset Gemini accepts.

A Gemini function declaration's ``parameters`` is an OpenAPI-style ``Schema`` with a fixed set
of keys: ``type`` (one type, upper case), ``format``, ``title``, ``description``, ``nullable``,
``enum`` (strings only), ``properties``, ``required``, ``items``, ``anyOf``, ``default``,
``example``, ``pattern``, ``minimum`` / ``maximum``, ``minLength`` / ``maxLength``,
``minItems`` / ``maxItems``, ``minProperties`` / ``maxProperties``, ``propertyOrdering``. The
Gemini Developer API answers 400 to anything else. So:

- ``$ref`` into ``$defs`` / ``definitions`` is inlined (a reference back into itself is cut to a
  plain object: recursive types cannot be expressed);
- ``type: [X, "null"]`` and ``anyOf`` / ``oneOf`` with a ``null`` branch become ``nullable``;
  ``oneOf`` becomes ``anyOf``; ``allOf`` is merged into one object;
- ``const`` becomes a one-value ``enum``; enum values become strings (Gemini's enums are string
  enums) and the type ``STRING``;
- ``format`` is kept only where Gemini knows it (``date-time`` / ``enum`` on strings, ``int32`` /
  ``int64`` on integers, ``float`` / ``double`` on numbers);
- everything else (``additionalProperties``, ``$schema``, ``exclusiveMinimum``,
  ``uniqueItems``, ...) is left out: the tool still validates its arguments itself.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

#: keys copied as they are
_PLAIN_KEYS = (
    "title",
    "description",
    "default",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "example",
)
_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
_FORMATS = {
    "STRING": {"date-time", "enum"},
    "INTEGER": {"int32", "int64"},
    "NUMBER": {"float", "double"},
}


def to_gemini_schema(schema: Any) -> Schema:
    """``schema`` (JSON Schema) in the subset Gemini's ``parameters`` accept; see the module."""
    if not isinstance(schema, dict):
        return {}
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        if isinstance(schema.get(key), dict):
            defs.update(schema[key])
    return _Adapter(defs).adapt(schema, ())


def parameters_for(schema: Any) -> Schema | None:
    """The ``parameters`` of a function declaration, or None for a tool without arguments."""
    adapted = to_gemini_schema(schema or {"type": "object"})
    if adapted.get("type") == "OBJECT" and not adapted.get("properties"):
        return None  # Gemini wants non-empty properties on a declared OBJECT parameter list
    return adapted


class _Adapter:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs

    def adapt(self, schema: Any, refs: tuple[str, ...]) -> Schema:
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema:
            return self._inline(schema, refs)
        out: Schema = {}
        nullable = False
        merged = self._merge_all_of(schema)
        for key in _PLAIN_KEYS:
            if key in merged and merged[key] is not None:
                out[key] = merged[key]
        if "example" not in out and isinstance(merged.get("examples"), list) and merged["examples"]:
            out["example"] = merged["examples"][0]
        # type: one type; a null alternative is ``nullable``
        raw_type = merged.get("type")
        types = raw_type if isinstance(raw_type, list) else [raw_type] if raw_type else []
        if "null" in types:
            nullable = True
            types = [t for t in types if t != "null"]
        branches = merged.get("anyOf") or merged.get("oneOf")
        if len(types) > 1:
            branches = [{"type": t} for t in types]
            types = []
        if types:
            out["type"] = _TYPES.get(types[0], "STRING")
        if isinstance(branches, list):
            adapted = []
            for branch in branches:
                if isinstance(branch, dict) and branch.get("type") == "null":
                    nullable = True
                    continue
                adapted.append(self.adapt({**_carry(merged), **branch}, refs))
            if len(adapted) == 1:
                out.update({k: v for k, v in adapted[0].items() if k not in out})
            elif adapted:
                out["anyOf"] = adapted
        # enums are string enums in Gemini
        values = [merged["const"]] if "const" in merged else merged.get("enum")
        if isinstance(values, list):
            if None in values:
                nullable = True
            out["type"] = "STRING"
            out["enum"] = [
                str(v) if not isinstance(v, bool) else str(v).lower()
                for v in values
                if v is not None
            ]
            out["format"] = "enum"
            if not isinstance(out.get("default"), str):
                out.pop("default", None)
        elif merged.get("format") in _FORMATS.get(out.get("type", ""), ()):
            out["format"] = merged["format"]
        if out.get("type") == "OBJECT" or (
            "type" not in out and isinstance(merged.get("properties"), dict)
        ):
            out["type"] = "OBJECT"
            self._object(merged, out, refs)
        elif out.get("type") == "ARRAY" and "items" not in out:
            items = merged.get("items")
            out["items"] = (
                self.adapt(items, refs) if isinstance(items, dict) else {"type": "STRING"}
            )
        if nullable:
            out["nullable"] = True
        return out

    def _object(self, schema: Schema, out: Schema, refs: tuple[str, ...]) -> None:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return
        out["properties"] = {str(name): self.adapt(sub, refs) for name, sub in properties.items()}
        required = [n for n in schema.get("required") or () if n in properties]
        if required:
            out["required"] = required
        if len(properties) > 1:
            out["propertyOrdering"] = list(out["properties"])

    def _inline(self, schema: Schema, refs: tuple[str, ...]) -> Schema:
        ref = str(schema["$ref"])
        name = ref.rsplit("/", 1)[-1]
        target = self.defs.get(name) if ref.startswith("#/") else None
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if target is None or name in refs:  # unknown, or recursive: a plain object
            cut: Schema = {"type": "OBJECT"}
            if siblings.get("description"):
                cut["description"] = siblings["description"]
            return cut
        return self.adapt({**target, **siblings}, (*refs, name))

    def _merge_all_of(self, schema: Schema) -> Schema:
        parts = schema.get("allOf")
        if not isinstance(parts, list):
            return schema
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            if not isinstance(part, dict):
                continue
            if "$ref" in part:
                name = str(part["$ref"]).rsplit("/", 1)[-1]
                part = {**self.defs.get(name, {}), **{k: v for k, v in part.items() if k != "$ref"}}
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged


def _carry(schema: Schema) -> Schema:
    """Keys of a schema with ``anyOf`` that its branches keep (their own keys win)."""
    return {k: schema[k] for k in ("description",) if k in schema}
