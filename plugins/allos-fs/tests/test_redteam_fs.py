"""Red-team pass on the file tools: glob patterns a hostile model writes against file names a
hostile repository holds. Every call finishes promptly (RE2, a cap on {…} alternatives)."""

from __future__ import annotations

import pytest
from allos_fs.patterns import MAX_ALTERNATIVES, compile_glob, count_alternatives, expand_braces
from allos_fs.tools import glob, grep

STARS = "*a" * 14 + "*b"  # catastrophic for a backtracking engine against "aaa…a"
NAME = "a" * 60


async def test_glob_with_many_stars_against_a_long_name_returns_at_once(ws, call):
    # given: a repository file whose name makes a backtracking match explode
    (ws / NAME).write_text("x")
    (ws / (NAME + "b")).write_text("x")
    # when: the model globs a pattern with many stars
    result = await call(glob, ws, pattern=STARS)
    # then: the answer is right (and came back: Python's re took minutes here)
    assert not result.is_error, result.content
    assert NAME + "b" in result.content
    assert NAME + "\n" not in result.content + "\n"


async def test_grep_include_with_many_stars_returns_at_once(ws, call):
    (ws / NAME).write_text("needle\n")
    result = await call(grep, ws, pattern="needle", glob=STARS)
    assert not result.is_error, result.content
    assert "No " in result.content  # the long name does not end in b


@pytest.mark.parametrize("pattern", ["{a,b}" * 20, "{a,b,c,d,e,f,g,h}" * 8, "{a,{b,{c,d}}}x" * 6])
async def test_a_brace_bomb_is_refused_without_expanding_it(ws, call, pattern):
    result = await call(glob, ws, pattern=pattern)
    assert result.is_error
    assert f"more than {MAX_ALTERNATIVES:,}" in result.content


def test_alternatives_are_counted_as_expand_braces_makes_them():
    for pattern in ("a{b,c}d", "{a,b}{c,d}", "{a,{b,c}}", "{x}", "src/*.{py,ts}", "{a,b",
                    "{a,{b,{c,d}}}x" * 2, "{{a,b}{c,d}}"):  # fmt: skip
        assert count_alternatives(pattern) == len(expand_braces(pattern))


def test_globs_still_match_as_before():
    regex = compile_glob("**/test_?.[pt]y")
    assert regex.match("a/b/test_1.py") and regex.match("test_x.ty")
    assert not regex.match("a/test_12.py")
    assert compile_glob("a/**").match("a/b/c") and compile_glob("a/**").match("a")
    assert compile_glob("*.py").match("x.py") and not compile_glob("*.py").match("d/x.py")


@pytest.mark.parametrize("second", ["", "a*\n"])
async def test_a_hostile_gitignore_does_not_hang_glob_grep_or_listing(ws, call, second):
    # given: a repository whose .gitignore holds a pattern that backtracks on a crafted name
    # (and, second case, a pattern that does match it, so every pattern gets checked)
    (ws / ".gitignore").write_text(STARS + "\n" + second)
    (ws / NAME).write_text("needle\n")
    (ws / "kept.txt").write_text("needle\n")
    # when: the model lists and searches
    from allos_fs.tools import list_directory

    listed = await call(glob, ws, pattern="**")
    found = await call(grep, ws, pattern="needle")
    shown = await call(list_directory, ws, path=".")
    # then: each answers (Python's re took minutes per name here), and the rules still apply
    assert "kept.txt" in listed.content and "kept.txt" in found.content
    assert (NAME in listed.content) is (second == "")
    assert not shown.is_error
