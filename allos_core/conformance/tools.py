"""Tool conformance: what every tool must do, whoever wrote it.

Subclass :class:`ToolConformance` in a test module and define the fixture ``conformance_tools``
(your :class:`~allos_core.tools.Tool` instances). Optionally override:

- ``conformance_workspace``: the folder the tools act in (default: a temporary folder with a
  few files: ``README.md``, ``src/app.py``, ``notes/todo.txt``);
- ``conformance_arguments``: ``{tool name: [valid arguments, ...]}`` used to check that
  read-only tools leave the workspace unchanged (default: arguments made from the schema).

The tests prove: names and schemas are accepted by every provider (OpenAI, Anthropic, Google,
Ollama: ``^[A-Za-z_][A-Za-z0-9_-]{0,63}$``, an ``object`` schema with ``properties``, no
top-level ``anyOf``/``oneOf``/``allOf``/``enum``/``not``, property names of
``[A-Za-z0-9_.-]{1,64}``, ``required`` naming real properties, a description); arguments of the
wrong shape give an error result that names the tool; hostile arguments (paths out of the
workspace, NUL bytes, huge strings) never make an exception escape ``invoke``; and a read-only
tool changes nothing in the workspace.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from allos_core.tools import Tool, ToolContext, ToolResult

#: a tool name every provider accepts (the strictest rules combined: Google's first character,
#: OpenAI's and Anthropic's character set and length)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
PROPERTY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TOP_LEVEL_FORBIDDEN = ("anyOf", "oneOf", "allOf", "enum", "not")
HOSTILE_STRINGS = ("", "../outside.txt", "/etc/hostname", "a\x00b", "x" * 5000, "*", "~")


def provider_safe_name(name: str) -> bool:
    """Whether every provider accepts ``name`` as a tool name."""
    return NAME.fullmatch(name) is not None


def workspace_files(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a digest of its bytes (folders as ``<dir>``)."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = "<link>"
        elif path.is_dir():
            found[key] = "<dir>"
        else:
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def sample_value(schema: dict[str, Any]) -> Any:
    """A plausible valid value for a property schema (the first enum value, a default, ...)."""
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return sample_value(option)
    kind = schema.get("type")
    return {
        "string": "README.md",
        "integer": 1,
        "number": 1,
        "boolean": False,
        "array": [],
        "object": {},
    }.get(kind if isinstance(kind, str) else "string", "README.md")


def wrong_value(schema: dict[str, Any]) -> Any:
    """A value of the wrong JSON type for a property schema."""
    kind = schema.get("type")
    if kind in ("integer", "number", "boolean", "array"):
        return {"not": "this"}
    return {"nested": ["not", "a", kind or "value"]}


def sample_arguments(tool: Tool) -> dict[str, Any]:
    schema = tool.parameters_schema()
    properties = schema.get("properties", {})
    return {name: sample_value(properties[name]) for name in schema.get("required", [])}


def invoke(tool: Tool, arguments: dict[str, Any], workspace: Path) -> ToolResult:
    """Run ``tool.invoke`` to the end in a fresh event loop."""
    return asyncio.run(tool.invoke(arguments, ToolContext(workspace=workspace)))


class ToolConformance:
    """The tool contract as tests (see the module docstring for the fixtures)."""

    @pytest.fixture
    def conformance_workspace(self, tmp_path: Path) -> Path:
        root = tmp_path / "workspace"
        (root / "src").mkdir(parents=True)
        (root / "notes").mkdir()
        (root / "README.md").write_text("# Demo\n\nA small project.\n", encoding="utf-8")
        (root / "src" / "app.py").write_text("print('hello')\n", encoding="utf-8")
        (root / "notes" / "todo.txt").write_text("write tests\n", encoding="utf-8")
        return root.resolve()

    @pytest.fixture
    def conformance_arguments(self) -> dict[str, list[dict[str, Any]]]:
        return {}

    def test_names_are_accepted_by_every_provider(self, conformance_tools: list[Tool]) -> None:
        names = [tool.name for tool in conformance_tools]
        assert names, "conformance_tools gave no tools"
        assert len(set(names)) == len(names), f"two tools share a name: {names}"
        for name in names:
            assert provider_safe_name(name), f"{name!r} is not a name every provider accepts"

    def test_schemas_are_accepted_by_every_provider(self, conformance_tools: list[Tool]) -> None:
        for tool in conformance_tools:
            schema = tool.parameters_schema()
            json.dumps(schema)  # plain JSON, nothing else
            where = f"tool {tool.name}"
            assert isinstance(tool.description, str) and tool.description.strip(), where
            assert schema.get("type") == "object", f"{where}: the schema must be an object"
            properties = schema.get("properties", {})
            assert isinstance(properties, dict), f"{where}: properties must be a mapping"
            for key in TOP_LEVEL_FORBIDDEN:
                assert key not in schema, f"{where}: top-level {key!r} is refused by OpenAI"
            for name in properties:
                assert PROPERTY.fullmatch(name), f"{where}: property {name!r} is refused"
            missing = set(schema.get("required", [])) - set(properties)
            assert not missing, f"{where}: required names unknown properties {missing}"
            schema_tool = tool.schema()
            assert (schema_tool.name, schema_tool.parameters) == (tool.name, schema)

    def test_arguments_of_the_wrong_shape_give_an_error_result(
        self, conformance_tools: list[Tool], conformance_workspace: Path
    ) -> None:
        for tool in conformance_tools:
            schema = tool.parameters_schema()
            properties = schema.get("properties", {})
            cases: list[dict[str, Any]] = []
            if schema.get("required"):
                cases.append({})
            for name, prop in properties.items():
                cases.append({**sample_arguments(tool), name: wrong_value(prop)})
            for arguments in cases:
                result = invoke(tool, arguments, conformance_workspace)
                assert isinstance(result, ToolResult), f"{tool.name}: invoke must return a result"
                assert result.is_error, f"{tool.name} accepted {arguments!r}"
                assert tool.name in result.content, f"{tool.name}: say which tool refused"

    def test_no_exception_escapes_on_hostile_arguments(
        self, conformance_tools: list[Tool], conformance_workspace: Path
    ) -> None:
        for tool in conformance_tools:
            properties = tool.parameters_schema().get("properties", {})
            base = sample_arguments(tool)
            string_names = [n for n, p in properties.items() if _accepts_string(p)]
            for name in string_names:
                for value in HOSTILE_STRINGS:
                    arguments = {**base, name: value}
                    result = invoke(tool, arguments, conformance_workspace)
                    assert isinstance(result, ToolResult), f"{tool.name}({arguments!r})"
            outside = conformance_workspace.parent / "outside.txt"
            assert not outside.exists(), f"{tool.name} wrote outside the workspace"

    def test_read_only_tools_change_nothing(
        self,
        conformance_tools: list[Tool],
        conformance_workspace: Path,
        conformance_arguments: dict[str, list[dict[str, Any]]],
    ) -> None:
        before = workspace_files(conformance_workspace)
        for tool in conformance_tools:
            if not tool.read_only:
                continue
            for arguments in conformance_arguments.get(tool.name) or [sample_arguments(tool)]:
                result = invoke(tool, arguments, conformance_workspace)
                assert isinstance(result, ToolResult)
                assert workspace_files(conformance_workspace) == before, (
                    f"read-only tool {tool.name} changed the workspace with {arguments!r}"
                )


def _accepts_string(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "string":
        return True
    return any(option.get("type") == "string" for option in schema.get("anyOf", []))
