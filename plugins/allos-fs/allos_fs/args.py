"""Argument models of the allos-fs tools (pydantic; imported only when a tool is first validated)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ListDirectoryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(default=".", description="Folder to list, relative to the workspace root.")
    recursive: bool = Field(
        default=False,
        description="List everything below the folder, skipping hidden and .gitignored entries.",
    )


class ReadFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File to read, relative to the workspace root.")
    start_line: int | None = Field(
        default=None, ge=1, description="First line to show (1-based). Default: 1."
    )
    end_line: int | None = Field(
        default=None,
        ge=1,
        description="Last line to show (1-based, inclusive). Default: the end of the file.",
    )


class GlobArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(
        description="Glob pattern matched against file paths relative to `path`, e.g. **/*.py, "
        "src/**/test_*.ts, *.{md,txt}."
    )
    path: str = Field(
        default=".", description="Folder to search in, relative to the workspace root."
    )


class GrepArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(
        description="Regular expression to search for (RE2 syntax: like Python re, without lookarounds or backreferences)."
    )
    path: str = Field(
        default=".", description="Folder or file to search, relative to the workspace root."
    )
    glob: str | None = Field(
        default=None,
        description="Only search files matching this glob: without '/' it matches file names "
        "(*.py, *.{ts,tsx}); with '/' paths relative to `path` (src/**/*.py).",
    )
    ignore_case: bool = Field(default=False, description="Match case-insensitively.")


class WriteFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File to write, relative to the workspace root.")
    content: str = Field(description="The complete new content of the file.")


class EditFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File to edit, relative to the workspace root.")
    old_text: str = Field(
        description="The exact text to replace, including whitespace and indentation, copied "
        "from the file (without read_file's line-number prefixes)."
    )
    new_text: str = Field(description="The text to put in its place.")
    replace_all: bool = Field(
        default=False,
        description="Replace every occurrence of old_text instead of requiring exactly one.",
    )
