"""allos-web: ``web_fetch`` and ``web_search`` for Allos.

Importing this module is cheap: the tools, httpcore and the HTML converter load only when a hook
is called or a tool runs. Network access is a permission subject (``domain:HOST`` for
``web_fetch``, the query for ``web_search``), asked about by default; private, loopback and
link-local addresses are refused unless a rule names them (see :mod:`allos_web.netguard`).
"""

from __future__ import annotations

from typing import Any

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def allos_tools() -> list[Any]:
    """``web_fetch`` and ``web_search``."""
    from allos_web.tools import TOOLS

    return list(TOOLS)
