"""allos-fs: the Allos file tools, sandboxed to the workspace.

``read_file``, ``write_file``, ``edit_file``, ``list_directory``, ``glob`` and ``grep``. Importing
this module is cheap: the tools (and pydantic, pathspec) load only when the hook is called.
"""

from __future__ import annotations

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def allos_tools():  # type: ignore[no-untyped-def,unused-ignore]
    """The six file tools."""
    from allos_fs.tools import all_tools

    return all_tools()
