"""What the plugin manager knows about each plugin, and the one-line texts it says about them."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PluginInfo:
    """What ``allos plugins list`` shows about one plugin."""

    name: str
    module: str
    group: str
    distribution: str | None = None
    version: str | None = None
    providers: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    batch_backends: list[str] = field(default_factory=list)
    #: the kinds of hooks it implements: providers, tools, permission, audit, commands
    hooks: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | failed | disabled | conflict | degraded
    error: str | None = None
    traceback: str | None = None
    #: one line per observer hook that raised in this process (the plugin is then "degraded")
    hook_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "group": self.group,
            "module": self.module,
            "providers": list(self.providers),
            "tools": list(self.tools),
            "commands": list(self.commands),
            "batch_backends": list(self.batch_backends),
            "hooks": list(self.hooks),
            "status": self.status,
            "error": self.error,
        }


@dataclass
class NameConflict:
    """A name offered by more than one plugin (or taken from its first-party owner), unpicked."""

    kind: str  # provider | tool | command
    name: str
    claimants: list[PluginInfo]
    message: str


def failed_plugins_line(failed: list[PluginInfo]) -> str:
    """One line naming every failed plugin and why."""
    parts = [f"{label(info)}: {info.error}" for info in failed]
    noun = "plugin" if len(failed) == 1 else "plugins"
    return f"{len(failed)} {noun} failed to load: " + "; ".join(parts)


def label(info: PluginInfo) -> str:
    return f"{info.distribution or info.module} (plugin {info.name})"


def mark_failed(info: PluginInfo, exc: BaseException, during: str | None = None) -> None:
    info.status = "failed"
    where = f" in {during}" if during else ""
    info.error = f"{type(exc).__name__}{where}: {exc}".splitlines()[0]
    info.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
