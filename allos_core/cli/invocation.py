"""How the user can run ``allos`` again from their shell, for commands we print as next steps.

After ``python3 -m uv run allos demo`` there is no ``allos`` on the user's PATH, so a hint that
says ``allos sessions show ...`` cannot be run as printed. :func:`allos_command` gives the words
that work where the user is.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path


def allos_command(environ: Mapping[str, str] | None = None, argv0: str | None = None) -> str:
    """The command that runs this allos from the user's shell.

    ``allos`` when the ``allos`` on PATH is the one running; under ``uv run``, ``uv run allos``
    (or ``PYTHON -m uv run allos`` when uv was installed into a Python with pip, as the README
    does); else this interpreter with ``-m allos_core``.
    """
    environ = os.environ if environ is None else environ
    argv0 = sys.argv[0] if argv0 is None else argv0
    uv = environ.get("UV")
    if uv:
        # `uv run` put the project environment first on PATH; the user's shell has not
        ours = os.path.dirname(sys.executable)
        path = os.pathsep.join(
            p for p in environ.get("PATH", "").split(os.pathsep) if p and os.path.abspath(p) != ours
        )
        python = _python_beside(Path(uv).parent, {**environ, "PATH": path})
        return f"{python} -m uv run allos" if python else "uv run allos"
    on_path = shutil.which("allos", path=environ.get("PATH"))
    if on_path and _same(on_path, argv0):
        return "allos"
    return f"{shlex.quote(sys.executable)} -m allos_core"


def _python_beside(folder: Path, environ: Mapping[str, str]) -> str | None:
    """How to name the Python that uv was installed into with pip (None: a standalone uv).

    ``python3`` when that is the one on PATH, a path relative to the current folder when it is
    inside it (the README's ``.venv/bin/python``), else the full path.
    """
    for name in ("python3", "python"):
        candidate = folder / name
        if not candidate.exists():
            continue
        on_path = shutil.which(name, path=environ.get("PATH"))
        # compared as paths, not as files: two virtual environments' pythons are links to the
        # same binary, and only the one uv was installed into can run `-m uv`
        if on_path and os.path.abspath(on_path) == os.path.abspath(candidate):
            return name
        try:
            return shlex.quote(str(candidate.relative_to(Path.cwd())))
        except ValueError:
            return shlex.quote(str(candidate))
    return None


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
