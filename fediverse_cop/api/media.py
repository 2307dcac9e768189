"""Media: ``/api/v1/media``, ``/api/v2/media`` and the stored files under ``/media/``.

Uploads are processed while the request waits (see :mod:`fediverse_cop.services.media`),
so v2 answers 200 with the finished attachment, as Mastodon does for small files. An
attachment can be read, changed and deleted by its owner until a status uses it; after
that it answers 404, as in Mastodon (alt text of a posted attachment changes through
the status edit). ``GET /media/{name}`` serves stored files under a strict name pattern
with the type sniffed at upload, ``nosniff`` and a CSP that lets nothing run.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import error, ok
from fediverse_cop.models import Account, MediaAttachment
from fediverse_cop.services import media as media_service
from fediverse_cop.services.errors import Invalid, NotFound

SCOPE = "write:media"
# Longer descriptions are refused by the service with Mastodon's message.
MAX_TEXT = 100_000
IN_USE = "Media attachment is currently used by a status"
STORED_FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    # Names are random and files never change: cache them for a year.
    "Cache-Control": "public, max-age=31536000, immutable",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
}


async def create(request: Request) -> Response:
    account = await require_user(request, SCOPE)
    params = await Params.read(request)
    upload = params.file("file")
    if upload is None:
        raise Invalid("Validation failed: File can't be blank")
    thumbnail = params.file("thumbnail")
    try:
        attachment = await media_service.upload(
            request.app.state.ctx,
            account,
            upload,
            description=params.text("description", "", max_length=MAX_TEXT) or "",
            focus=params.text("focus", max_length=64),
            thumbnail=thumbnail,
        )
    finally:
        await upload.close()
        if thumbnail is not None:
            await thumbnail.close()
    return ok(Serializer(request.app.state.ctx, account).media_attachment(attachment))


async def _unattached(request: Request) -> tuple[Account, MediaAttachment]:
    account = await require_user(request, SCOPE)
    attachment = await media_service.owned(account, request.path_params["id"])
    if attachment.status_id is not None:  # type: ignore[attr-defined]
        raise NotFound("Record not found")
    return account, attachment


async def show(request: Request) -> Response:
    account, attachment = await _unattached(request)
    return ok(Serializer(request.app.state.ctx, account).media_attachment(attachment))


async def update(request: Request) -> Response:
    account, attachment = await _unattached(request)
    params = await Params.read(request)
    await media_service.update(
        attachment,
        description=params.text("description", max_length=MAX_TEXT),
        focus=params.text("focus", max_length=64),
    )
    return ok(Serializer(request.app.state.ctx, account).media_attachment(attachment))


async def destroy(request: Request) -> Response:
    account = await require_user(request, SCOPE)
    attachment = await media_service.owned(account, request.path_params["id"])
    if attachment.status_id is not None:  # type: ignore[attr-defined]
        # Mastodon's message; ``details`` is what its ValidationError entity adds.
        return ok({"error": IN_USE, "details": {}}, status=422)
    await media_service.delete(request.app.state.ctx, attachment)
    return ok({})


async def stored_file(request: Request) -> Response:
    path = media_service.path_of(request.app.state.ctx, request.path_params["name"])
    if path is None or not await anyio.to_thread.run_sync(path.is_file):
        return error("Record not found", 404)
    ext = path.suffix.removeprefix(".")
    headers = dict(STORED_FILE_HEADERS)
    if ext in media_service.DOCUMENT_EXTENSIONS:
        # Documents are downloaded, never rendered by the browser on our origin.
        headers["Content-Disposition"] = "attachment"
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return FileResponse(path, media_type=media_service.CONTENT_TYPES[ext], headers=headers)


routes: list[BaseRoute] = [
    Route("/api/v1/media", create, methods=["POST"]),
    Route("/api/v2/media", create, methods=["POST"]),
    Route("/api/v1/media/{id}", show, methods=["GET"]),
    Route("/api/v1/media/{id}", update, methods=["PUT"]),
    Route("/api/v1/media/{id}", destroy, methods=["DELETE"]),
    Route("/media/{name}", stored_file, methods=["GET", "HEAD"]),
]
