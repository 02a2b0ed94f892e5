"""Defining tools: the @tool decorator, Tool subclasses, validation and error results."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from allos_core.errors import ToolArgumentsError
from allos_core.tools import Tool, ToolContext, ToolResult, tool


class Range(BaseModel):
    start: int
    end: int | None = None


@tool(read_only=True, permission_subject="path")
def search_file(
    path: str,
    mode: Literal["exact", "regex"] = "exact",
    terms: list[str] | None = None,
    window: Range | None = None,
    context: ToolContext | None = None,
) -> str:
    """Search a file for terms.

    Returns matching lines.

    Args:
        path: File to search, relative to the workspace.
        mode: How terms are matched.
        terms: Words to look for.
        window: Only search these lines.
    """
    return f"{path}|{mode}|{terms}|{window}|{context.workspace.name if context else None}"


def test_schema_comes_from_type_hints_and_docstring():
    assert search_file.name == "search_file"
    assert search_file.description == "Search a file for terms.\n\nReturns matching lines."
    schema = search_file.parameters_schema()
    props = schema["properties"]
    assert schema["required"] == ["path"]
    assert "context" not in props  # the ToolContext parameter is injected, not shown to models
    assert props["path"] == {
        "type": "string",
        "description": "File to search, relative to the workspace.",
    }
    assert props["mode"]["enum"] == ["exact", "regex"] and props["mode"]["default"] == "exact"
    assert props["terms"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert props["window"]["anyOf"][0] == {"$ref": "#/$defs/Range"}
    assert schema["$defs"]["Range"]["required"] == ["start"]
    assert "title" not in schema and "title" not in props["path"]
    assert search_file.read_only and search_file.default_permission == "allow"


async def test_valid_call_runs_with_context(tmp_path):
    result = await search_file.invoke(
        {"path": "a.py", "terms": ["x"], "window": {"start": 3}}, ToolContext(workspace=tmp_path)
    )
    assert result == ToolResult(
        content=f"a.py|exact|['x']|start=3 end=None|{tmp_path.name}", is_error=False
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "path: Field required"),
        ({"path": "a", "mode": "fuzzy"}, "mode: Input should be 'exact' or 'regex'"),
        ({"path": "a", "window": {"end": 2}}, "window.start: Field required"),
        ({"path": "a", "surprise": 1}, "surprise: Extra inputs are not permitted"),
    ],
)
async def test_invalid_arguments_become_error_results(arguments, expected, tmp_path):
    result = await search_file.invoke(arguments, ToolContext(workspace=tmp_path))
    assert result.is_error
    assert result.content.startswith("Invalid arguments for search_file:")
    assert expected in result.content


def test_validate_raises_a_readable_error():
    with pytest.raises(ToolArgumentsError, match="path: Field required"):
        search_file.validate({})


async def test_exceptions_in_tools_become_error_results(tmp_path):
    @tool
    async def explode(n: int) -> str:
        """Always fails."""
        raise ValueError(f"bad {n}")

    result = await explode.invoke({"n": 2}, ToolContext(workspace=tmp_path))
    assert result == ToolResult("explode failed: ValueError: bad 2", is_error=True)
    assert explode.default_permission == "ask" and not explode.read_only


async def test_sync_tools_run_off_the_event_loop(tmp_path):
    import threading

    main = threading.get_ident()

    @tool
    def where() -> str:
        """Report the thread."""
        return "other" if threading.get_ident() != main else "loop"

    assert (await where.invoke({}, ToolContext(workspace=tmp_path))).content == "other"


async def test_tool_subclass_with_an_args_model(tmp_path):
    class AddArgs(BaseModel):
        a: int = Field(description="First number")
        b: int = Field(2, description="Second number")

    class Add(Tool):
        name = "add"
        description = "Add two numbers."
        Args = AddArgs
        read_only = True

        async def run(self, args, context):
            return ToolResult(str(args.a + args.b), metadata={"sum": args.a + args.b})

    add = Add()
    assert add.schema().parameters["properties"]["a"]["description"] == "First number"
    result = await add.invoke({"a": 40}, ToolContext(workspace=tmp_path))
    assert result.content == "42" and result.metadata == {"sum": 42}
    assert (await add.invoke({"a": "x"}, ToolContext(workspace=tmp_path))).is_error


def test_schemas_are_built_lazily():
    @tool
    def lazy(x: int) -> int:
        """Lazy."""
        return x

    assert lazy._model is None  # nothing built at decoration time (plugin discovery stays cheap)
    lazy.parameters_schema()
    assert lazy._model is not None


def test_permission_subject_from_a_parameter(tmp_path):
    args = search_file.validate({"path": "src/app.py"})
    assert search_file.permission_subjects(args, ToolContext(workspace=tmp_path)) == ["src/app.py"]


def test_context_refuses_paths_outside_the_workspace(tmp_path):
    from allos_core.tools import PathOutsideWorkspaceError

    inside = tmp_path / "ws"
    inside.mkdir()
    (tmp_path / "secret").write_text("s")
    (inside / "link").symlink_to(tmp_path / "secret")
    ctx = ToolContext(workspace=inside)
    assert ctx.resolve_path("a/b.txt") == inside / "a" / "b.txt"
    assert ctx.relative(ctx.resolve_path(".")) == "."
    for bad in ("../secret", str(tmp_path / "secret"), "~/x", "link", "a\x00b"):
        with pytest.raises(PathOutsideWorkspaceError):
            ctx.resolve_path(bad)


def test_cancellation_is_not_swallowed(tmp_path):
    @tool
    async def wait() -> str:
        """Wait forever."""
        await asyncio.Event().wait()
        return "never"

    async def main():
        task = asyncio.create_task(wait.invoke({}, ToolContext(workspace=tmp_path)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
