"""The Starlette application factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fediverse_cop import api, db
from fediverse_cop.api.middleware import ApiMiddleware
from fediverse_cop.middleware import BodyLimitMiddleware, RequestIdMiddleware
from fediverse_cop.runtime import background_workers, make_http_client
from fediverse_cop.services import instance, push
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.services.remote import federation_for
from fediverse_cop.settings import Settings, load_settings
from fediverse_cop.streaming import hub as streaming_hub
from fediverse_cop.web import federation
from fediverse_cop.web import inbox as inbox_routes
from fediverse_cop.web import objects as object_routes
from fediverse_cop.web.authorized_fetch import AuthorizedFetchMiddleware
from inbox.receive import InboxReceiver

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    if await db.ping():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = getattr(exc, "headers", None)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)


async def service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    body: dict[str, object] = {"error": str(exc)}
    if exc.status == 422:
        # Mastodon's ValidationError carries per-field details; clients read "error".
        body["details"] = {}
    return JSONResponse(body, status_code=exc.status)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"error": "internal server error"}, status_code=500)


def create_app(settings: Settings | None = None) -> Starlette:
    current = settings or load_settings()
    ctx = ServerContext(current)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect(current)
        try:
            pending = await db.pending_migrations()
            if pending and current.is_sqlite:
                await db.migrate()
            elif pending:
                raise RuntimeError(
                    f"the database needs {len(pending)} migration(s): run `fediverse-cop migrate`"
                )
            await instance.ensure_instance(ctx)
            async with contextlib.AsyncExitStack() as stack:
                http = await stack.enter_async_context(make_http_client(current))
                fed = await federation_for(ctx, http)
                app.state.http = http
                app.state.fed = fed
                app.state.inbox = InboxReceiver(fed)
                app.state.streaming = await stack.enter_async_context(streaming_hub.running(ctx))
                if current.in_process_workers:
                    await stack.enter_async_context(background_workers(fed))
                else:
                    # Notifications made by this process's requests are pushed from here;
                    # with in-process workers the workers' pusher does it.
                    await stack.enter_async_context(push.running(ctx, http))
                yield
        finally:
            await db.disconnect()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            *inbox_routes.routes,
            *object_routes.routes,
            *federation.routes,
            *api.routes(),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_body=current.max_request_body,
                upload_paths=api.UPLOAD_PATHS,
                max_upload=current.max_media_body,
            ),
            Middleware(ApiMiddleware, requests_per_window=current.api_rate_limit),
            *([Middleware(AuthorizedFetchMiddleware)] if current.authorized_fetch else []),
        ],
        exception_handlers={
            HTTPException: http_error,
            ServiceError: service_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = current
    app.state.ctx = ctx
    return app
