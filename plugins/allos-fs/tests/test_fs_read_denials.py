"""Searches honour ``ToolContext.is_read_denied``: files a user keeps from read_file stay hidden."""

from __future__ import annotations

import pytest
from allos_fs.tools import glob, grep, list_directory

from allos_core.permissions import PermissionRules
from allos_core.tools import ToolContext

SECRET = "sk-live-SECRET-4242"
FILES = {
    ".env": f"TOKEN={SECRET}\n",
    "config/.env": f"NESTED={SECRET}\n",
    "keys/server.pem": f"PEM {SECRET}\n",
    "app.py": "TOKEN = os.environ['TOKEN']\n",
    "config/settings.py": "TOKEN_NAME = 'TOKEN'\n",
}


def make_tree(root, files=FILES) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def denying(*patterns: str):
    """A read_denied predicate built from deny rules for read_file, as the agent builds it."""
    rules = PermissionRules.from_lists(deny=[f"read_file({p})" for p in patterns])

    def predicate(rel: str) -> bool:
        answer = rules.decide_one("read_file", rel, path_like=True)
        return answer is not None and answer.decision == "deny"

    return predicate


async def run(tool, ws, predicate=None, **arguments):
    context = ToolContext(workspace=ws, read_denied=predicate)
    return await tool.invoke(arguments, context)


# -- the ToolContext contract ---------------------------------------------------------------------


def test_is_read_denied_without_a_predicate_is_false(ws):
    assert ToolContext(workspace=ws).is_read_denied(".env") is False


def test_is_read_denied_asks_the_predicate_with_clean_relative_paths(ws):
    seen: list[str] = []

    def predicate(rel: str) -> bool:
        seen.append(rel)
        return rel == ".env"

    context = ToolContext(workspace=ws, read_denied=predicate)
    assert context.is_read_denied(".env") is True
    assert context.is_read_denied("./.env") is True
    assert context.is_read_denied("app.py") is False
    assert seen == [".env", ".env", "app.py"]


# -- grep -----------------------------------------------------------------------------------------


async def test_grep_never_prints_lines_of_denied_files(ws):
    make_tree(ws)
    result = await run(grep, ws, denying(".env", "**/*.pem"), pattern="TOKEN|PEM|NESTED")
    assert not result.is_error
    lines = result.content.split("\n")
    assert sorted(lines[:-1]) == [
        "app.py:1:TOKEN = os.environ['TOKEN']",
        f"config/.env:1:NESTED={SECRET}",  # `.env` only denies the root one
        "config/settings.py:1:TOKEN_NAME = 'TOKEN'",
    ]
    assert lines[-1] == "[2 files skipped: denied by permission rules.]"
    assert result.metadata["withheld"] == 2 and result.metadata["files"] == 3


async def test_grep_counts_denied_files_whether_or_not_they_match(ws):
    make_tree(ws)
    # the denied file does not contain the pattern: it is still counted (never opened), so the
    # count says nothing about its contents
    result = await run(grep, ws, denying(".env"), pattern="TOKEN_NAME")
    assert result.content.split("\n") == [
        "config/settings.py:1:TOKEN_NAME = 'TOKEN'",
        "[1 file skipped: denied by permission rules.]",
    ]


async def test_grep_with_nothing_left_says_why(ws):
    make_tree(ws, {".env": f"TOKEN={SECRET}\n"})
    result = await run(grep, ws, denying(".env"), pattern=SECRET)
    assert SECRET not in result.content.replace(repr(SECRET), "")
    assert "No matches" in result.content
    assert "1 file skipped: denied by permission rules" in result.content


async def test_grep_on_a_denied_file_directly_and_through_a_symlink(ws):
    make_tree(ws)
    (ws / "innocent.txt").symlink_to(".env")
    for path in (".env", "innocent.txt", "./config/../.env"):
        result = await run(grep, ws, denying(".env"), pattern="TOKEN", path=path)
        assert "sk-live" not in result.content, path
        assert "1 file skipped: denied by permission rules" in result.content, path
    # the folder search skips the link too
    result = await run(grep, ws, denying(".env"), pattern="sk-live")
    assert "innocent.txt" not in result.content
    assert "config/.env:1:" in result.content
    assert result.metadata["withheld"] == 2


async def test_grep_without_a_predicate_is_unchanged(ws):
    make_tree(ws)
    result = await run(grep, ws, None, pattern="sk-live")
    assert sorted(result.content.split("\n")) == [
        f".env:1:TOKEN={SECRET}",
        f"config/.env:1:NESTED={SECRET}",
        f"keys/server.pem:1:PEM {SECRET}",
    ]
    assert "withheld" not in result.metadata
    assert "permission" not in result.content


