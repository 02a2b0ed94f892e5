"""Benchmark the allos-fs search tools on a generated tree of about 10,000 files.

The tree looks like a real project: a source tree with nested ``.gitignore`` files, plus
gitignored ``node_modules/``, ``build/`` and ``.venv/`` folders holding most of the files, and a
``.git/`` folder. Each tool runs through ``tool.invoke`` exactly as the agent calls it; the figure
is the median of several runs, in milliseconds.

    python bench/bench_fs.py [--runs 7] [--tmp DIR]

The tree goes in a RAM disk (``/dev/shm``) when there is one, so generating it is quick; pass
``--tmp`` to use another place.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from allos_fs.tools import glob, grep, list_directory

from allos_core.tools import ToolContext

PY_TEMPLATE = '''"""Module {name}."""

import os


def handle_{name}(request):
    """Handle one request."""
    value = request.get("{name}")
    return value


class Model{index}:
    size = {index}
'''


def generate(root: Path) -> dict[str, int]:
    """Write the tree; return how many files of each kind it holds."""
    counts = {"source": 0, "ignored": 0, "git": 0}

    def write(rel: str, text: str, kind: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        counts[kind] += 1

    write(".gitignore", "node_modules/\nbuild/\n.venv/\n*.log\n__pycache__/\n", "source")
    for pkg in range(40):
        base = f"src/pkg{pkg:02d}"
        if pkg % 5 == 0:  # nested .gitignore files
            write(f"{base}/.gitignore", "*.tmp\ncache/\n!keep.tmp\n", "source")
            for n in range(10):
                write(f"{base}/cache/c{n}.py", "def handle_cached(): pass\n", "ignored")
            write(f"{base}/scratch.tmp", "handle_tmp\n", "ignored")
            write(f"{base}/keep.tmp", "kept\n", "source")
        for sub in range(4):
            for n in range(30):
                name = f"p{pkg}_s{sub}_f{n}"
                write(
                    f"{base}/mod{sub}/{name}.py", PY_TEMPLATE.format(name=name, index=n), "source"
                )
            write(f"{base}/mod{sub}/README.md", f"# mod{sub}\n", "source")
            write(f"{base}/mod{sub}/run.log", "log\n", "ignored")
            write(f"{base}/mod{sub}/__pycache__/x.pyc", "\x00bytecode", "ignored")
    for lib in range(180):
        for n in range(25):
            write(f"node_modules/lib{lib}/dist/f{n}.js", "function handle_js() {}\n", "ignored")
    for n in range(300):
        write(f"build/out/gen{n}.py", "def handle_build(): pass\n", "ignored")
    for n in range(300):
        write(f".venv/lib/site-packages/pkg/m{n}.py", "def handle_venv(): pass\n", "ignored")
    for n in range(200):
        write(f".git/objects/{n:02x}/obj", "blob", "git")
    return counts


def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    default_tmp = (
        "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    )
    parser.add_argument("--tmp", default=default_tmp, help="where to build the tree")
    options = parser.parse_args()

    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="allos-bench-fs-", dir=options.tmp) as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        counts = generate(root)
        total = sum(counts.values())
        print(f"tree: {root}  ({total} files written in {time.perf_counter() - started:.1f} s)")
        print(
            f"  {counts['source']} visible source files, {counts['ignored']} gitignored, "
            f"{counts['git']} under .git/"
        )
        context = ToolContext(workspace=root)

        def invoke(tool, **arguments):  # type: ignore[no-untyped-def]
            result = loop.run_until_complete(tool.invoke(arguments, context))
            assert not result.is_error, result.content
            return result

        def walk_all() -> None:
            for _ in os.walk(root):
                pass

        cases = [
            ("os.walk, every file (reference)", walk_all, None),
            ('glob("**/*.py")', lambda: invoke(glob, pattern="**/*.py"), "matches"),
            (
                'glob("src/pkg07/**/*.md")',
                lambda: invoke(glob, pattern="src/pkg07/**/*.md"),
                "matches",
            ),
            (
                r'grep("def handle_p1_s2_f\d+") (few hits, scans all)',
                lambda: invoke(grep, pattern=r"def handle_p1_s2_f\d+"),
                "matches",
            ),
            (
                'grep("no_such_text_anywhere") (no hits)',
                lambda: invoke(grep, pattern="no_such_text_anywhere"),
                "matches",
            ),
            (
                'grep("Model", glob="*.md") (filtered)',
                lambda: invoke(grep, pattern="Model", glob="*.md"),
                "matches",
            ),
            (
                "list_directory(recursive=True)",
                lambda: invoke(list_directory, recursive=True),
                "entries",
            ),
            (
                'list_directory("src/pkg03")',
                lambda: invoke(list_directory, path="src/pkg03"),
                "entries",
            ),
        ]
        print(f"\nmedian of {options.runs} runs (ms), through tool.invoke:")
        for label, fn, key in cases:
            result = fn()  # warm-up, and the counts
            ms = median_ms(fn, options.runs)
            extra = f"  [{key}: {result.metadata[key]}]" if key else ""
            print(f"  {label:<52} {ms:8.1f}{extra}")
    loop.close()


if __name__ == "__main__":
    main()
