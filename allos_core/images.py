"""Images for models: read from a path or bytes, the format sniffed, the size checked.

Only the formats every provider takes are accepted: PNG, JPEG, GIF and WebP, recognised by their
first bytes (never by the file name, which a hostile workspace may choose). An image larger than
:data:`MAX_IMAGE_BYTES` (Anthropic's limit per image) is refused with a message that says so.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from allos_core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import ImagePart

__all__ = ["MAX_IMAGE_BYTES", "image_from_bytes", "image_from_path", "sniff_image"]

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MediaType = Literal["image/png", "image/jpeg", "image/gif", "image/webp"]


class ImageError(ConfigError):
    """Data that is not an image a model can take (unknown format, too large, unreadable)."""


def sniff_image(head: bytes) -> MediaType | None:
    """The media type of an image from its first bytes, or None when it is none of the four."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_from_bytes(data: bytes, *, where: str = "the image") -> ImagePart:
    """An :class:`~allos_core.messages.ImagePart` for ``data``; :class:`ImageError` if unfit."""
    from allos_core.messages import ImagePart

    media_type = sniff_image(data[:16])
    if media_type is None:
        raise ImageError(
            f"{where} is not a PNG, JPEG, GIF or WebP image",
            hint="convert it to PNG or JPEG first",
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(
            f"{where} is {len(data) / 1048576:.1f} MB; models take images up to "
            f"{MAX_IMAGE_BYTES // 1048576} MB",
            hint="scale it down or crop it first",
        )
    return ImagePart(media_type=media_type, data=base64.b64encode(data).decode("ascii"))


def image_from_path(path: str | Path) -> ImagePart:
    """An image read from ``path`` (the user's own file: command line, chat)."""
    file = Path(path).expanduser()
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ImageError(
            f"cannot read image {file}: {exc.strerror or exc}", hint="check the path"
        ) from None
    return image_from_bytes(data, where=str(file))
