"""web_fetch against local servers: Markdown, caps, redirects, and the SSRF guard."""

from __future__ import annotations

import gzip

import pytest
from allos_web.tools import web_fetch

LOCAL = "web_fetch(domain:127.0.0.1)"
PAGE = """<html><head><title>Docs home</title><style>body{color:red}</style></head>
<body><h1>Welcome</h1><p>Read the <a href="/guide">guide</a>.</p>
<script>steal()</script></body></html>"""


async def fetch(context, url: str, **extra):
    return await web_fetch.invoke({"url": url, **extra}, context)


async def test_a_page_becomes_markdown_without_scripts(server, make_context, send):
    server.routes["/"] = lambda h: send(h, PAGE)
    result = await fetch(make_context([LOCAL]), server.url("/"))
    assert not result.is_error, result.content
    assert "Title: Docs home" in result.content
    assert "# Welcome" in result.content
    assert "[guide](/guide)" in result.content
    assert "steal" not in result.content and "color:red" not in result.content


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]", "0.0.0.0", "127.1"],
)
async def test_loopback_in_every_spelling_is_refused_without_a_rule(
    server, host, make_context, send
):
    server.routes["/"] = lambda h: send(h, "secret admin page")
    result = await fetch(make_context(), server.url("/", host=host))
    assert result.is_error
    assert "refused" in result.content
    assert server.requests == []  # nothing reached the server


async def test_a_wildcard_rule_does_not_open_private_addresses(server, make_context, send):
    server.routes["/"] = lambda h: send(h, "secret")
    result = await fetch(make_context(["web_fetch(*)"]), server.url("/"))
    assert result.is_error and server.requests == []


async def test_a_rule_naming_the_host_opens_it(server, make_context, send):
    server.routes["/"] = lambda h: send(h, "hello", content_type="text/plain")
    result = await fetch(make_context([LOCAL]), server.url("/"))
    assert not result.is_error and "hello" in result.content


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "gopher://x/",
     "http://user:pw@example.com/", "http:///nohost", "http://exa mple.com/"],
)  # fmt: skip
async def test_only_plain_http_urls(url, make_context):
    result = await fetch(make_context(), url)
    assert result.is_error and "refused" in result.content


async def test_redirect_on_the_same_host_is_followed(server, make_context, send):
    server.routes["/old"] = lambda h: send(h, "", status=301, headers={"Location": "/new"})
    server.routes["/new"] = lambda h: send(h, "moved here", content_type="text/plain")
    result = await fetch(make_context([LOCAL]), server.url("/old"))
    assert "moved here" in result.content


async def test_redirect_to_another_host_is_reported_not_followed(server, make_context, send):
    target = server.url("/inner", host="localhost")
    server.routes["/go"] = lambda h: send(h, "", status=302, headers={"Location": target})
    server.routes["/inner"] = lambda h: send(h, "internal")
    result = await fetch(make_context([LOCAL]), server.url("/go"))
    assert not result.is_error
    assert "redirects to" in result.content and target in result.content
    assert [r["path"] for r in server.requests] == ["/go"]


async def test_redirect_to_a_private_host_needs_a_rule_for_that_host(server, make_context, send):
    # the first host is public in spirit (allowed by rule); the redirect goes to another
    # loopback address that no rule names: never fetched
    server.routes["/go"] = lambda h: send(
        h, "", status=307, headers={"Location": server.url("/x", host="127.0.0.2")}
    )
    result = await fetch(make_context([LOCAL]), server.url("/go"))
    assert "redirects to" in result.content
    assert len(server.requests) == 1


async def test_large_pages_and_compression_bombs_are_capped(server, make_context, send):
    bomb = gzip.compress(b"A" * 20_000_000)
    server.routes["/big"] = lambda h: send(h, b"B" * 3_000_000, content_type="text/plain")
    server.routes["/bomb"] = lambda h: send(
        h, bomb, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    context = make_context([LOCAL], web={"max_bytes": 1_000_000})
    big = await fetch(context, server.url("/big"), max_chars=1000)
    assert "download stopped at 1,000,000 bytes" in big.content
    assert "cut at 1,000 characters" in big.content
    bombed = await fetch(context, server.url("/bomb"), max_chars=1000)
    assert not bombed.is_error and "download stopped" in bombed.content


async def test_a_server_that_never_answers_times_out(server, make_context):
    server.routes["/hang"] = lambda h: server.release.wait(30)
    context = make_context([LOCAL], web={"timeout": 0.5})
    result = await fetch(context, server.url("/hang"))
    assert result.is_error and "did not answer within 0.5 s" in result.content


async def test_binary_content_is_refused_and_errors_say_the_status(server, make_context, send):
    server.routes["/img"] = lambda h: send(h, b"\x89PNG....", content_type="image/png")
    context = make_context([LOCAL])
    image = await fetch(context, server.url("/img"))
    assert image.is_error and "image/png" in image.content
    missing = await fetch(context, server.url("/missing"))
    assert missing.is_error and "HTTP 404" in missing.content


async def test_a_name_resolving_to_public_and_private_addresses_is_refused(monkeypatch):
    import anyio
    from allos_web.guarded_backend import GuardedBackend
    from allos_web.netguard import WebAccessError

    async def answers(host, port, **kwargs):
        return [(2, 1, 6, "", ("93.184.216.34", port)), (2, 1, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(anyio, "getaddrinfo", answers)
    with pytest.raises(WebAccessError, match="10.0.0.5, a private address"):
        await GuardedBackend(lambda host: False).connect_tcp("rebind.example", 80)


def test_the_permission_subject_is_the_domain(make_context):
    from allos_core.permissions import PermissionRules

    args = web_fetch.validate({"url": "https://Docs.Python.org/3/whatsnew/"})
    subject = web_fetch.permission_subject(args, make_context())
    assert subject == "domain:docs.python.org"
    rules = PermissionRules.from_lists(allow=["web_fetch(domain:docs.python.org)"])
    assert rules.decide_one("web_fetch", subject).decision == "allow"
    assert rules.decide_one("web_fetch", "domain:evil.example") is None
    assert web_fetch.default_permission == "ask"
