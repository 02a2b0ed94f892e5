"""The files in examples/ and the packaged demo stay valid."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

from cli_support import invoke

from allos_core.cli import demo
from allos_core.config import read_config_file

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_is_valid():
    data = read_config_file(ROOT / "examples" / "allos.toml")
    assert data["provider"] == "openai"
    assert "shell_exec(pytest*)" in data["permissions"]["allow"]


def test_embed_agent_example_runs_offline(capsys):
    runpy.run_path(str(ROOT / "examples" / "embed_agent.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "answered - There are 3 words" in out
    assert "count.txt: 3" in out
    assert "allow (rule write_file(count.txt))" in out


def test_demo_files_are_inside_the_package():
    # package data, so `allos demo` works from an installed wheel too
    assert demo.PROJECT.is_dir() and demo.SCRIPT.is_file()
    assert demo.DEMO_DIR.parent.name == "allos_core"
    assert (demo.PROJECT / "textstats" / "stats.py").is_file()
    assert "median" in demo.demo_task()


def test_demo_prepare_copies_without_caches(tmp_path, monkeypatch):
    source = tmp_path / "source"
    shutil.copytree(demo.PROJECT, source)
    (source / "textstats" / "__pycache__").mkdir(exist_ok=True)
    (source / "textstats" / "__pycache__" / "stats.cpython-311.pyc").write_bytes(b"")
    monkeypatch.setattr(demo, "PROJECT", source)
    root, project, script = demo.prepare(str(tmp_path / "d"))
    assert (project / "textstats" / "stats.py").is_file()
    assert not list(project.rglob("__pycache__"))
    assert "{python}" not in script.read_text()
    assert demo.python_command() in script.read_text()


def test_demo_says_what_to_install_when_tools_are_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLOS_DISABLE_PLUGINS", "allos-shell")
    result = invoke("demo", "--dir", str(tmp_path / "d"))
    assert result.exit_code == 2
    assert "the demo needs the tools shell_exec" in result.stderr
    assert "allos-shell is installed but disabled" in result.stderr  # not "pip install"
    assert not (tmp_path / "d").exists()
