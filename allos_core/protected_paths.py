"""The agent's own configuration inside a workspace: files a model must not change unseen.

``allos.toml``, ``ALLOS.md``, ``AGENTS.md`` and ``.mcp.json`` at the top of the workspace give
the next run rules, instructions and servers; ``.git/config`` and ``.git/hooks`` hold code git
runs later, outside any sandbox. The command sandbox keeps commands off them
(``allos_shell.sandbox.guard``); the file tools use :func:`protected_reason` so that a broad
``allow`` rule (``write_file``, ``write_file(*)``) does not let a model plant them.
"""

from __future__ import annotations

#: workspace-relative files that configure the agent or git
PROTECTED_FILES = frozenset(
    {"allos.toml", "ALLOS.md", "AGENTS.md", ".mcp.json", ".git/config", ".git/commondir",
     ".git/config.worktree"}
)  # fmt: skip
#: workspace-relative folders whose whole content is protected
PROTECTED_DIRS = (".git/hooks",)


def protected_reason(relative: str) -> str | None:
    """Why the workspace-relative path ``relative`` is protected, or None when it is not."""
    path = relative.replace("\\", "/").strip("/")
    while path.startswith("./"):
        path = path[2:]
    if path in PROTECTED_FILES:
        return f"{path} configures the agent or git"
    if path == ".git":
        return ".git is the repository's own folder"
    for folder in PROTECTED_DIRS:
        if path == folder or path.startswith(folder + "/"):
            return f"{path} is a git hook (git runs it outside the sandbox)"
    return None