# -- glob -----------------------------------------------------------------------------------------


async def test_glob_does_not_list_denied_files(ws):
    make_tree(ws)
    result = await run(glob, ws, denying("**/.env"), pattern="**/*")
    assert result.content.split("\n") == [
        "app.py",
        "config/settings.py",
        "keys/server.pem",
        "[2 files skipped: denied by permission rules.]",
    ]
    assert result.metadata == {"matches": 3, "withheld": 2}


async def test_glob_with_only_denied_matches_says_why(ws):
    make_tree(ws)
    result = await run(glob, ws, denying("keys/**"), pattern="**/*.pem")
    assert "keys/server.pem" not in result.content
    assert result.content.startswith("No files match '**/*.pem'")
    assert result.content.endswith("(1 file skipped: denied by permission rules.)")
    assert result.metadata == {"matches": 0, "withheld": 1}


async def test_glob_without_a_predicate_is_unchanged(ws):
    make_tree(ws)
    result = await run(glob, ws, None, pattern="**/*")
    assert result.content.split("\n") == [
        ".env",
        "app.py",
        "config/.env",
        "config/settings.py",
        "keys/server.pem",
    ]
    assert result.metadata == {"matches": 5}


# -- list_directory -------------------------------------------------------------------------------


async def test_list_directory_does_not_list_denied_files(ws):
    make_tree(ws)
    (ws / "link").symlink_to(".env")
    result = await run(list_directory, ws, denying(".env"))
    assert result.content.split("\n") == [
        "config/",
        "keys/",
        "app.py  (28 B)",
        "[2 files skipped: denied by permission rules.]",
    ]
    assert result.metadata["files"] == 1 and result.metadata["withheld"] == 2


async def test_list_directory_recursive_and_a_fully_denied_folder(ws):
    make_tree(ws)
    result = await run(list_directory, ws, denying("keys/**", "config/.env"), recursive=True)
    lines = result.content.split("\n")
    assert "keys/" in lines  # folders stay: the rule denies the files inside
    assert "keys/server.pem  (24 B)" not in lines and not any("server.pem" in x for x in lines)
    assert "config/settings.py  (21 B)" in lines
    # hidden entries (.env files) are not listed recursively anyway; only the pem is withheld
    assert lines[-1] == "[1 file skipped: denied by permission rules.]"

    only = await run(list_directory, ws, denying("keys/**"), path="keys")
    assert only.content == "keys/ (nothing to show: 1 file skipped: denied by permission rules)"


async def test_list_directory_without_a_predicate_is_unchanged(ws):
    make_tree(ws)
    result = await run(list_directory, ws, None)
    assert result.content.split("\n") == [
        "config/",
        "keys/",
        f".env  ({len(FILES['.env'])} B)",
        "app.py  (28 B)",
    ]
    assert "withheld" not in result.metadata


# -- searches started through a symlinked folder ---------------------------------------------------


def linked_tree(ws) -> None:
    """``config -> real_config`` holding a secret; the rule names ``config``."""
    make_tree(ws, {"real_config/secret.txt": f"KEY={SECRET}\n", "app.py": "KEY = 1\n"})
    (ws / "config").symlink_to("real_config", target_is_directory=True)


@pytest.mark.parametrize("path", ["config", "./config", "config/secret.txt"])
async def test_grep_through_a_symlinked_denied_folder_withholds(ws, path):
    linked_tree(ws)
    result = await run(grep, ws, denying("config/**"), pattern="KEY", path=path)
    assert SECRET not in result.content
    assert "1 file skipped: denied by permission rules" in result.content


async def test_glob_and_list_through_a_symlinked_denied_folder_withhold(ws):
    linked_tree(ws)
    result = await run(glob, ws, denying("config/**"), pattern="config/*.txt")
    assert "secret.txt" not in result.content
    assert result.metadata["withheld"] == 1
    result = await run(glob, ws, denying("config/**"), pattern="*.txt", path="config")
    assert result.metadata["withheld"] == 1
    result = await run(list_directory, ws, denying("config/**"), path="config")
    assert "secret.txt" not in result.content
    assert result.metadata["withheld"] == 1


async def test_searching_the_real_folder_is_unaffected_by_an_alias_rule(ws):
    # the rule names the link; the real folder searched by its own name is only covered by
    # rules on its own name (a search cannot know every alias of a folder)
    linked_tree(ws)
    result = await run(grep, ws, denying("config/**"), pattern="KEY", path="real_config")
    assert f"real_config/secret.txt:1:KEY={SECRET}" in result.content
    result = await run(grep, ws, denying("real_config/**"), pattern="KEY", path="config")
    assert SECRET not in result.content and result.metadata["withheld"] == 1
