"""``web_fetch``: a page as readable Markdown, within size, time and address limits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from allos_core.tools import Tool, ToolContext, ToolResult
from allos_web.netguard import Target, WebAccessError, names_host, parse_url

DEFAULT_MAX_CHARS = 20_000
#: settings of ``[web]`` and their defaults
DEFAULTS = {"timeout": 20.0, "max_bytes": 5_000_000, "max_redirects": 5}
REDIRECTS = (301, 302, 303, 307, 308)


def web_settings(context: ToolContext) -> dict[str, Any]:
    """``[web]`` of the config files, over the defaults (bad values fall back to them)."""
    table = context.settings.get("web", {}) or {}
    values = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        value = table.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            values[key] = type(default)(value)
    return values


class WebFetch(Tool):
    """Fetch a web page (http/https) and return it as Markdown."""

    name = "web_fetch"
    description = (
        "Fetch a web page or text document by http(s) URL and return it as Markdown (links kept, "
        "scripts and styles dropped). Returns at most max_chars characters (default 20000); the "
        "end is marked when it is cut. Redirects to the same site are followed; a redirect to "
        "another site is reported so you can fetch that URL. Private and local network "
        "addresses are refused."
    )
    Args = "allos_web.args:WebFetchArgs"
    read_only = True
    default_permission = "ask"

    def permission_subject(self, args: Any, context: ToolContext) -> str | None:
        """``domain:HOST``, so rules such as ``web_fetch(domain:docs.python.org)`` match."""
        try:
            return parse_url(args.url).subject
        except WebAccessError:
            return f"url:{args.url}"

    def preview(self, args: Any, context: ToolContext) -> str | None:
        return f"GET {args.url}"

    async def run(self, args: Any, context: ToolContext) -> ToolResult:
        from allos_web.convert import html_to_markdown, is_text
        from allos_web.http import request

        settings = web_settings(context)
        max_chars = args.max_chars or DEFAULT_MAX_CHARS

        def may_reach_private(host: str) -> bool:
            return names_host(context.allowing_rule(self.name, f"domain:{host}"), host)

        try:
            target = parse_url(args.url)
            for _hop in range(int(settings["max_redirects"]) + 1):
                response = await request(
                    target,
                    headers={"Accept": "text/html,text/plain,application/json;q=0.9,*/*;q=0.5"},
                    may_reach_private=may_reach_private,
                    timeout=settings["timeout"],
                    max_bytes=int(settings["max_bytes"]),
                )
                location = response.headers.get("location")
                if response.status not in REDIRECTS or not location:
                    break
                following = parse_url(urljoin(target.url, location))
                if not self._may_follow(target, following, context):
                    return ToolResult(
                        f"{target.url} redirects to {following.url}, on another site. To read "
                        f"it, call web_fetch with that URL.",
                        metadata={"status": response.status, "location": following.url},
                    )
                target = following
            else:
                return ToolResult.error(
                    f"too many redirects (more than {settings['max_redirects']})"
                )
        except WebAccessError as exc:
            return ToolResult.error(f"web_fetch refused: {exc}")
        if response.status >= 400:
            return ToolResult.error(
                f"{target.url} answered HTTP {response.status}: "
                + _clip(response.text().strip(), 500)
            )
        kind = response.content_type or "text/plain"
        if not is_text(kind):
            return ToolResult.error(
                f"{target.url} is {kind}, not a text document; web_fetch reads pages and text"
            )
        title = None
        text = response.text()
        if kind in ("text/html", "application/xhtml+xml"):
            text, title = html_to_markdown(text)
        header = f"URL: {target.url}\n" + (f"Title: {title}\n" if title else "")
        notes = []
        if response.truncated:
            notes.append(f"the download stopped at {int(settings['max_bytes']):,} bytes")
        if len(text) > max_chars:
            text = text[:max_chars]
            notes.append(f"cut at {max_chars:,} characters (pass a larger max_chars for more)")
        body = text + (f"\n\n[{'; '.join(notes)}]" if notes else "")
        return ToolResult(
            header + "\n" + body,
            metadata={"status": response.status, "url": target.url, "content_type": kind},
        )

    def _may_follow(self, current: Target, following: Target, context: ToolContext) -> bool:
        """Same host, or a host the user's rules allow: the redirect stays within the rules."""
        if following.host == current.host:
            return True
        return context.allowing_rule(self.name, following.subject) is not None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
