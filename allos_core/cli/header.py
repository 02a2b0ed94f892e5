"""The run header: what the project contributed to the agent's instructions.

Printed (on stderr, dim) when a run or a chat starts, so the user sees which instruction files
(``ALLOS.md`` / ``AGENTS.md``) were loaded into the system prompt, which were skipped and why, and
whether the workspace's ``allos.toml`` added to the system prompt.
"""

from __future__ import annotations

from typing import Any


def header_lines(setup: Any) -> list[str]:
    """One line per fact worth showing (empty when the project contributed nothing)."""
    from allos_core.prompts import find_project_instructions

    settings = setup.settings
    agent = setup.agent
    lines: list[str] = []
    if settings.system_prompt is None:
        files = find_project_instructions(agent.workspace)
        loaded = [item.name for item in files if item.text is not None]
        if loaded:
            lines.append(f"instructions: {', '.join(loaded)}")
        for item in files:
            if item.skipped:
                lines.append(f"instructions: {item.name} not loaded: {item.skipped}")
    append = settings.append_system_prompt
    source = settings.source("append_system_prompt")
    if append and source.startswith("workspace file"):
        lines.append(f"system prompt: {len(append)} characters appended by the {source}")
    return lines
