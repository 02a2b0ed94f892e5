"""The README's two commands: what CI runs, and safe on a Python that refuses pip installs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_the_readme_has_exactly_the_demo_and_the_test_command():
    demo, tests = _readme_commands()
    assert demo.endswith("uv run allos demo")
    assert tests.endswith("uv run --frozen pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in ci


def test_neither_command_installs_into_the_base_python():
    # PEP 668: a system Python (Debian, Ubuntu, Homebrew) refuses `python3 -m pip install`;
    # every pip install must go into the private virtual environment
    for command in _readme_commands():
        for step in command.split("&&"):
            words = step.split()
            if "pip" in words:
                assert words[0] != "python3", f"installs into the base Python: {step.strip()}"
