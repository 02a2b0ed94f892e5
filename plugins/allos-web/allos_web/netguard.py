"""Where web tools may connect: only http(s), and never a private address unless a rule says so.

The check happens where the connection is made, not only when the URL is read: a network backend
for httpcore (:mod:`allos_web.guarded_backend`) resolves the host itself, refuses when any address it resolves to is loopback,
private, link-local, multicast, reserved or unspecified (IPv4-mapped IPv6 included), and then
connects to an address it checked. So a DNS name that points at ``127.0.0.1``, a decimal IP
(``http://2130706433/``), ``[::ffff:127.0.0.1]`` or a DNS answer that changes between the check
and the connection (rebinding) cannot reach the user's machine or network. TLS still verifies the
certificate against the host name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


class WebAccessError(Exception):
    """A URL or address the web tools refuse; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its scheme, host (lower case, no brackets), port and the whole URL."""

    scheme: str
    host: str
    port: int
    url: str

    @property
    def subject(self) -> str:
        """The permission subject of a request to this URL: ``domain:HOST``."""
        return f"domain:{self.host}"


def parse_url(url: str) -> Target:
    """Check that ``url`` is an absolute http(s) URL without credentials; raise otherwise."""
    text = url.strip()
    if any(ord(c) < 0x21 for c in text) or len(text) > 8192:
        raise WebAccessError("the URL has spaces or control characters, or is too long")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise WebAccessError(f"only http and https URLs can be fetched, not {scheme or 'this'!r}")
    if parts.username is not None or parts.password is not None:
        raise WebAccessError("URLs with a user name or password are refused")
    try:
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise WebAccessError(f"invalid URL: {exc}") from None
    if not host:
        raise WebAccessError("the URL has no host")
    return Target(scheme, host, port, text)


def non_public_reason(address: str) -> str | None:
    """Why ``address`` (an IP literal) is not a public internet address, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:  # deprecated, still routed on some networks; not in is_private
            return "a site-local address"
        # 6to4 and Teredo carry an IPv4 address that the tunnel delivers to; for IPv4-mapped
        # and 6to4 addresses that address decides (older Pythons call all of 2002::/16 private)
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            reason = non_public_reason(str(embedded))
            if reason or ip.ipv4_mapped is not None or ip.sixtofour is not None:
                return reason
    for attribute, reason in (
        ("is_loopback", "a loopback address"),
        ("is_unspecified", "an unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:
        return "not a public address"
    return None


def names_host(rule: str | None, host: str) -> bool:
    """Whether ``rule`` (an allow rule) names ``host`` itself, not any host by a wildcard."""
    if not rule:
        return False
    inside = rule[rule.find("(") + 1 : rule.rfind(")")] if "(" in rule else rule
    return inside.strip().lower() == f"domain:{host}"
