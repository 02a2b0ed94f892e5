"""Defining tools: the @tool decorator, Tool subclasses, validation and error results."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from pydantic import BaseModel, Field, field_validator

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


# -- path subjects ------------------------------------------------------------------------------


def _subjects(tool_, tmp_path, **arguments):
    context = ToolContext(workspace=tmp_path)
    args = tool_.validate(arguments)
    return tool_.permission_subject(args, context), tool_.permission_subjects(args, context)


def test_a_path_parameter_is_a_path_subject_in_every_spelling(tmp_path):
    (tmp_path / "sub").mkdir()
    assert search_file.path_subject is True
    absolute = str(tmp_path / "src" / "app.py")
    for spelling in ("src/app.py", "./src/app.py", "sub/../src/app.py", "src//app.py", absolute):
        assert _subjects(search_file, tmp_path, path=spelling) == ("src/app.py", ["src/app.py"])
    assert _subjects(search_file, tmp_path, path=".") == (".", ["."])
    assert _subjects(search_file, tmp_path, path="") == (".", ["."])


def test_path_subject_is_guessed_from_the_parameter_name_and_can_be_overridden(tmp_path):
    @tool(permission_subject="config_path")
    def load(config_path: str) -> str:
        """Load a config file."""
        return config_path

    @tool(permission_subject="command")
    def run(command: str) -> str:
        """Run a command."""
        return command

    @tool(permission_subject="path", path_subject=False)
    def fetch(path: str) -> str:
        """Fetch a URL path."""
        return path

    @tool(permission_subject="target", path_subject=True)
    def remove(target: str) -> str:
        """Remove a file."""
        return target

    assert (load.path_subject, run.path_subject, fetch.path_subject) == (True, False, False)
    assert remove.path_subject is True
    assert _subjects(load, tmp_path, config_path="./a/../b.toml") == ("b.toml", ["b.toml"])
    assert _subjects(run, tmp_path, command="./x") == ("./x", ["./x"])
    assert _subjects(fetch, tmp_path, path="./api/../v1") == ("./api/../v1", ["./api/../v1"])
    assert _subjects(remove, tmp_path, target="./b/c.txt") == ("b/c.txt", ["b/c.txt"])


def test_a_callable_subject_is_used_as_returned(tmp_path):
    @tool(permission_subject=lambda args, ctx: args.path.upper(), path_subject=True)
    def shout(path: str) -> str:
        """Shout a path."""
        return path

    assert shout.path_subject is True
    assert _subjects(shout, tmp_path, path="./a") == ("./A", ["./A"])


def test_path_subjects_outside_the_workspace_never_raise_and_are_normalised(tmp_path):
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (ws / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    cases = {
        "../outside.txt": "../outside.txt",
        "sub/../../x.txt": "../x.txt",
        "/etc/../etc/passwd": "/etc/passwd",
        "~/.ssh/id_rsa": "~/.ssh/id_rsa",
        "a\x00b": "a\x00b",
        # refused when run (the link leads outside) but inside as written: a rule for
        # out/** or secret.txt still sees it
        "out/x.txt": "out/x.txt",
    }
    for raw, subject in cases.items():
        assert _subjects(search_file, ws, path=raw) == (subject, [subject]), raw


def test_a_symlinked_folder_gives_both_the_real_and_the_written_path(tmp_path):
    (tmp_path / "real_config").mkdir()
    (tmp_path / "config").symlink_to("real_config", target_is_directory=True)
    (tmp_path / "real_config" / "secret.txt").write_text("s")
    (tmp_path / "alias.txt").symlink_to("real_config/secret.txt")
    assert _subjects(search_file, tmp_path, path="config/secret.txt") == (
        "real_config/secret.txt",
        ["real_config/secret.txt", "config/secret.txt"],
    )
    assert _subjects(search_file, tmp_path, path="alias.txt") == (
        "real_config/secret.txt",
        ["real_config/secret.txt", "alias.txt"],
    )


def test_context_lexical_relative(tmp_path):
    context = ToolContext(workspace=tmp_path)
    root = context.workspace
    assert context.lexical_relative("a/./b/../c.txt") == "a/c.txt"
    assert context.lexical_relative(str(root / "a.txt")) == "a.txt"
    assert context.lexical_relative(".") == "."
    assert context.lexical_relative(str(root)) == "."
    assert context.lexical_relative("../x") is None
    assert context.lexical_relative("/etc/passwd") is None
    assert context.lexical_relative("~/x") is None
    assert context.lexical_relative("a\x00b") is None


# -- validation never crashes the run ------------------------------------------------------------


class SpecArgs(BaseModel):
    spec: dict

    @field_validator("spec")
    @classmethod
    def need_name(cls, value: dict) -> dict:
        return {"name": value["name"]}  # KeyError when "name" is missing


class Configure(Tool):
    name = "configure"
    description = "Configure something."
    Args = SpecArgs
    read_only = True

    async def run(self, args, context):
        return f"configured {args.spec['name']}"


def test_a_validator_raising_any_exception_is_an_arguments_error(tmp_path):
    with pytest.raises(ToolArgumentsError) as caught:
        Configure().validate({"spec": {}})
    assert str(caught.value) == "Invalid arguments for configure: KeyError: 'name'"
    result = asyncio.run(Configure().invoke({"spec": {}}, ToolContext(workspace=tmp_path)))
    assert result.is_error and result.content == "Invalid arguments for configure: KeyError: 'name'"
    ok = asyncio.run(Configure().invoke({"spec": {"name": "x"}}, ToolContext(workspace=tmp_path)))
    assert (ok.is_error, ok.content) == (False, "configured x")


def test_an_unloadable_args_model_is_an_arguments_error(tmp_path):
    class Broken(Tool):
        name = "broken"
        Args = "no_such_module_for_allos_tests:Args"

        async def run(self, args, context):
            return "never"

    result = asyncio.run(Broken().invoke({}, ToolContext(workspace=tmp_path)))
    assert result.is_error
    assert result.content.startswith("Invalid arguments for broken: ModuleNotFoundError")


def test_invoke_never_raises(tmp_path):
    class BadValidate(Configure):
        name = "bad_validate"

        def validate(self, arguments):
            raise RuntimeError("validate broke its contract")

    class Unprintable:
        def __str__(self):
            raise ValueError("no text")

    @tool
    def odd() -> object:
        """Return something unprintable."""
        return Unprintable()

    context = ToolContext(workspace=tmp_path)
    result = asyncio.run(BadValidate().invoke({"spec": {}}, context))
    assert result.is_error and "RuntimeError: validate broke its contract" in result.content
    result = asyncio.run(odd.invoke({}, context))
    assert result.is_error and "ValueError: no text" in result.content


def test_an_agent_survives_a_crashing_validator(tmp_path):
    from allos_core.agent import Agent
    from allos_core.plugins import create_plugin_manager
    from allos_core.testing import ScriptedProvider

    @tool(read_only=True)
    def echo(x: str) -> str:
        """Echo."""
        return x

    provider = ScriptedProvider(
        [
            {
                "tool_calls": [
                    {"name": "configure", "arguments": {"spec": {}}},
                    {"name": "echo", "arguments": {"x": "hi"}},
                ]
            },
            "done",
        ]
    )
    agent = Agent(
        provider,
        tools=[Configure(), echo],
        workspace=tmp_path,
        plugin_manager=create_plugin_manager([], discover=False),
        system_prompt="s",
    )
    result = agent.run("go")
    assert result.error is None
    contents = [p.content for m in result.messages if m.role == "tool" for p in m.parts]
    assert contents[0].startswith("Invalid arguments for configure: KeyError: 'name'")
    assert contents[1] == "hi"
