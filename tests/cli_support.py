"""Helpers shared by the CLI tests: scripts for the scripted provider, runners, environments."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from allos_core.cli.main import cli
from allos_core.cli.ui import reset_consoles

#: the installed console script next to this interpreter (the one a user runs)
ALLOS = str(Path(sys.executable).with_name("allos"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: an environment in which no provider is configured (no keys, no reachable Ollama)
NO_PROVIDER_ENV = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "ANTHROPIC_API_KEY": None,
    "ANTHROPIC_BASE_URL": None,
    "GEMINI_API_KEY": None,
    "GOOGLE_API_KEY": None,
    "GOOGLE_GEMINI_BASE_URL": None,
    "GOOGLE_GENAI_USE_VERTEXAI": None,
    "OLLAMA_HOST": "http://127.0.0.1:9",
}


def write_script(folder: Path, turns: list[Any], name: str = "script.json") -> Path:
    """A script file for ``-p scripted -m FILE``."""
    path = folder / name
    path.write_text(json.dumps(turns), encoding="utf-8")
    return path


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """One scripted tool call."""
    return {"name": name, "arguments": arguments}


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in-process with click's runner (stdout and stderr kept apart)."""
    reset_consoles()
    runner = CliRunner()
    environment = {"NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    try:
        return runner.invoke(cli, list(args), input=input, env=environment, catch_exceptions=False)
    finally:
        reset_consoles()


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment for ``allos`` subprocesses that keeps away from the real user's files."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ALLOS_", "OPENAI_", "ANTHROPIC_", "OLLAMA_", "GEMINI_", "GOOGLE_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        ALLOS_SESSIONS_DIR=str(home / "sessions"),
        ALLOS_CONFIG_FILE=str(home / "config.toml"),
        OLLAMA_HOST="http://127.0.0.1:9",  # nothing listens there: no local Ollama is found
        NO_COLOR="1",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
        # compiled modules go to a private cache (not the venv), so each run after the first
        # starts fast even where PYTHONDONTWRITEBYTECODE is set
        PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / f"allos-tests-pycache-{os.getuid()}"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def run_allos(
    *args: str,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``allos`` as a user would; stdin is /dev/null unless ``input`` is given."""
    return subprocess.run(
        [ALLOS, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,  # a safety net: nothing here should wait
        stdin=subprocess.DEVNULL if input is None else None,
        input=input,
    )
