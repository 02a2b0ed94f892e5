"""web_search against fake backends on 127.0.0.1 (pointed at with [web] search_url)."""

from __future__ import annotations

import json

from allos_web.tools import web_search

DDG_PAGE = """<html><body>
<div class="result"><a class="result__a" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fdocs.python.org%2F3%2F">Python docs</a>
<a class="result__snippet">The official <b>documentation</b>.</a></div>
<div class="result"><a class="result__a" href="https://pypi.org/">PyPI</a></div>
</body></html>"""


async def search(context, query="python docs", **extra):
    return await web_search.invoke({"query": query, **extra}, context)


async def test_the_keyless_default_parses_results(server, make_context, send):
    server.routes["/html/"] = lambda h: send(h, DDG_PAGE)
    context = make_context(web={"search_url": server.url("/html/")})
    result = await search(context)
    assert not result.is_error, result.content
    assert "1. Python docs\n   https://docs.python.org/3/" in result.content
    assert "The official documentation." in result.content
    assert "2. PyPI" in result.content
    assert server.requests[0]["method"] == "POST"
    assert server.requests[0]["body"] == b"q=python+docs"


async def test_brave_sends_the_key_from_the_environment(server, make_context, send, monkeypatch):
    monkeypatch.setenv("BRAVE_API_KEY", "brave-test-key")
    payload = {"web": {"results": [{"title": "A <strong>hit</strong>", "url": "https://a.example/",
                                    "description": "snippet"}]}}  # fmt: skip
    server.routes["/res"] = lambda h: send(h, json.dumps(payload), content_type="application/json")
    context = make_context(web={"search_backend": "brave", "search_url": server.url("/res")})
    result = await search(context, max_results=3)
    assert "1. A hit\n   https://a.example/\n   snippet" in result.content
    sent = server.requests[0]
    assert sent["headers"]["X-Subscription-Token"] == "brave-test-key"
    assert "count=3" in sent["path"] and "q=python+docs" in sent["path"]


async def test_tavily_and_searxng(server, make_context, send, monkeypatch):
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-test")
    body = json.dumps({"results": [{"title": "T", "url": "https://t.example/", "content": "c"}]})
    server.routes["/search"] = lambda h: send(h, body, content_type="application/json")
    tavily = make_context(web={"search_backend": "tavily", "search_url": server.url("/search")})
    assert "1. T" in (await search(tavily)).content
    assert json.loads(server.requests[0]["body"]) == {"query": "python docs", "max_results": 5}
    assert server.requests[0]["headers"]["Authorization"] == "Bearer tvly-test"
    searx = make_context(web={"search_backend": "searxng", "search_url": server.url("")})
    assert "https://t.example/" in (await search(searx)).content
    assert "format=json" in server.requests[1]["path"]


async def test_missing_key_unknown_backend_and_backend_errors_are_clear(
    server, make_context, send, monkeypatch
):
    monkeypatch.delenv("BRAVE_API_KEY", raising=False)
    no_key = await search(make_context(web={"search_backend": "brave"}))
    assert no_key.is_error and "BRAVE_API_KEY" in no_key.content
    unknown = await search(make_context(web={"search_backend": "altavista"}))
    assert unknown.is_error and "known: brave, duckduckgo, searxng, tavily" in unknown.content
    server.routes["/html/"] = lambda h: send(h, "down", status=503)
    failed = await search(make_context(web={"search_url": server.url("/html/")}))
    assert failed.is_error and "HTTP 503" in failed.content


async def test_the_default_endpoints_cannot_be_pointed_at_private_addresses(make_context):
    # a search_url is the user's choice; without one, only the public services are used, and a
    # public service's name never resolves to a private address unnoticed
    from allos_web.search import BACKENDS

    assert all(b.url.startswith("https://") for b in BACKENDS.values() if b.url)
    assert web_search.default_permission == "ask"
