"""Client apps: ``POST /api/v1/apps`` registers one, ``GET /api/v1/apps/verify_credentials``.

Clients register with a form, multipart, JSON or the query string (Ice Cubes);
``redirect_uris`` is one string with URIs separated by whitespace or an array.
Which redirect URIs are accepted is decided in services/oauth.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fediverse_cop.api.auth import INVALID_TOKEN, Unauthorized, authenticate
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import OAuthApp
from fediverse_cop.services import oauth, push
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.errors import Invalid

# Mastodon's limits on an application's fields.
MAX_NAME = 60
MAX_WEBSITE = 2000


def application(
    app: OAuthApp, client_secret: str | None = None, *, vapid_key: str = ""
) -> dict[str, Any]:
    """The Application entity; with the secret, the CredentialApplication of a new app.

    ``vapid_key`` (deprecated in Mastodon, still read by apps) is the instance's Web Push key.
    """
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": vapid_key,
    }
    if client_secret is not None:
        entity["client_id"] = app.client_id
        entity["client_secret"] = client_secret
        entity["client_secret_expires_at"] = 0
    return entity


def _website(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_WEBSITE:
        raise Invalid(f"Validation failed: Website is longer than {MAX_WEBSITE} characters")
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid("Validation failed: Website must be an http or https URL")
    return text


def _joined(params: Params, name: str) -> str | None:
    """A parameter that some clients send as a string and others as an array."""
    if isinstance(params.raw(name), list | dict):
        return " ".join(params.texts(name))
    return params.text(name, max_length=10_000)


async def create_app(request: Request) -> Response:
    params = await Params.read(request)
    name = (params.text("client_name", max_length=1000) or "").strip()
    if not name:
        raise Invalid("Validation failed: Application name can't be blank")
    if len(name) > MAX_NAME:
        raise Invalid(f"Validation failed: Application name is longer than {MAX_NAME} characters")
    raw_uris = _joined(params, "redirect_uris")
    if raw_uris is None:
        raw_uris = params.text("redirect_uri", max_length=10_000)
    try:
        redirect_uris = oauth.parse_redirect_uris(raw_uris or "")
    except oauth.InvalidRedirectUri as exc:
        raise Invalid(f"Validation failed: Redirect URI {exc}") from None
    try:
        scopes = scope_rules.parse(_joined(params, "scopes"))
    except scope_rules.InvalidScope as exc:
        raise Invalid(f"Validation failed: Scopes: {exc}") from None
    website = _website(params.text("website", max_length=MAX_WEBSITE + 1))
    registered = await oauth.register_app(name, redirect_uris, scopes, website=website)
    return ok(
        application(
            registered.app, registered.client_secret, vapid_key=await push.vapid_public_key()
        )
    )


async def verify_credentials(request: Request) -> Response:
    """Any valid token, an app's or a user's, shows its app."""
    auth = await authenticate(request)
    if auth is None:
        raise Unauthorized(INVALID_TOKEN)
    app = await OAuthApp.get(id=auth.token.app_id)  # type: ignore[attr-defined]
    return ok(application(app, vapid_key=await push.vapid_public_key()))


routes = [
    Route("/api/v1/apps", create_app, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_credentials, methods=["GET"]),
]
