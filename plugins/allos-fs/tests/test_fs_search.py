"""list_directory, glob and grep: ordering, .gitignore (root and nested), caps, errors."""

from __future__ import annotations

from allos_fs import listing, search
from allos_fs.ignore import walk
from allos_fs.patterns import compile_glob, expand_braces
from allos_fs.tools import glob, grep, list_directory

from allos_core.tools import ToolContext
from allos_core.workspace_fs import WorkspaceFS


def make_tree(root, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


PROJECT = {
    ".gitignore": "node_modules/\n*.log\nbuild/\n/secret.txt\n",
    ".env": "TOKEN=abc\n",
    ".git/config": "[core]\nneedle\n",
    "README.md": "# needle project\n",
    "secret.txt": "needle in root secret\n",
    "debug.log": "needle log\n",
    "node_modules/pkg/index.js": "needle();\n",
    "build/out.py": "needle = 1\n",
    "src/app.py": "import os\n\ndef needle():\n    return 'NEEDLE'\n",
    "src/util.py": "x = 1\n",
    "src/secret.txt": "only the root one is ignored: needle\n",
    "src/.hidden.py": "needle = 'hidden'\n",
    "docs/.gitignore": "*.tmp\n!keep.tmp\ndrafts/\n",
    "docs/guide.md": "needle guide\n",
    "docs/a.tmp": "needle tmp\n",
    "docs/keep.tmp": "needle kept\n",
    "docs/drafts/d.md": "needle draft\n",
    "logs/.gitignore": "!important.log\n",
    "logs/important.log": "needle important\n",
    "logs/other.log": "needle other\n",
}


# -- list_directory -------------------------------------------------------------------------------


async def test_list_shows_folders_first_then_files_with_sizes(ws, call):
    make_tree(ws, {"b.txt": "12345", "a.txt": "", "zdir/x": "", "adir/y": "", ".hidden": "h"})
    (ws / "link").symlink_to("a.txt")
    result = await call(list_directory, ws)
    assert result.content.split("\n") == [
        "adir/",
        "zdir/",
        ".hidden  (1 B)",
        "a.txt  (0 B)",
        "b.txt  (5 B)",
        "link -> a.txt",
    ]


async def test_recursive_list_skips_hidden_and_ignored_entries(ws, call):
    make_tree(ws, PROJECT)
    result = await call(list_directory, ws, recursive=True)
    names = [line.split("  (")[0] for line in result.content.split("\n")]
    assert names == [
        "docs/",
        "docs/guide.md",
        "docs/keep.tmp",
        "logs/",
        "logs/important.log",
        "src/",
        "src/app.py",
        "src/secret.txt",
        "src/util.py",
        "README.md",
    ]


async def test_recursive_list_of_a_subfolder_applies_the_root_gitignore(ws, call):
    make_tree(ws, PROJECT)
    result = await call(list_directory, ws, path="logs", recursive=True)
    assert result.content == "logs/important.log  (17 B)"


async def test_list_cap_says_how_many_more(ws, call, monkeypatch):
    monkeypatch.setattr(listing, "MAX_ENTRIES", 5)
    make_tree(ws, {f"f{n:02d}.txt": "" for n in range(12)})
    result = await call(list_directory, ws)
    lines = result.content.split("\n")
    assert lines[:5] == [f"f{n:02d}.txt  (0 B)" for n in range(5)]
    assert lines[5].startswith("[… and 7 more entries not shown (12 in all).")
    assert result.metadata["truncated"] is True


async def test_list_errors_and_empty(ws, call):
    make_tree(ws, {"f.txt": "x"})
    (ws / "empty").mkdir()
    assert (await call(list_directory, ws, path="f.txt")).content.endswith(
        "use read_file to read it"
    )
    assert "no such folder" in (await call(list_directory, ws, path="nope")).content
    assert "empty folder" in (await call(list_directory, ws, path="empty")).content


# -- glob -----------------------------------------------------------------------------------------


async def test_glob_is_gitignore_aware_and_sorted(ws, call):
    make_tree(ws, PROJECT)
    result = await call(glob, ws, pattern="**/*")
    assert result.content.split("\n") == [
        ".env",
        ".gitignore",
        "README.md",
        "docs/.gitignore",
        "docs/guide.md",
        "docs/keep.tmp",
        "logs/.gitignore",
        "logs/important.log",
        "src/.hidden.py",
        "src/app.py",
        "src/secret.txt",
        "src/util.py",
    ]


async def test_glob_patterns(ws, call):
    make_tree(ws, PROJECT | {"top.py": "", "src/sub/deep.py": "", "src/sub/deep.pyc": ""})
    py = await call(glob, ws, pattern="**/*.py")
    assert py.content.split("\n") == [
        "src/.hidden.py",
        "src/app.py",
        "src/sub/deep.py",
        "src/util.py",
        "top.py",
    ]
    top = await call(glob, ws, pattern="*.py")
    assert top.content == "top.py"
    under = await call(glob, ws, pattern="src/**/*.py")
    assert "top.py" not in under.content and "src/sub/deep.py" in under.content
    relative = await call(glob, ws, pattern="*.py", path="src")
    assert relative.content.split("\n") == ["src/.hidden.py", "src/app.py", "src/util.py"]
    braces = await call(glob, ws, pattern="**/*.{md,tmp}")
    assert braces.content.split("\n") == ["README.md", "docs/guide.md", "docs/keep.tmp"]
    explicit = await call(glob, ws, pattern="node_modules/**/*.js")
    assert explicit.content == "node_modules/pkg/index.js"


async def test_glob_no_match_hints_at_recursive_pattern(ws, call):
    make_tree(ws, {"src/a.py": ""})
    result = await call(glob, ws, pattern="*.py")
    assert not result.is_error
    assert "No files match '*.py'" in result.content and "'**/*.py'" in result.content
    nested = await call(glob, ws, pattern="src/*.txt")
    assert "try 'src/**/*.txt'" in nested.content


async def test_glob_cap(ws, call, monkeypatch):
    monkeypatch.setattr(search, "MAX_GLOB_RESULTS", 3)
    make_tree(ws, {f"d/f{n}.py": "" for n in range(8)})
    result = await call(glob, ws, pattern="**/*.py")
    assert result.content.split("\n")[:3] == ["d/f0.py", "d/f1.py", "d/f2.py"]
    assert "and 5 more matches not shown (8 in all)" in result.content


async def test_glob_refuses_escaping_patterns(ws, call):
    for pattern in ("../*", "/etc/*", "a/../../*"):
        result = await call(glob, ws, pattern=pattern)
        assert result.is_error and "relative" in result.content


# -- grep -----------------------------------------------------------------------------------------


async def test_grep_is_gitignore_aware_and_skips_git(ws, call):
    make_tree(ws, PROJECT)
    result = await call(grep, ws, pattern="needle")
    assert result.content.split("\n") == [
        "README.md:1:# needle project",
        "docs/guide.md:1:needle guide",
        "docs/keep.tmp:1:needle kept",
        "logs/important.log:1:needle important",
        "src/.hidden.py:1:needle = 'hidden'",
        "src/app.py:3:def needle():",
        "src/secret.txt:1:only the root one is ignored: needle",
    ]


async def test_grep_options(ws, call):
    make_tree(ws, PROJECT)
    case = await call(grep, ws, pattern="needle", path="src/app.py", ignore_case=True)
    assert case.content == "src/app.py:3:def needle():\nsrc/app.py:4:    return 'NEEDLE'"
    by_name = await call(grep, ws, pattern="needle", glob="*.{md,tmp}")
    assert by_name.content.split("\n") == [
        "README.md:1:# needle project",
        "docs/guide.md:1:needle guide",
        "docs/keep.tmp:1:needle kept",
    ]
    by_path = await call(grep, ws, pattern="needle", path="docs", glob="**/*.md")
    assert by_path.content == "docs/guide.md:1:needle guide"
    anchored = await call(grep, ws, pattern=r"^\s+return", path="src")
    assert anchored.content == "src/app.py:4:    return 'NEEDLE'"
    lookahead = await call(grep, ws, pattern=r"needle(?!\S)", path="src/app.py", ignore_case=True)
    assert lookahead.is_error and "lookarounds" in lookahead.content  # RE2: linear time
    explicit_ignored = await call(grep, ws, pattern="needle", path="node_modules")
    assert explicit_ignored.content == "node_modules/pkg/index.js:1:needle();"


async def test_grep_word_boundary_and_end_of_line(ws, call):
    make_tree(ws, {"a.txt": "foo\nfoox\n", "b.txt": "x = foo\r\ny\r\n"})
    result = await call(grep, ws, pattern=r"foo\b")
    assert result.content == "a.txt:1:foo\nb.txt:1:x = foo"
    end = await call(grep, ws, pattern=r"foo$")
    assert end.content == "a.txt:1:foo\nb.txt:1:x = foo"


async def test_grep_skips_binary_files_and_replaces_bad_bytes(ws, call):
    (ws / "blob.bin").write_bytes(b"needle\x00\x01")
    (ws / "latin.txt").write_bytes(b"needle caf\xe9\n")
    result = await call(grep, ws, pattern="needle")
    assert result.content == "latin.txt:1:needle caf\ufffd"


async def test_grep_invalid_regex_is_a_clear_error(ws, call):
    result = await call(grep, ws, pattern="foo(bar")
    assert result.is_error
    assert "invalid regular expression 'foo(bar'" in result.content
    assert "backslash" in result.content


async def test_grep_cap_and_long_lines(ws, call, monkeypatch):
    monkeypatch.setattr(search, "MAX_GREP_MATCHES", 4)
    make_tree(ws, {"a.txt": "hit\n" * 10, "b.txt": "hit " + "y" * 1000 + "\n"})
    result = await call(grep, ws, pattern="hit")
    lines = result.content.split("\n")
    assert lines[:4] == ["a.txt:1:hit", "a.txt:2:hit", "a.txt:3:hit", "a.txt:4:hit"]
    assert lines[4].startswith("[Output cut after 4 matching lines; there are more.")
    monkeypatch.setattr(search, "MAX_GREP_MATCHES", 100)
    long = await call(grep, ws, pattern="hit y", path="b.txt")
    assert long.content.endswith(" …[line cut]") and len(long.content) < 500


async def test_grep_no_match_and_missing_path(ws, call):
    make_tree(ws, {"a.txt": "x\n"})
    none = await call(grep, ws, pattern="zzz")
    assert not none.is_error and none.content.startswith("No matches for 'zzz' in the workspace")
    missing = await call(grep, ws, pattern="x", path="nope")
    assert missing.is_error and "no such folder" in missing.content


# -- the walker and patterns ----------------------------------------------------------------------


def test_walker_never_enters_ignored_folders(ws, monkeypatch):
    make_tree(ws, PROJECT)
    seen: list[str] = []
    real_scandir = WorkspaceFS.scandir

    def spy(self, rel="."):
        seen.append(rel)
        return real_scandir(self, rel)

    monkeypatch.setattr(WorkspaceFS, "scandir", spy)
    list(walk(ToolContext(workspace=ws).workspace, ToolContext(workspace=ws).workspace))
    assert "node_modules" not in seen and "build" not in seen and ".git" not in seen
    assert "docs/drafts" not in seen and "src" in seen


def test_walker_does_not_follow_symlinked_folders(ws):
    make_tree(ws, {"real/a.txt": ""})
    (ws / "loop").symlink_to(ws, target_is_directory=True)
    entries = [e.rel for e in walk(ws.resolve(), ws.resolve())]
    assert entries == ["real", "real/a.txt", "loop"]


def test_brace_expansion_and_glob_regex():
    assert expand_braces("a{b,c{d,e}}f") == ["abf", "acdf", "acef"]
    assert expand_braces("{x}") == ["{x}"]
    assert expand_braces("a{b") == ["a{b"]
    regex = compile_glob("**/test_?.[pt]y")
    assert regex.match("test_a.py") and regex.match("x/y/test_b.ty")
    assert not regex.match("test_ab.py") and not regex.match("test_a.ry")
    assert compile_glob("a/**").match("a/b/c") and compile_glob("a/**").match("a")
    assert not compile_glob("*.py").match("a/b.py")
    assert compile_glob("[!a]*").match("b") and not compile_glob("[!a]*").match("a")


# -- bounded work ---------------------------------------------------------------------------------


async def test_grep_catastrophic_pattern_on_a_long_line_returns(ws, call):
    # (a+)+$ backtracks exponentially in Python's re; RE2 is linear in the text
    make_tree(ws, {"long.txt": "a" * 50_000 + "b\n", "hit.txt": "aaa\n"})
    result = await call(grep, ws, pattern=r"(a+)+$")
    assert result.content == "hit.txt:1:aaa"


async def test_grep_refuses_backreferences_saying_why(ws, call):
    make_tree(ws, {"a.txt": "abab\n"})
    result = await call(grep, ws, pattern=r"(ab)\1")
    assert result.is_error
    assert "backreferences" in result.content and "RE2" in result.content


async def test_grep_invalid_pattern_is_a_clear_error(ws, call):
    result = await call(grep, ws, pattern="foo(")
    assert result.is_error and "invalid regular expression" in result.content


async def test_grep_says_when_it_gave_up_on_its_time_budget(ws, call, monkeypatch):
    make_tree(ws, {"a.txt": "needle\n", "b.txt": "needle\n"})
    monkeypatch.setattr(search, "MAX_GREP_SECONDS", 0.0)
    result = await call(grep, ws, pattern="needle")
    assert "gave up" in result.content and result.metadata.get("gave_up") is True
