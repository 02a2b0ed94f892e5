"""``web_search``: results from a search backend chosen in ``[web]`` (keyless by default).

Backends (``[web] search_backend``): ``duckduckgo`` (the default; no key: its HTML results page),
``brave`` (``BRAVE_API_KEY``), ``tavily`` (``TAVILY_API_KEY``) and ``searxng`` (your own
instance: ``[web] search_url``). ``search_url`` also points any backend at a proxy or, in tests,
at a local fake. Keys come only from the environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from allos_core.tools import Tool, ToolContext, ToolResult
from allos_web.fetch import web_settings
from allos_web.netguard import WebAccessError, parse_url

DEFAULT_RESULTS = 5


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    key_env: str | None


BACKENDS = {
    "duckduckgo": Backend("duckduckgo", "https://html.duckduckgo.com/html/", None),
    "brave": Backend("brave", "https://api.search.brave.com/res/v1/web/search", "BRAVE_API_KEY"),
    "tavily": Backend("tavily", "https://api.tavily.com/search", "TAVILY_API_KEY"),
    "searxng": Backend("searxng", "", None),
}


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str


class WebSearch(Tool):
    """Search the web and return titles, URLs and snippets."""

    name = "web_search"
    description = (
        "Search the web. Returns up to max_results results (default 5), each with its title, URL "
        "and a snippet; read a result with web_fetch."
    )
    Args = "allos_web.args:WebSearchArgs"
    read_only = True
    default_permission = "ask"

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        """The query (it is sent to the search backend)."""
        return str(args.query)

    async def run(self, args: Any, context: ToolContext) -> ToolResult:
        table = context.settings.get("web", {}) or {}
        name = str(table.get("search_backend") or "duckduckgo").lower()
        backend = BACKENDS.get(name)
        if backend is None:
            return ToolResult.error(
                f"unknown search backend {name!r} in [web] search_backend "
                f"(known: {', '.join(sorted(BACKENDS))})"
            )
        custom_url = table.get("search_url")
        url = str(custom_url or backend.url)
        if not url:
            return ToolResult.error(f"the {name} backend needs [web] search_url (your instance)")
        key = os.environ.get(backend.key_env, "") if backend.key_env else ""
        if backend.key_env and not key:
            return ToolResult.error(f"the {name} search backend needs {backend.key_env} to be set")
        count = args.max_results or DEFAULT_RESULTS
        try:
            results = await _search(backend, url, key, args.query, count, context, bool(custom_url))
        except WebAccessError as exc:
            return ToolResult.error(f"web_search failed: {exc}")
        if not results:
            return ToolResult(f"no results for {args.query!r}")
        lines = []
        for number, result in enumerate(results[:count], start=1):
            lines.append(f"{number}. {result.title}\n   {result.url}")
            if result.snippet:
                lines.append(f"   {result.snippet}")
        return ToolResult("\n".join(lines), metadata={"backend": name, "results": len(results)})


async def _search(
    backend: Backend,
    url: str,
    key: str,
    query: str,
    count: int,
    context: ToolContext,
    user_endpoint: bool,
) -> list[SearchResult]:
    from allos_web.http import request

    settings = web_settings(context)
    method, headers, body = "GET", {"Accept": "application/json"}, None
    if backend.name == "duckduckgo":
        method, headers = "POST", {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode({"q": query}).encode()
    elif backend.name == "brave":
        url += ("&" if "?" in url else "?") + urlencode({"q": query, "count": count})
        headers["X-Subscription-Token"] = key
    elif backend.name == "tavily":
        method = "POST"
        headers.update({"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        body = json.dumps({"query": query, "max_results": count}).encode()
    else:  # searxng
        url = url.rstrip("/") + "/search?" + urlencode({"q": query, "format": "json"})
    response = await request(
        parse_url(url),
        method=method,
        headers=headers,
        body=body,
        # an endpoint the user configured may be theirs (a local SearXNG); the default ones are
        # public services and go through the same address checks as web_fetch
        may_reach_private=lambda _host: user_endpoint,
        timeout=settings["timeout"],
        max_bytes=min(int(settings["max_bytes"]), 2_000_000),
    )
    if response.status >= 400:
        raise WebAccessError(f"the {backend.name} backend answered HTTP {response.status}")
    if backend.name == "duckduckgo":
        return _parse_duckduckgo(response.text())
    try:
        data = json.loads(response.text())
    except ValueError:
        raise WebAccessError(f"the {backend.name} backend did not answer JSON") from None
    return _parse_json(backend.name, data)


def _parse_json(name: str, data: Any) -> list[SearchResult]:
    if not isinstance(data, dict):
        return []
    if name == "brave":
        items = (data.get("web") or {}).get("results") or []
        snippet_key = "description"
    else:
        items = data.get("results") or []
        snippet_key = "content"
    results = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            results.append(
                SearchResult(
                    _plain(item.get("title")), item["url"], _plain(item.get(snippet_key))[:500]
                )
            )
    return results


def _parse_duckduckgo(html: str) -> list[SearchResult]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    results = []
    for block in soup.select(".result"):
        link = block.select_one("a.result__a")
        if link is None:
            continue
        href = str(link.get("href") or "")
        target = parse_qs(urlsplit(href).query).get("uddg", [href])[0]
        snippet = block.select_one(".result__snippet")
        results.append(
            SearchResult(
                _plain(link.get_text()),
                target,
                _plain(snippet.get_text())[:500] if snippet else "",
            )
        )
    return results


def _plain(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if "<" in value:  # some backends mark matches with <strong>
        from bs4 import BeautifulSoup

        value = BeautifulSoup(value, "html.parser").get_text()
    return " ".join(value.split())
