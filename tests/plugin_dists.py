"""Helpers that fake installed plugin distributions for discovery tests."""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_distribution(
    root: Path, dist: str, module: str, source: str, *, group: str = "allos.tools", ep_name=None
) -> Path:
    """Write an installed-looking distribution (module + .dist-info with an entry point) in root.

    Put ``root`` on ``sys.path`` (or PYTHONPATH for a subprocess) and importlib.metadata finds it.
    """
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{group}]\n{ep_name or module} = {module}\n", encoding="utf-8"
    )
    return root
