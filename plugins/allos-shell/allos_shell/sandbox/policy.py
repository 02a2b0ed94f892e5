"""The sandbox policy: what the ``[sandbox]`` settings ask for, and what this machine enforces.

Settings (plugin section ``[sandbox]`` of the config files, read through
:attr:`allos_core.tools.ToolContext.settings`; the ``--sandbox MODE`` flag sets ``mode``):

- ``mode``: ``workspace-write`` (default), ``read-only`` or ``off``;
- ``writable_paths``: more folders or files commands may write (``~`` expanded);
- ``network``: ``false`` (default) blocks TCP connect and bind; ``true`` allows it;
- ``auto_allow``: ``true`` lets a command the sandbox confines run without a prompt;
- ``root_writable``: ``true`` (default) lets commands create files and folders at the top of
  the workspace; the agent's configuration is then put back after any command that changed it.
  ``false`` grants only the existing entries, so the kernel itself refuses writes to
  ``allos.toml``, ``ALLOS.md``, ``AGENTS.md`` and ``.mcp.json``, at the price of new top-level
  entries;
- ``readonly_mounts``: ``true`` (default) bind-mounts the agent's configuration read-only for
  commands where user namespaces are allowed (:mod:`allos_shell.sandbox.mounts`).

:func:`sandbox_status` says what is really enforced here (Landlock ABI, file system writes,
network); :func:`launcher_spec` is what the launcher applies to one command.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from allos_shell.sandbox import landlock

MODES = ("workspace-write", "read-only", "off")
DEFAULT_MODE = "workspace-write"

#: workspace files and folders a sandboxed command may never write (the agent's configuration)
PROTECTED_ROOT_NAMES = frozenset({"allos.toml", "ALLOS.md", "AGENTS.md", ".mcp.json", ".git"})
#: entries of ``.git`` a sandboxed command may never write (code that git runs, and its settings)
#: (``commondir`` and ``config.worktree`` point git at more configuration, so they count too)
PROTECTED_GIT_NAMES = frozenset({"hooks", "config", "commondir", "config.worktree"})
#: devices every command may write (``> /dev/null``)
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts")
_FULL = landlock.handled_fs(99)
#: what git needs in ``.git`` itself (lock files renamed into place, new folders such as logs/);
#: no REMOVE_DIR, so ``.git/hooks`` cannot be moved aside or replaced
_GIT_DIR = (
    landlock.WRITE_FILE | landlock.TRUNCATE | landlock.MAKE_REG | landlock.REMOVE_FILE
    | landlock.MAKE_DIR | landlock.REFER
)  # fmt: skip


class SandboxSettingsError(ValueError):
    """A ``[sandbox]`` value is not one the plugin understands (the command is then refused)."""


@dataclass(frozen=True)
class SandboxSettings:
    """The ``[sandbox]`` section, checked."""

    mode: str = DEFAULT_MODE
    writable_paths: tuple[str, ...] = ()
    network: bool = False
    auto_allow: bool = False
    root_writable: bool = True
    readonly_mounts: bool = True

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> SandboxSettings:
        """Read ``settings["sandbox"]``; raise :class:`SandboxSettingsError` on a bad value."""
        section = (settings or {}).get("sandbox") or {}
        if not isinstance(section, Mapping):
            raise SandboxSettingsError("[sandbox] must be a table")
        mode = section.get("mode", DEFAULT_MODE)
        if mode not in MODES:
            raise SandboxSettingsError(
                f"[sandbox] mode = {mode!r} is not a sandbox mode (use {', '.join(MODES)})"
            )
        paths = section.get("writable_paths", ())
        if isinstance(paths, str) or not all(isinstance(p, str) for p in paths):
            raise SandboxSettingsError("[sandbox] writable_paths must be a list of paths")
        for key in ("network", "auto_allow", "root_writable", "readonly_mounts"):
            if not isinstance(section.get(key, False), bool):
                raise SandboxSettingsError(f"[sandbox] {key} must be true or false")
        return cls(mode, tuple(paths), bool(section.get("network", False)),
                   bool(section.get("auto_allow", False)),
                   bool(section.get("root_writable", True)),
                   bool(section.get("readonly_mounts", True)))  # fmt: skip


@lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The Landlock ABI of this kernel (0: none), asked once per process."""
    return landlock.abi_version()


@dataclass(frozen=True)
class SandboxStatus:
    """What the sandbox enforces for commands on this machine, with these settings."""

    mode: str
    abi: int
    filesystem: bool
    network: bool
    network_allowed: bool
    reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def confines(self) -> bool:
        """True when everything the settings ask for is enforced by the kernel."""
        if self.mode == "off" or not self.filesystem:
            return False
        return self.network_allowed or self.network

    def summary(self) -> str:
        """One line for the run header."""
        if self.mode == "off":
            return "sandbox off: commands can write anywhere you can and reach the network"
        if not self.filesystem:
            return f"no sandbox for commands ({self.reason}); every command asks first"
        what = (
            "writes only in the workspace and temp"
            if self.mode == "workspace-write"
            else ("no writes")
        )
        net = (
            "network allowed"
            if self.network_allowed
            else ("no network" if self.network else "network NOT blocked (Landlock ABI < 4)")
        )
        return f"sandbox {self.mode} (Landlock ABI {self.abi}): {what}, {net}"


