"""`allos plugins list`, `allos providers list`, `allos tools list`, `--version`, and startup cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugin_dists import make_distribution

from allos_core.cli.main import cli


def run_allos(*args: str, pythonpath: Path | None = None, **env: str):
    environment = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env}
    if pythonpath:
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), environment.get("PYTHONPATH", "")]
        )
    return subprocess.run(
        [sys.executable, "-m", "allos_core.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


@pytest.fixture
def broken_site(tmp_path):
    make_distribution(tmp_path, "broken-plugin", "broken_plugin", "import no_such_module_here\n")
    make_distribution(
        tmp_path,
        "echo-tools",
        "echo_tools",
        """
        from allos_core import hookimpl, tool

        @tool(read_only=True)
        def echo(text: str) -> str:
            '''Echo the text back.

            Args:
                text: What to echo.
            '''
            return text

        @hookimpl
        def allos_tools():
            return [echo]
        """,
    )
    make_distribution(
        tmp_path,
        "zz-echo-clone",
        "echo_clone",
        """
        from allos_core import hookimpl, tool

        @hookimpl
        def allos_tools():
            return [tool(lambda text: text, name="echo")]
        """,
    )
    return tmp_path


def test_plugins_list_json_has_stable_keys():
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    scripted = next(p for p in data["plugins"] if p["name"] == "scripted")
    assert scripted == {
        "name": "scripted",
        "distribution": "allos-core",
        "version": scripted["version"],
        "group": "allos.providers",
        "module": "allos_core.testing",
        "providers": ["scripted"],
        "tools": [],
        "commands": [],
        "batch_backends": [],
        "hooks": ["providers"],
        "status": "ok",
        "error": None,
    }
    assert data["conflicts"] == []


def test_a_broken_plugin_is_shown_and_every_command_keeps_working(broken_site):
    listing = run_allos("plugins", "list", pythonpath=broken_site)
    assert listing.returncode == 0, listing.stderr
    assert "broken_plugin" in listing.stdout and "failed" in listing.stdout
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in listing.stdout
    assert "Traceback" not in listing.stdout + listing.stderr

    verbose = run_allos("plugins", "list", "--verbose", pythonpath=broken_site)
    assert "Traceback (most recent call last)" in verbose.stdout

    data = json.loads(run_allos("plugins", "list", "--json", pythonpath=broken_site).stdout)
    statuses = {p["name"]: p["status"] for p in data["plugins"]}
    assert statuses["broken_plugin"] == "failed"
    assert statuses["echo_tools"] == statuses["echo_clone"] == "conflict"
    assert data["conflicts"] == [
        "tool 'echo' is offered by both echo-tools (plugin echo_tools) and zz-echo-clone "
        '(plugin echo_clone); pick one with [plugins.tools] echo = "echo-tools" or '
        '[plugins.tools] echo = "zz-echo-clone" in your config file'
    ]

    tools = run_allos("tools", "list", "--json", pythonpath=broken_site)
    assert tools.returncode == 0
    listed = {t["name"] for t in json.loads(tools.stdout)["tools"]}
    assert "echo" not in listed, "a name two plugins claim goes to neither until the user picks"
    assert "conflict" in tools.stderr

    assert run_allos("providers", "list", pythonpath=broken_site).returncode == 0
    assert run_allos("--version", pythonpath=broken_site).returncode == 0


def test_a_plugin_can_be_switched_off_by_environment(broken_site):
    data = json.loads(
        run_allos(
            "plugins",
            "list",
            "--json",
            pythonpath=broken_site,
            ALLOS_DISABLE_PLUGINS="broken-plugin",
        ).stdout
    )
    broken = next(p for p in data["plugins"] if p["name"] == "broken_plugin")
    assert broken["status"] == "disabled" and broken["error"] == "by ALLOS_DISABLE_PLUGINS"


def test_version_lists_core_and_plugins():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("allos-core ")


def test_providers_list_never_prints_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    result = CliRunner().invoke(cli, ["providers", "list", "--json"])
    assert result.exit_code == 0
    assert "sk-very-secret-value" not in result.output
    names = [p["name"] for p in json.loads(result.stdout)["providers"]]
    assert "scripted" in names


CHECK_IMPORTS = """
import sys
{code}
heavy = [m for m in ("openai", "anthropic", "ollama", "google.genai", "httpx") if m in sys.modules]
print(",".join(heavy) or "none")
"""


def test_loading_every_plugin_imports_no_sdk():
    code = (
        "from allos_core.plugins import create_plugin_manager\n"
        "m = create_plugin_manager(); m.plugins(); m.tools(); m.providers()"
    )
    out = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS.format(code=code)], capture_output=True, text=True
    )
    assert out.stdout.strip() == "none", out.stderr


def test_help_imports_neither_pydantic_nor_rich():
    code = (
        "from allos_core.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules, 'rich' in sys.modules, file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS.format(code=code)], capture_output=True, text=True
    )
    assert out.stderr.strip() == "False False", out.stderr


def test_a_plugin_can_add_a_command(tmp_path):
    make_distribution(
        tmp_path,
        "allos-hello",
        "allos_hello",
        """
        import click
        from allos_core import hookimpl

        @click.command()
        @click.argument("who")
        def hello(who):
            "Say hello."
            click.echo(f"hello {who}")

        @hookimpl
        def allos_cli_commands():
            return [hello]
        """,
    )
    result = run_allos("hello", "world", pythonpath=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello world\n"
    listing = json.loads(run_allos("plugins", "list", "--json", pythonpath=tmp_path).stdout)
    hello = next(p for p in listing["plugins"] if p["name"] == "allos_hello")
    assert hello["commands"] == ["hello"]
    unknown = run_allos("nope", pythonpath=tmp_path)
    assert unknown.returncode == 2 and "No such command 'nope'" in unknown.stderr
