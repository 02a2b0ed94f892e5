"""The tools of allos-web."""

from __future__ import annotations

from allos_web.fetch import WebFetch
from allos_web.search import WebSearch

web_fetch = WebFetch()
web_search = WebSearch()

TOOLS = [web_fetch, web_search]
