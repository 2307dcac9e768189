"""Uploaded media: sniffed, re-encoded, thumbnailed and stored under server-chosen names.

What a file is comes from its bytes, never from its name or declared content type:
Pillow decides for images (PNG, JPEG, GIF, WebP), magic bytes for video and audio
(MP4, WebM, MP3, Ogg, WAV, FLAC), which are stored as they are. Images are decoded
with Pillow's decompression-bomb protection on and a pixel cap, then re-encoded,
which drops EXIF, GPS and every other piece of metadata (JPEG orientation is applied
first). Each stored file gets a random name with the extension of its sniffed type;
``GET /media/{name}`` serves it with the matching Content-Type (see
:mod:`fediverse_cop.api.media`). The CPU-heavy work runs in a worker thread.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
import blurhash
from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError
from starlette.datastructures import UploadFile

from fediverse_cop.models import Account, MediaAttachment, MediaType
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid, NotFound, ServiceError

# Images over this many pixels are refused (Pillow refuses twice as many on open).
MAX_PIXELS = 40_000_000
# Animated images are re-encoded frame by frame (4 bytes a pixel in memory): all frames
# together stay under this.
MAX_ANIMATION_PIXELS = 50_000_000
THUMBNAIL_SIZE = 640
BLURHASH_SIZE = 32
MAX_DESCRIPTION = 1500
AVATAR_SIZE = 400
HEADER_SIZE = (1500, 500)

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

# Extension of each type we store, and the type each extension is served with.
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "ogv": "video/ogg",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    # Documents: only where documents are asked for (a community's library), never
    # through the client API's media endpoints.
    "pdf": "application/pdf",
}
DOCUMENT_EXTENSIONS = frozenset({"pdf"})
# A stored file's name: 32 hex digits and one of our extensions, nothing else.
NAME_PATTERN = re.compile(r"\A[0-9a-f]{32}\.(?:" + "|".join(CONTENT_TYPES) + r")\Z")

_PILLOW_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}

NOT_AN_IMAGE = "Validation failed: File content type is invalid"
TOO_MANY_PIXELS = "Validation failed: File dimensions are too large"
UNSUPPORTED = "Validation failed: File content type is invalid"


class TooLarge(ServiceError):
    status = 413


@dataclass(slots=True)
class Processed:
    """A file ready to store: its bytes, extension and what the API says about it."""

    data: bytes
    ext: str
    type: MediaType
    thumbnail: bytes | None = None
    thumbnail_ext: str = "jpg"
    blurhash: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.ext]


# -- sniffing ----------------------------------------------------------------------------


def sniff_av(data: bytes) -> tuple[str, MediaType] | None:
    """The extension and type of a video or audio file from its magic bytes, else None."""
    head = data[:64]
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "m4a", MediaType.AUDIO
        return "mp4", MediaType.VIDEO
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: only the WebM doctype, not Matroska in general.
        if b"webm" in data[:4096]:
            return "webm", MediaType.VIDEO
        return None
    if head.startswith(b"OggS"):
        page = data[:512]
        if b"\x80theora" in page:
            return "ogv", MediaType.VIDEO
        if b"\x01vorbis" in page or b"OpusHead" in page or b"\x7fFLAC" in page:
            return "ogg", MediaType.AUDIO
        return None
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav", MediaType.AUDIO
    if head.startswith(b"fLaC"):
        return "flac", MediaType.AUDIO
    if head.startswith(b"ID3"):
        return "mp3", MediaType.AUDIO
    # An MPEG audio layer III frame header: 11 sync bits, a valid version, layer III.
    if len(head) >= 4 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        version = (head[1] >> 3) & 0b11
        layer = (head[1] >> 1) & 0b11
        bitrate = head[2] >> 4
        if version != 0b01 and layer == 0b01 and bitrate not in (0, 0b1111):
            return "mp3", MediaType.AUDIO
    return None


# -- images ------------------------------------------------------------------------------


def _open_image(data: bytes) -> Image.Image:
    """Open an image we accept, with the pixel caps checked before anything is decoded."""
    try:
        # The warning (over MAX_PIXELS) becomes an error here; the explicit check below
        # refuses the same images should another thread have reset the filter meanwhile.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(_PILLOW_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Invalid(TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Invalid(NOT_AN_IMAGE) from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise Invalid(NOT_AN_IMAGE)
    if width * height > MAX_PIXELS:
        raise Invalid(TOO_MANY_PIXELS)
    frames = getattr(image, "n_frames", 1)
    if frames * width * height > MAX_ANIMATION_PIXELS:
        raise Invalid(TOO_MANY_PIXELS)
    return image


def _decode(image: Image.Image) -> None:
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Invalid(TOO_MANY_PIXELS) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Invalid(NOT_AN_IMAGE) from exc


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _flatten(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """The image in RGB, or RGBA when it has transparency and the output can keep it."""
    if keep_alpha and _has_alpha(image):
        return image.convert("RGBA")
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


# What of ``Image.info`` an encoder may see; EXIF, XMP, ICC, comments and text stay behind.
_KEPT_INFO = ("transparency", "duration", "loop", "background")


def _strip(image: Image.Image) -> Image.Image:
    """``image`` in sRGB without any metadata (Pillow writers copy some from ``info``)."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the pixels are kept as they are
    image.info = {key: image.info[key] for key in _KEPT_INFO if key in image.info}
    return image


