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


#: the file tools that change files
_WRITERS = ("write_file", "edit_file")


@hookimpl
def allos_check_permission(call, tool, args, subject, context):  # type: ignore[no-untyped-def,unused-ignore]
    """Deny a write to the agent's configuration or git hooks that a broad allow rule would pass.

    Asked writes (no allow rule) and rules naming the exact path (``write_file(AGENTS.md)``)
    are left to the user; ``write_file`` or ``write_file(*)`` alone does not reach them.
    """
    name = getattr(tool, "name", None)
    raw = getattr(args, "path", None)
    if name not in _WRITERS or not isinstance(raw, str):
        return None
    from allos_core.permissions import PermissionDecision
    from allos_core.protected_paths import protected_reason

    for relative in context.path_subjects(raw):
        reason = protected_reason(relative)
        if reason is None:
            continue
        rule = context.allowing_rule(name, relative)
        if rule is None or rule.replace(" ", "") == f"{name}({relative})":
            continue
        return PermissionDecision.deny(
            f"{reason}; the rule {rule!r} is too broad to allow writing it: allow the exact path "
            f"with --allow '{name}({relative})', or make the change yourself",
            source="allos-fs",
        )
    return None
