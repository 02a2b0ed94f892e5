"""Web content to text a model reads well: HTML to Markdown (markdownify), the rest as text."""

from __future__ import annotations

import re

#: elements whose content is never page text
DROP = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "head")
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml")


def is_text(content_type: str) -> bool:
    return content_type.startswith(TEXT_TYPES) or content_type.endswith(("+json", "+xml"))


def html_to_markdown(html: str) -> tuple[str, str | None]:
    """The page as Markdown, and its title (None when it has none)."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    for tag in soup.find_all(DROP):
        tag.decompose()
    body = soup.body or soup
    text = MarkdownConverter(heading_style="ATX", bullets="-", strip=["img"]).convert_soup(body)
    return _tidy(text), title or None


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
