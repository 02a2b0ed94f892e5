"""The plugin registers six tools with exact names, parameters, permissions and path subjects."""

from __future__ import annotations

import subprocess
import sys

import allos_fs

from allos_core.plugins import create_plugin_manager
from allos_core.tools import Tool

EXPECTED = {
    "read_file": ({"path", "start_line", "end_line"}, ["path"], True, "allow"),
    "write_file": ({"path", "content"}, ["path", "content"], False, "ask"),
    "edit_file": (
        {"path", "old_text", "new_text", "replace_all"},
        ["path", "old_text", "new_text"],
        False,
        "ask",
    ),
    "list_directory": ({"path", "recursive"}, [], True, "allow"),
    "glob": ({"pattern", "path"}, ["pattern"], True, "allow"),
    "grep": ({"pattern", "path", "glob", "ignore_case"}, ["pattern"], True, "allow"),
}


def test_hook_offers_the_six_tools_through_the_plugin_manager():
    manager = create_plugin_manager([allos_fs])
    tools = manager.tools()
    assert set(tools) == set(EXPECTED)
    for name, (params, required, read_only, default) in EXPECTED.items():
        tool = tools[name]
        assert isinstance(tool, Tool)
        schema = tool.schema()
        assert schema.name == name
        assert len(schema.description) > 150, name  # real guidance, not a stub
        parameters = tool.parameters_schema()
        assert set(parameters["properties"]) == params, name
        assert parameters.get("required", []) == required, name
        assert parameters["additionalProperties"] is False
        assert all(p.get("description") for p in parameters["properties"].values()), name
        assert tool.read_only is read_only and tool.default_permission == default
        assert tool.path_subject is True


def test_defaults_in_the_schema():
    props = {
        t.name: t.parameters_schema()["properties"]
        for t in create_plugin_manager([allos_fs]).tools().values()
    }
    assert props["list_directory"]["path"]["default"] == "."
    assert props["list_directory"]["recursive"]["default"] is False
    assert props["glob"]["path"]["default"] == "."
    assert props["grep"]["ignore_case"]["default"] is False
    assert props["edit_file"]["replace_all"]["default"] is False
    assert props["read_file"]["start_line"]["anyOf"][0] == {"minimum": 1, "type": "integer"}


def test_descriptions_tell_the_model_how_to_continue():
    tools = create_plugin_manager([allos_fs]).tools()
    assert "start_line" in tools["read_file"].description
    assert "cat -n" in tools["read_file"].description
    assert "replace_all" in tools["edit_file"].description
    assert (
        ".gitignore" in tools["grep"].description
        and "path:line_number:text" in tools["grep"].description
    )


def test_importing_the_plugin_is_cheap():
    code = (
        "import sys, allos_fs; "
        "heavy = {'pydantic', 'pathspec', 'allos_fs.tools', 'difflib'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
