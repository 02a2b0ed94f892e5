"""allos-fs passes the tool conformance kit."""

from __future__ import annotations

import pytest

from allos_core.testing import ToolConformance


class TestFsToolsConform(ToolConformance):
    @pytest.fixture
    def conformance_tools(self):
        from allos_fs import allos_tools

        return allos_tools()

    @pytest.fixture
    def conformance_arguments(self):
        return {
            "read_file": [{"path": "README.md"}, {"path": "src/app.py", "offset": 1}],
            "list_directory": [{"path": "."}, {"path": "src"}],
            "glob": [{"pattern": "**/*.py"}],
            "grep": [{"pattern": "hello"}, {"pattern": "tests", "path": "notes"}],
        }
