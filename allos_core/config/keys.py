"""The keys a config file may set, and their defaults.

Shared by the file schema (:mod:`allos_core.config.files`) and the merged settings
(:mod:`allos_core.config.settings`).
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_ITERATIONS = 50
#: top-level single values a file may set, with their defaults
SCALAR_DEFAULTS: dict[str, Any] = {
    "provider": None,
    "model": None,
    "max_iterations": DEFAULT_MAX_ITERATIONS,
    "max_total_tokens": None,
    "system_prompt": None,
    "append_system_prompt": None,
    "stream": True,
    "git_commit": False,
    "max_cost": None,
}
#: the table of the user's own model prices (``[prices."MODEL"]``, see allos_core.pricing)
PRICES_KEY = "prices"
#: the lists of ``[permissions]``
RULE_KINDS = ("allow", "ask", "deny")
#: the user-file setting listing trusted workspaces
TRUST_KEY = "trusted_workspaces"
#: the core table ``[plugins]``: ``strict`` and the ``tools`` / ``providers`` / ``commands``
#: tables that pick which plugin gets a name several plugins offer
PLUGINS_KEY = "plugins"
PLUGIN_CHOICE_TABLES = ("tools", "providers", "commands")
