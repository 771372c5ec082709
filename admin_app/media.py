"""Uploaded files: only known image types are stored, and they are served so they cannot script.

The type is decided from the file's first bytes, never from its name or the
browser's claim, so an `.html` or `.svg` renamed `.png` is refused. Files are
stored under random names and served with their image type, `nosniff`, and a
sandboxing CSP of their own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import anyio
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette_admin.i18n import gettext

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
ACCEPT = ",".join(IMAGE_TYPES.values())
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class UploadRejectedError(ValueError):
    """The upload is not an allowed image, or is too large; the message is for the user."""


@dataclass(frozen=True)
class MediaStore:
    """A directory of uploaded files, addressed by relative paths such as `products/ab12.png`."""

    root: Path

    def path_of(self, name: str) -> Path:
        """The file for a stored name; refuses anything that would leave the root."""
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise HTTPException(404)
        return self.root.joinpath(*relative.parts)

    async def save_image(self, upload: UploadFile, folder: str, max_size: int) -> str:
        """Check and store an uploaded image; return its name relative to the root."""
        data = await upload.read(max_size + 1)
        if len(data) > max_size:
            said = gettext("The image is larger than %(size)s.")
            raise UploadRejectedError(said % {"size": _human_size(max_size)})
        extension = sniff_image(data)
        if extension is None:
            raise UploadRejectedError(gettext("Upload a PNG, JPEG, GIF or WebP image."))
        name = f"{folder}/{secrets.token_hex(16)}.{extension}"
        target = self.path_of(name)
        await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
        await anyio.Path(target).write_bytes(data)
        return name

    async def delete(self, name: str | None) -> None:
        """Remove a stored file if it exists."""
        if name:
            await anyio.Path(self.path_of(name)).unlink(missing_ok=True)

    def response(self, name: str) -> Response:
        """Serve a stored file: images inline with their own type, anything else as a download."""
        path = self.path_of(name)
        try:
            found = path.is_file()
        except OSError:  # a name the file system cannot hold (too long): not ours either
            found = False
        if not found:
            raise HTTPException(404)
        media_type = IMAGE_TYPES.get(path.suffix.lstrip(".").lower())
        headers = {
            "Content-Security-Policy": FILE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400",
        }
        if media_type is None:
            return FileResponse(
                path,
                media_type="application/octet-stream",
                filename=path.name,
                content_disposition_type="attachment",
                headers=headers,
            )
        return FileResponse(path, media_type=media_type, headers=headers)


def sniff_image(data: bytes) -> str | None:
    """The extension for an image in an allowed format, judged by its magic bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"
