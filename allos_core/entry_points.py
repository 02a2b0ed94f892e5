"""Finding the plugins' entry points quickly: the ``entry_points.txt`` files on ``sys.path``.

``importlib.metadata.entry_points()`` is correct but slow for a command that must start fast
(``allos plugins list`` loads every plugin): it imports the email parser, zip support and more,
and parses every installed distribution. The entry points of a group are plain INI lines in
``*.dist-info/entry_points.txt`` (or ``*.egg-info``), so this module reads just those files,
and the name and version from the first lines of ``METADATA`` / ``PKG-INFO``. As with
``importlib.metadata``, the first distribution of a name on ``sys.path`` wins.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_INFO_SUFFIXES = (".dist-info", ".egg-info")


@dataclass(frozen=True)
class EntryPoint:
    """One entry point: ``name = value`` in ``group``, from distribution ``dist`` ``version``."""

    name: str
    value: str
    group: str
    dist: str
    version: str | None

    def load(self) -> Any:
        """Import the module (and the attribute, for ``module:attr``) the entry point names."""
        import importlib

        module_name, _, attribute = self.value.partition(":")
        target: Any = importlib.import_module(module_name.strip())
        attribute = attribute.split("[", 1)[0].strip()  # drop "[extras]"
        for part in filter(None, attribute.split(".")):
            target = getattr(target, part)
        return target


def entry_points(groups: Iterable[str], path: list[str] | None = None) -> list[EntryPoint]:
    """Every entry point of ``groups`` in the distributions found on ``path`` (``sys.path``)."""
    wanted = set(groups)
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for folder in sys.path if path is None else path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:  # a zip file, a missing folder
            continue
        for entry in names:
            if not entry.endswith(_INFO_SUFFIXES):
                continue
            key = _normalise(entry.rsplit(".", 1)[0].split("-", 1)[0])
            if key in seen:
                continue
            seen.add(key)
            info = os.path.join(folder or ".", entry)
            points = _read_entry_points(os.path.join(info, "entry_points.txt"), wanted)
            if not points:
                continue
            dist, version = _name_and_version(info)
            found.extend(
                EntryPoint(name, value, group, dist or key, version)
                for group, name, value in points
            )
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _read_entry_points(file: str, wanted: set[str]) -> list[tuple[str, str, str]]:
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []
    points = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
        elif group in wanted and "=" in line:
            name, _, value = line.partition("=")
            points.append((group, name.strip(), value.strip()))
    return points


def _name_and_version(info: str) -> tuple[str | None, str | None]:
    """The ``Name`` and ``Version`` headers from the first lines of the metadata file."""
    name = version = None
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, file), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break  # end of the headers
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    if name and version:
                        break
        except (OSError, UnicodeDecodeError):
            continue
        break
    return name, version
