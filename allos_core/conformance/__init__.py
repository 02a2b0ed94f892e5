"""The conformance kit: pytest test classes a plugin runs to prove it keeps the contract.

A provider plugin subclasses :class:`ProviderConformance` in its tests and supplies two fixtures:
a provider pointed at its own fake server, and a small adapter that scripts that server
(:class:`ScriptedServer`). A tool plugin subclasses :class:`ToolConformance` and supplies its
tools. Every test of the kit then runs against the plugin::

    from allos_core.testing import ProviderConformance

    class TestContract(ProviderConformance):
        @pytest.fixture
        def conformance_provider(self, make_provider):
            return make_provider(max_retries=0)

        @pytest.fixture
        def conformance_server(self, server):
            return MyServerScript(server)

The kit needs pytest and an asyncio test runner in auto mode (``pytest-asyncio`` with
``asyncio_mode = "auto"``). It is imported only by tests: nothing here is loaded by plugin
discovery or the CLI.
"""

from __future__ import annotations

from allos_core.conformance.provider import ProviderConformance, ScriptedServer
from allos_core.conformance.tools import ToolConformance, provider_safe_name

__all__ = ["ProviderConformance", "ScriptedServer", "ToolConformance", "provider_safe_name"]
