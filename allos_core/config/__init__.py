"""Settings from ``allos.toml``, the user config file, the environment and command-line flags.

Layers, weakest first (a later layer wins for single values):

1. defaults;
2. the user config file: ``platformdirs.user_config_dir("allos")/config.toml``, or the file named
   by ``ALLOS_CONFIG_FILE``;
3. the workspace file ``allos.toml`` at the root of the workspace;
4. the environment: ``ALLOS_PROVIDER``, ``ALLOS_MODEL``, ``ALLOS_MAX_ITERATIONS``;
5. command-line flags.

Permission rules (``[permissions]`` ``allow`` / ``ask`` / ``deny``) are not overridden but
collected from every layer: a ``deny`` in the user file still applies in every workspace.
``[providers.NAME]`` tables are merged key by key.

The workspace file comes with whatever project was cloned, so it has less power than the user
file (see :func:`workspace_restriction` and :mod:`allos_core.config.workspace_policy`): it may not set
secrets or endpoints, its ``allow`` rules apply only in a trusted workspace (``trusted_workspaces``
of the user file, or ``--trust-workspace``), and it may not set ``trusted_workspaces``.

Everything ignored is kept in :attr:`Settings.ignored`, with the file, the line, the reason and
where to put it instead; :meth:`Settings.warnings` gives the lines the CLI prints on stderr.

A file looks like this::

    provider = "anthropic"
    model = "claude-sonnet-4-5"
    max_iterations = 40

    [providers.openai]
    model = "gpt-4.1-mini"
    base_url = "http://localhost:8000/v1"   # any OpenAI-compatible server

    [permissions]
    allow = ["shell_exec(git status*)", "edit_file(src/**)"]
    deny = ["shell_exec(rm *)"]

    # user file only: workspaces whose allow rules apply (a folder trusts its subfolders)
    trusted_workspaces = ["~/code/my-project"]

Every problem is a :class:`~allos_core.errors.ConfigError` that names the file, the line and the
key. :meth:`Settings.describe` lists every value with where it came from (secrets masked), which is
what ``allos config show`` prints.

The package, its public names re-exported here (imports go one way, no cycles):
:mod:`~allos_core.config.keys` (the keys and defaults), :mod:`~allos_core.config.lines` (the line
of a key), :mod:`~allos_core.config.display` (masking secrets), :mod:`~allos_core.config.files`
(reading and checking one file), :mod:`~allos_core.config.ignored` (what was left out and why),
:mod:`~allos_core.config.settings` (the merged :class:`Settings`),
:mod:`~allos_core.config.workspace_policy` (what a workspace file may set, trust),
:mod:`~allos_core.config.dotenv_keys` (provider keys from ``.env`` files) and
:mod:`~allos_core.config.loading` (the layers, merged once: :func:`load_settings`,
:func:`resolve_settings`).
"""

from __future__ import annotations

from allos_core.config.display import is_secret, mask, show_value, toml_string
from allos_core.config.files import (
    check_rule,
    read_config_file,
    read_config_text,
    validate_config,
)
from allos_core.config.ignored import (
    REASON_ENDPOINT,
    REASON_SECRET,
    REASON_UNTRUSTED,
    REASON_USER_ONLY,
    IgnoredSetting,
)
from allos_core.config.keys import (
    DEFAULT_MAX_ITERATIONS,
    PLUGIN_CHOICE_TABLES,
    PLUGINS_KEY,
    RULE_KINDS,
    SCALAR_DEFAULTS,
    TRUST_KEY,
)
from allos_core.config.lines import find_key_line
from allos_core.config.loading import (
    CONFIG_FILE_ENV,
    ENV_VARS,
    WORKSPACE_FILE,
    load_settings,
    resolve_settings,
    user_config_path,
    workspace_config_path,
)
from allos_core.config.settings import RuleSetting, Settings
from allos_core.config.workspace_policy import (
    PROVIDER_ENV,
    WORKSPACE_SAFE_OPTIONS,
    restrict_workspace_config,
    workspace_restriction,
    workspace_trust,
)
from allos_core.errors import ConfigError

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_MAX_ITERATIONS",
    "ENV_VARS",
    "PLUGINS_KEY",
    "PLUGIN_CHOICE_TABLES",
    "PROVIDER_ENV",
    "REASON_ENDPOINT",
    "REASON_SECRET",
    "REASON_UNTRUSTED",
    "REASON_USER_ONLY",
    "RULE_KINDS",
    "SCALAR_DEFAULTS",
    "TRUST_KEY",
    "WORKSPACE_FILE",
    "WORKSPACE_SAFE_OPTIONS",
    "ConfigError",
    "IgnoredSetting",
    "RuleSetting",
    "Settings",
    "check_rule",
    "find_key_line",
    "is_secret",
    "load_settings",
    "mask",
    "read_config_file",
    "read_config_text",
    "resolve_settings",
    "restrict_workspace_config",
    "show_value",
    "toml_string",
    "user_config_path",
    "validate_config",
    "workspace_config_path",
    "workspace_restriction",
    "workspace_trust",
]
