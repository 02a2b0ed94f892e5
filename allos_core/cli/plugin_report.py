"""What ``run`` and ``chat`` say about plugins before they start, and while they run.

Before the run: an unresolved name conflict, or a failed plugin under strict loading, stops it
(exit 2); otherwise every failed plugin is named in one line on stderr, every time, so a policy
plugin that no longer loads is never silently missing. During the run: an observer hook that
raises is one line naming the plugin and the hook (its traceback only with ``-v``).
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.config import Settings
    from allos_core.plugins import PluginInfo, PluginManager


def prepare_plugins(manager: PluginManager, settings: Settings, *, verbose: bool) -> None:
    """Apply the ``[plugins]`` settings to ``manager``, check it, and report failed plugins."""
    from allos_core.cli.ui import print_warning
    from allos_core.plugins import failed_plugins_line

    for table, picks in settings.plugin_choices.items():
        for name, plugin in picks.items():
            manager.choose(table, name, plugin)
    failed = manager.check_ready(strict=True if settings.strict_plugins else None)
    if failed:
        print_warning(
            "warning",
            failed_plugins_line(failed) + "; going on without them "
            "(see `allos plugins list -v`; [plugins] strict = true makes this an error)",
        )

    def report(info: PluginInfo, hook: str, exc: BaseException) -> None:
        from allos_core.cli.ui import err_console

        label = info.distribution or info.name
        line = f"plugin {label} ({info.name}): {hook} raised {type(exc).__name__}: {exc}"
        print_warning("warning", line.splitlines()[0] + "; the run goes on")
        if verbose:
            from rich.text import Text

            lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
            err_console().print(Text("".join(lines)), end="")

    manager.on_hook_error = report
