"""Image checks shared by the fake servers: the bytes must be an image of the stated type."""

from __future__ import annotations

import base64
import binascii

MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def image_problem(data: object, media_type: str | None = None) -> str | None:
    """Why ``data`` (base64) is not a valid image (of ``media_type``), or None."""
    if not isinstance(data, str) or not data:
        return "image data must be a non-empty base64 string"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "image data is not valid base64"
    actual = _sniff(raw[:16])
    if actual is None:
        return "Could not process image: the data is not a PNG, JPEG, GIF or WebP image"
    if media_type is not None and media_type != actual:
        return f"Image does not match the provided media type {media_type} (it is {actual})"
    return None


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