def _encode(image: Image.Image, ext: str) -> bytes:
    """Write ``image`` afresh (no metadata is carried over)."""
    image = _strip(image)
    out = io.BytesIO()
    if ext == "jpg":
        _flatten(image, keep_alpha=False).save(out, "JPEG", quality=90, optimize=True)
    elif ext == "png":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=False)
    elif ext == "webp":
        _flatten(image, keep_alpha=True).save(out, "WEBP", quality=90)
    else:
        image.save(out, "GIF")
    return out.getvalue()


def _animated(image: Image.Image, ext: str) -> bytes:
    """Re-encode every frame of an animated GIF, WebP or PNG, keeping timing and looping."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    try:
        for frame in ImageSequence.Iterator(image):
            durations.append(int(frame.info.get("duration", 100)))
            frames.append(_strip(frame.convert("RGBA")))
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Invalid(NOT_AN_IMAGE) from exc
    out = io.BytesIO()
    options: dict[str, Any] = {
        "save_all": True,
        "append_images": frames[1:],
        "duration": durations,
        "loop": int(image.info.get("loop", 0)),
    }
    if ext == "gif":
        options["disposal"] = 2
    elif ext == "webp":
        options["quality"] = 90
    frames[0].save(out, {"gif": "GIF", "webp": "WEBP", "png": "PNG"}[ext], **options)
    return out.getvalue()


def _dimensions(width: int, height: int) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": round(width / height, 6),
    }


def _blurhash(image: Image.Image) -> str:
    small = _flatten(image, keep_alpha=False)
    small.thumbnail((BLURHASH_SIZE, BLURHASH_SIZE))
    width, height = small.size
    raw = small.tobytes()
    rows = [
        [tuple(raw[i : i + 3]) for i in range(y * width * 3, (y + 1) * width * 3, 3)]
        for y in range(height)
    ]
    return str(blurhash.encode(rows, components_x=4, components_y=3))


def _thumbnail(image: Image.Image) -> tuple[bytes, str, Image.Image]:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    if _has_alpha(thumb):
        return _encode(thumb, "png"), "png", thumb
    return _encode(thumb, "jpg"), "jpg", thumb


def process_image(data: bytes) -> Processed:
    """Decode, re-encode and thumbnail an image; Invalid if it is not one we accept."""
    image = _open_image(data)
    source_format = str(image.format)
    ext = _PILLOW_FORMATS[source_format]
    frames = getattr(image, "n_frames", 1)
    _decode(image)
    if frames > 1:
        first = image.copy()
        encoded = _animated(image, ext)
        image = first
    else:
        image = ImageOps.exif_transpose(image) or image
        encoded = _encode(image, ext)
    width, height = image.size
    thumb_bytes, thumb_ext, thumb = _thumbnail(image)
    meta = {
        "original": _dimensions(width, height),
        "small": _dimensions(*thumb.size),
    }
    return Processed(
        data=encoded,
        ext=ext,
        type=MediaType.IMAGE,
        thumbnail=thumb_bytes,
        thumbnail_ext=thumb_ext,
        blurhash=_blurhash(thumb),
        meta=meta,
    )


def sniff_document(data: bytes) -> str | None:
    """The extension of a document we keep as uploaded (PDF), from its magic bytes."""
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return "pdf"
    return None


def process_upload(data: bytes, *, documents: bool = False) -> Processed:
    """Whatever was uploaded, as a file we store: an image, a video or an audio file, and
    with ``documents`` a PDF (stored as uploaded, served for download only)."""
    if documents:
        document = sniff_document(data)
        if document is not None:
            return Processed(data=data, ext=document, type=MediaType.UNKNOWN)
    sniffed = sniff_av(data)
    if sniffed is not None:
        ext, kind = sniffed
        return Processed(data=data, ext=ext, type=kind)
    return process_image(data)


def process_profile_image(data: bytes, kind: Literal["avatar", "header"]) -> Processed:
    """An avatar (square, at most 400 px) or header (within 1500x500), as a still image."""
    image = _open_image(data)
    ext = _PILLOW_FORMATS[str(image.format)]
    _decode(image)
    image = ImageOps.exif_transpose(image) or image
    if kind == "avatar":
        side = min(image.size)
        image = ImageOps.fit(image, (side, side))
        image.thumbnail((AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
    else:
        image.thumbnail(HEADER_SIZE, Image.Resampling.LANCZOS)
    if ext == "gif":
        ext = "png"
    return Processed(data=_encode(image, ext), ext=ext, type=MediaType.IMAGE)


# -- storage -----------------------------------------------------------------------------


def new_name(ext: str) -> str:
    return f"{secrets.token_hex(16)}.{ext}"


def path_of(ctx: ServerContext, name: str) -> Path | None:
    """Where a stored file lives, or None when ``name`` is not one of our names."""
    if not NAME_PATTERN.match(name):
        return None
    return ctx.settings.media_root / name


def _write(root: Path, name: str, data: bytes) -> None:
    root.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, root / name)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def _store(ctx: ServerContext, data: bytes, ext: str) -> str:
    name = new_name(ext)
    await anyio.to_thread.run_sync(_write, ctx.settings.media_root, name, data)
    return name


def remove_files(ctx: ServerContext, *names: str | None) -> None:
    for name in names:
        path = path_of(ctx, name) if name else None
        if path is not None:
            path.unlink(missing_ok=True)


async def read_upload(ctx: ServerContext, upload: UploadFile) -> bytes:
    """The uploaded bytes, refused with 413 past the media size limit and 422 when empty."""
    limit = ctx.settings.max_media_body
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge("File is too large")
    if not data:
        raise Invalid("Validation failed: File is empty")
    return data


def media_url(ctx: ServerContext, name: str) -> str:
    return f"{ctx.settings.base_url}/media/{name}"


# -- the service -------------------------------------------------------------------------


async def store_profile_image(
    ctx: ServerContext, account: Account, upload: UploadFile, kind: Literal["avatar", "header"]
) -> str:
    """Store an avatar or header for ``account``; the public URL of the re-encoded image."""
    data = await read_upload(ctx, upload)
    processed = await anyio.to_thread.run_sync(process_profile_image, data, kind)
    name = await _store(ctx, processed.data, processed.ext)
    return media_url(ctx, name)


def parse_focus(value: str) -> tuple[float, float]:
    """``"x,y"`` with both in -1..1 (Mastodon's focal point), else Invalid."""
    parts = value.split(",")
    try:
        if len(parts) != 2:
            raise ValueError(value)
        x, y = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise Invalid("Validation failed: Focus is invalid") from exc
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise Invalid("Validation failed: Focus is invalid")
    return round(x, 2), round(y, 2)


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            f"Validation failed: Description is too long (maximum is {MAX_DESCRIPTION} characters)"
        )
    return description


