"""Argument models of the allos-shell tools (pydantic; imported only when a tool is first validated)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from allos_shell.limits import DEFAULT_TIMEOUT, MAX_TIMEOUT


class ShellExecArgs(BaseModel):
    """Arguments of ``shell_exec``."""

    model_config = ConfigDict(extra="forbid")

    command: str = Field(
        min_length=1,
        description="The command line to run with bash, in the workspace folder.",
    )
    timeout: int = Field(
        DEFAULT_TIMEOUT,
        ge=1,
        le=MAX_TIMEOUT,
        description=f"Seconds before the command and every process it started are killed "
        f"(1 to {MAX_TIMEOUT}).",
    )