def sandbox_status(settings: SandboxSettings) -> SandboxStatus:
    """What is enforced here for ``settings``."""
    if settings.mode == "off":
        return SandboxStatus("off", landlock_abi(), False, False, True)
    abi = landlock_abi()
    if abi < 1:
        return SandboxStatus(settings.mode, 0, False, False, settings.network,
                             reason=landlock.unavailable_reason())  # fmt: skip
    notes = []
    if abi < 2:
        notes.append("Landlock ABI 1: moving files between folders is refused")
    if abi < 3:
        notes.append("Landlock ABI < 3: truncating files is not controlled")
    return SandboxStatus(settings.mode, abi, True, abi >= 4 and not settings.network,
                         settings.network, notes=tuple(notes))  # fmt: skip


def writable_rules(settings: SandboxSettings, workspace: Path) -> list[tuple[str, int]]:
    """The ``(path, rights)`` a command may write under ``settings`` in ``workspace``.

    ``workspace-write``: the workspace, the temp folders, ``writable_paths`` and harmless
    devices. Landlock grants rights to whole trees and cannot take a file out of one, so with
    ``root_writable = false`` the workspace folder itself gets no rule: instead every entry
    except the agent's configuration (:data:`PROTECTED_ROOT_NAMES`), every entry of ``.git``
    except ``hooks`` and ``config``, and ``.git`` itself for what git writes there (lock files,
    new folders; rights that reach ``hooks`` and ``config`` too, which the guard covers).
    Regular files with other hard links are skipped: a rule on one would reach every name of it.
    ``read-only``: the devices only.
    """
    rules: list[tuple[str, int]] = [(device, landlock.WRITE_FILE | landlock.TRUNCATE)
                                    for device in _DEVICES]  # fmt: skip
    if settings.mode != "workspace-write":
        return rules
    if settings.root_writable:
        rules.append((str(workspace), _FULL))
    else:
        rules += _entries(workspace, PROTECTED_ROOT_NAMES)
        git = workspace / ".git"
        if git.is_dir() and not git.is_symlink():
            rules.append((str(git), _GIT_DIR))
            rules += _entries(git, PROTECTED_GIT_NAMES)
    for temp in shared_temp_dirs(workspace):
        rules.append((temp, _FULL))
    rules.append((private_temp_dir(), _FULL))
    for extra in settings.writable_paths:
        path = os.path.expanduser(extra)
        if not os.path.isabs(path):
            path = os.path.join(workspace, path)
        rules.append((os.path.realpath(path), _FULL))
    return rules


def shared_temp_dirs(workspace: Path) -> list[str]:
    """The system temp folders commands may write, leaving out any that holds the workspace
    (a rule on it would reach the workspace's protected files)."""
    found = []
    for temp in sorted({tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}):
        real = os.path.realpath(temp)
        if not os.path.isdir(real):
            continue
        inside = os.path.commonpath([real, str(workspace)]) == real
        if not inside:
            found.append(real)
    return found


@lru_cache(maxsize=1)
def private_temp_dir() -> str:
    """A temp folder of this Allos process for commands (``TMPDIR``), removed at exit."""
    import atexit
    import shutil

    path = tempfile.mkdtemp(prefix="allos-shell-")
    atexit.register(shutil.rmtree, path, True)
    return path


def _entries(folder: Path, protected: frozenset[str]) -> list[tuple[str, int]]:
    rules: list[tuple[str, int]] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return rules
    for entry in entries:
        if entry.name in protected:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        import stat

        if stat.S_ISDIR(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_nlink == 1):
            rules.append((entry.path, _FULL))
    return rules


def launcher_spec(
    settings: SandboxSettings,
    status: SandboxStatus,
    workspace: Path,
    *,
    linger: float,
    grace: float,
    status_fd: int | None,
) -> dict[str, Any]:
    """The JSON the launcher reads for one command."""
    spec: dict[str, Any] = {"linger": linger, "grace": grace, "status_fd": status_fd}
    if status.filesystem:
        spec.update(
            landlock=True,
            writable=writable_rules(settings, workspace),
            block_tcp=not settings.network,
        )
        if settings.mode == "workspace-write" and settings.readonly_mounts:
            # read-only mounts hold only under Landlock, which forbids undoing them
            spec["protect"] = protected_paths(workspace)
    return spec


def protected_paths(workspace: Path) -> list[str]:
    """The agent's configuration in ``workspace``, made read-only by mounts where possible."""
    names = [*sorted(PROTECTED_ROOT_NAMES - {".git"})]
    names += [f".git/{name}" for name in sorted(PROTECTED_GIT_NAMES)]
    return [str(workspace / name) for name in names]


def launcher_argv(spec_json: str, argv: list[str]) -> list[str]:
    """``python -I -S launcher.py SPEC -- argv``: the launcher without site-packages (fast)."""
    launcher = Path(__file__).with_name("launcher.py")
    return [sys.executable, "-I", "-S", str(launcher), spec_json, "--", *argv]


def probe_readonly_mounts() -> bool:
    """Whether the launcher can make a file read-only here (runs it once; for status output)."""
    import json
    import subprocess

    if not can_launch() or landlock_abi() < 1:
        return False
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "probe"
        target.write_text("")
        spec = {"protect": [str(target)], "landlock": True, "writable": [], "status_fd": 1}
        try:
            done = subprocess.run(launcher_argv(json.dumps(spec), ["true"]), capture_output=True,
                                  text=True, timeout=10)  # fmt: skip
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            return False
    return bool(report.get("protected"))


def can_launch() -> bool:
    """Whether commands go through the launcher (Linux: subreaper and Landlock need it)."""
    return sys.platform.startswith("linux") and Path("/proc/self/stat").exists()