async def upload(
    ctx: ServerContext,
    account: Account,
    file: UploadFile,
    *,
    description: str = "",
    focus: str | None = None,
    thumbnail: UploadFile | None = None,
    documents: bool = False,
) -> MediaAttachment:
    """Store an upload for ``account`` as a MediaAttachment not yet attached to a status
    (``documents``: PDFs too, for a community's library)."""
    description = check_description(description)
    focus_x, focus_y = parse_focus(focus) if focus else (0.0, 0.0)
    data = await read_upload(ctx, file)
    processed = await anyio.to_thread.run_sync(
        functools.partial(process_upload, data, documents=documents)
    )
    if thumbnail is not None and processed.type in (MediaType.VIDEO, MediaType.AUDIO):
        cover = await anyio.to_thread.run_sync(process_image, await read_upload(ctx, thumbnail))
        processed.thumbnail = cover.data
        processed.thumbnail_ext = cover.ext
        processed.blurhash = cover.blurhash
        processed.meta["small"] = cover.meta["original"]
    file_name = await _store(ctx, processed.data, processed.ext)
    thumbnail_name = None
    if processed.thumbnail is not None:
        thumbnail_name = await _store(ctx, processed.thumbnail, processed.thumbnail_ext)
    try:
        return await MediaAttachment.create(
            account=account,
            type=processed.type,
            content_type=processed.content_type,
            file_name=file_name,
            thumbnail_name=thumbnail_name,
            size=len(processed.data),
            sha256=hashlib.sha256(processed.data).hexdigest(),
            description=description,
            blurhash=processed.blurhash,
            focus_x=focus_x,
            focus_y=focus_y,
            meta=processed.meta,
        )
    except BaseException:
        remove_files(ctx, file_name, thumbnail_name)
        raise


