"""The file tools this plugin offers, one instance each.

``read_file``, ``write_file``, ``edit_file``, ``list_directory``, ``glob`` and ``grep``. Every
path goes through :meth:`allos_core.tools.ToolContext.resolve_path`, so nothing outside the
workspace is read or written.
"""

from __future__ import annotations

from allos_core.tools import Tool
from allos_fs.listing import ListDirectory
from allos_fs.read import ReadFile
from allos_fs.search import Glob, Grep
from allos_fs.write import EditFile, WriteFile

read_file = ReadFile()
write_file = WriteFile()
edit_file = EditFile()
list_directory = ListDirectory()
glob = Glob()
grep = Grep()

__all__ = [
    "EditFile",
    "Glob",
    "Grep",
    "ListDirectory",
    "ReadFile",
    "WriteFile",
    "all_tools",
    "edit_file",
    "glob",
    "grep",
    "list_directory",
    "read_file",
    "write_file",
]


def all_tools() -> list[Tool]:
    """The six file tools, in the order they are best presented to a model."""
    return [read_file, write_file, edit_file, list_directory, glob, grep]
