"""The terminal sanitiser: text from a model, a tool, a file, a session or a plugin, made safe to
print, so what the terminal shows is what the text is.

A terminal obeys what it is sent: ``ESC ] 52`` writes the clipboard, ``ESC ] 8`` hides a link
behind other text, ``ESC [ 2K`` / ``ESC [ A`` / a bare ``CR`` erase or overwrite what was shown
(an approval prompt that shows ``git status`` for a command that is really ``touch …``), U+202E
reverses the display order, and zero-width characters hide text. :func:`neutralise` turns each of
those into something visible and inert:

- C0 and C1 control characters (``ESC``, ``BEL``, ``CSI``, a lone ``CR``, ...) other than newline
  and tab become their escape (``\\x1b``, ``\\r``, ``\\x9b``), so ``ESC [ 2K`` shows as
  ``\\x1b[2K``; ``CR LF`` becomes a plain newline;
- bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), zero-width and other
  invisible format characters (U+200B-U+200D, U+2060-U+2064, U+FEFF, U+180E, U+00AD, U+034F,
  tag characters U+E0000-U+E007F) and line/paragraph separators are marked as ``<U+202E>``.

:func:`safe_markup` also escapes rich markup (``[bold]``), for strings put into a markup template;
text printed as a ``rich.text.Text`` needs only :func:`neutralise`. ``--json`` output never goes
through here: JSON escaping already makes it inert, and it must stay exact.
"""

from __future__ import annotations

import re

__all__ = ["neutralise", "neutralised", "safe_markup"]

_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_MARKED = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"\r\n|[{_CONTROL}{_MARKED}]")
_NAMED = {"\r": "\\r", "\x1b": "\\x1b"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r\n":
        return "\n"
    code = ord(char)
    if code <= 0x9F:
        return _NAMED.get(char, f"\\x{code:02x}")
    return f"<U+{code:04X}>"


def neutralise(text: str) -> str:
    """``text`` with every control, bidi and invisible character made visible (see module doc).

    Newlines and tabs are kept. Cheap when there is nothing to do (one regex search).
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_visible, text)


def neutralised(text: str) -> tuple[str, bool]:
    """:func:`neutralise` and whether anything was changed (``CR LF`` alone does not count), so
    a prompt can say that it showed a neutralised form."""
    safe = neutralise(text)
    if safe is text:
        return text, False
    return safe, safe != text.replace("\r\n", "\n")


def safe_markup(text: object) -> str:
    """``str(text)`` neutralised and with rich markup escaped, for a rich markup template."""
    from rich.markup import escape

    return escape(neutralise(str(text)))