async def owned(account: Account, media_id: str | int) -> MediaAttachment:
    """The account's own media attachment, or NotFound (also for anyone else's)."""
    try:
        key = int(media_id)
    except ValueError:
        key = -1
    media = await MediaAttachment.get_or_none(id=key, account_id=account.id)
    if media is None:
        raise NotFound("Record not found")
    return media


async def update(
    media: MediaAttachment, *, description: str | None = None, focus: str | None = None
) -> MediaAttachment:
    """Change the alt text or the focal point."""
    fields: list[str] = []
    if description is not None:
        media.description = check_description(description)
        fields.append("description")
    if focus is not None:
        media.focus_x, media.focus_y = parse_focus(focus) if focus else (0.0, 0.0)
        fields += ["focus_x", "focus_y"]
    if fields:
        await media.save(update_fields=fields)
    return media


async def delete(ctx: ServerContext, media: MediaAttachment) -> None:
    """Delete an attachment and its files."""
    names = (media.file_name, media.thumbnail_name)
    await media.delete()
    await anyio.to_thread.run_sync(lambda: remove_files(ctx, *names))


# -- federation --------------------------------------------------------------------------

_DOCUMENT_TYPES = {
    MediaType.IMAGE: "Image",
    MediaType.GIFV: "Video",
    MediaType.VIDEO: "Video",
    MediaType.AUDIO: "Audio",
}


def as_document(ctx: ServerContext, media: MediaAttachment) -> dict[str, Any]:
    """The ActivityStreams object of a local attachment, for a ``Note``'s ``attachment``."""
    url = media_url(ctx, media.file_name) if media.file_name else media.remote_url
    document: dict[str, Any] = {
        "type": _DOCUMENT_TYPES.get(media.type, "Document"),
        "mediaType": media.content_type,
        "url": url,
        "name": media.description or None,
    }
    if media.blurhash:
        document["blurhash"] = media.blurhash
    original = media.meta.get("original") if isinstance(media.meta, dict) else None
    if isinstance(original, dict) and "width" in original and "height" in original:
        document["width"] = original["width"]
        document["height"] = original["height"]
    if media.type in (MediaType.IMAGE, MediaType.GIFV):
        document["focalPoint"] = [media.focus_x, media.focus_y]
    return document
