"""The example plugin in examples/allos-wordcount works as docs/plugins.md says."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from allos_core.plugins import create_plugin_manager
from allos_core.tools import ToolContext

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "allos-wordcount"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def wordcount_module(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import allos_wordcount

    yield allos_wordcount
    for name in [m for m in sys.modules if m.startswith("allos_wordcount")]:
        del sys.modules[name]


def test_its_pyproject_declares_the_entry_point():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["allos.tools"] == {"wordcount": "allos_wordcount"}
    assert "allos-core>=0.1.0" in project["dependencies"]


def test_the_plugin_registers_a_working_tool(wordcount_module, tmp_path):
    manager = create_plugin_manager([wordcount_module], discover=False)
    tool = manager.get_tool("word_count")
    schema = tool.parameters_schema()
    assert schema["required"] == ["path"]
    assert schema["properties"]["unit"]["enum"] == ["lines", "words", "chars", "all"]
    assert tool.read_only and tool.default_permission == "allow"

    (tmp_path / "notes.txt").write_text("one two\nthree\n")
    context = ToolContext(workspace=tmp_path)
    result = asyncio.run(tool.invoke({"path": "notes.txt"}, context))
    assert result.content == "notes.txt: 2 lines, 3 words, 14 chars"
    words = asyncio.run(tool.invoke({"path": "notes.txt", "unit": "words"}, context))
    assert words.content == "notes.txt: 3 words"
    outside = asyncio.run(tool.invoke({"path": "../x"}, context))
    assert outside.is_error and "outside the workspace" in outside.content
