"""allos-shell passes the tool conformance kit."""

from __future__ import annotations

import pytest

from allos_core.testing import ToolConformance


class TestShellToolConforms(ToolConformance):
    @pytest.fixture
    def conformance_tools(self):
        from allos_shell import allos_tools

        return allos_tools()
