"""Argument models of the web tools (imported on first use: loading plugins stays cheap)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WebFetchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="The http(s) URL to fetch.")
    max_chars: int | None = Field(
        None,
        ge=100,
        le=100_000,
        description="At most this many characters of text (default 20000).",
    )


class WebSearchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=500, description="What to search the web for.")
    max_results: int | None = Field(None, ge=1, le=20, description="How many results (default 5).")
