"""Every distribution ships a py.typed marker, so type checkers use its annotations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECTS = [
    ROOT,
    *sorted((ROOT / "plugins").glob("allos-*")),
    *sorted((ROOT / "examples").glob("allos-*")),
]


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_every_wheel_package_has_a_py_typed_marker(project):
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in packages:  # hatchling puts every file of these folders in the wheel
        assert (project / package / "py.typed").is_file(), f"{project.name}: {package}/py.typed"
