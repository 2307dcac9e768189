"""OAuth 2 endpoints: authorize (sign-in and consent page), token, revoke, metadata, userinfo.

``/oauth/authorize`` shows the app and the scopes with a sign-in form. The server
keeps no browser sessions, so every authorization asks for the password
(``force_login`` is always honoured). The form is protected by a CSRF token: an
HMAC, under the instance's secret key, of a random value kept in a cookie, the
time and the authorization parameters; the form posts back to the same path, so
the sign-in rate limit of the API middleware applies to it.

The token endpoint answers in OAuth's error shape (RFC 6749 §5.2):
``{"error": "invalid_grant", "error_description": "…"}`` with 400, or 401 for a
client that failed to authenticate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fediverse_cop.api import pages
from fediverse_cop.api.auth import (
    INVALID_TOKEN,
    OUTSIDE_SCOPES,
    USER_REQUIRED,
    Forbidden,
    Unauthorized,
    authenticate,
)
from fediverse_cop.api.entities import DEFAULT_AVATAR_PATH
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import OAuthApp
from fediverse_cop.services import oauth
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.settings import Settings

CSRF_COOKIE = "cop_oauth_csrf"
CSRF_FIELD = "authenticity_token"
CSRF_MAX_AGE = 3600
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
MAX_STATE = 2000
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.ctx.settings
    return settings


# -- the authorization request ------------------------------------------------------------


class PageError(Exception):
    """A bad request that must not be redirected (unknown client or redirect URI)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class RedirectError(Exception):
    """A bad request reported to the app through its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


@dataclass(frozen=True, slots=True)
class Authorization:
    app: OAuthApp
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    code_challenge: str | None

    def fields(self) -> dict[str, str]:
        """The parameters the form carries back, in a fixed order."""
        values = {
            "client_id": self.app.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": scope_rules.to_string(self.scopes),
        }
        if self.state is not None:
            values["state"] = self.state
        if self.code_challenge is not None:
            values["code_challenge"] = self.code_challenge
            values["code_challenge_method"] = "S256"
        return values


async def read_authorization(params: Params) -> Authorization:
    """Check an authorization request; raise PageError or RedirectError when it is bad."""
    try:
        client_id = params.text("client_id", max_length=100)
        redirect_uri = params.text("redirect_uri", max_length=oauth.MAX_REDIRECT_URI_LENGTH)
        response_type = params.text("response_type", max_length=100)
        scope = params.text("scope", max_length=2000)
        state = params.text("state", max_length=MAX_STATE)
        challenge = params.text("code_challenge", max_length=200)
        method = params.text("code_challenge_method", max_length=20)
    except ServiceError as exc:
        raise PageError("Invalid request", str(exc)) from None
    app = await oauth.find_app(client_id)
    if app is None:
        raise PageError("Unknown app", "No app is registered with this client_id.")
    if redirect_uri is None and len(app.redirect_uris) == 1:
        redirect_uri = app.redirect_uris[0]
    if redirect_uri is None or redirect_uri not in app.redirect_uris:
        raise PageError("Invalid redirect URI", "The redirect_uri is not one the app registered.")
    if response_type != "code":
        raise RedirectError(
            "unsupported_response_type",
            "Only response_type=code is supported.",
            redirect_uri,
            state,
        )
    try:
        scopes = oauth.requested_scopes(app, scope)
    except oauth.GrantRefused as exc:
        raise RedirectError(exc.error, exc.description, redirect_uri, state) from None
    if challenge is not None or method is not None:
        if method != "S256":
            raise RedirectError(
                "invalid_request", "code_challenge_method must be S256.", redirect_uri, state
            )
        if challenge is None or not oauth.valid_pkce_value(challenge):
            raise RedirectError(
                "invalid_request", "code_challenge is missing or malformed.", redirect_uri, state
            )
    return Authorization(app, redirect_uri, scopes, state, challenge)


async def _checked(params: Params) -> Authorization | Response:
    """The authorization request, or the response that refuses it."""
    try:
        return await read_authorization(params)
    except PageError as exc:
        return pages.message_page(exc.title, exc.message, 400)
    except RedirectError as exc:
        return _refuse(exc.redirect_uri, exc.error, exc.description, exc.state)


def _refuse(redirect_uri: str, error: str, description: str, state: str | None) -> Response:
    if redirect_uri == oauth.OOB_REDIRECT:
        return pages.message_page("Authorization refused", description, 400)
    values = {"error": error, "error_description": description}
    if state is not None:
        values["state"] = state
    return _redirect(redirect_uri, values)


def _redirect(redirect_uri: str, values: dict[str, str]) -> Response:
    # Appended to the registered URI as it is: private-use schemes are case-sensitive
    # to some apps, and a registered URI never has a fragment.
    separator = "&" if "?" in redirect_uri else "?"
    location = redirect_uri + separator + urlencode(values)
    return Response(status_code=302, headers={**pages.SECURITY_HEADERS, "Location": location})


# -- CSRF ---------------------------------------------------------------------------------


def _mac(secret_key: str, nonce: str, issued: int, fields: dict[str, str]) -> str:
    message = "\x00".join(["oauth-authorize", nonce, str(issued), *fields.values()])
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def csrf_token(secret_key: str, nonce: str, fields: dict[str, str], now: float) -> str:
    issued = int(now)
    return f"{issued}.{_mac(secret_key, nonce, issued, fields)}"


def csrf_valid(
    secret_key: str, nonce: str | None, token: str | None, fields: dict[str, str], now: float
) -> bool:
    if not nonce or not _NONCE.match(nonce) or not token:
        return False
    issued_text, _, mac = token.partition(".")
    if not (issued_text.isascii() and issued_text.isdigit()):
        return False
    if not 0 <= now - int(issued_text) <= CSRF_MAX_AGE:
        return False
    return hmac.compare_digest(mac, _mac(secret_key, nonce, int(issued_text), fields))


def _form(
    request: Request,
    authorization: Authorization,
    *,
    username: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    settings = _settings(request)
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not _NONCE.match(nonce):
        nonce = secrets.token_urlsafe(24)
    fields = authorization.fields()
    hidden = {**fields, CSRF_FIELD: csrf_token(settings.secret_key, nonce, fields, time.time())}
    app = authorization.app
    response = pages.authorize_page(
        instance=settings.domain,
        app_name=app.name,
        website=app.website,
        scopes=sorted(authorization.scopes, key=lambda s: (":" in s, s)),
        hidden=hidden,
        username=username,
        error=error,
        status=status,
    )
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        max_age=CSRF_MAX_AGE,
        path="/oauth",
        secure=settings.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


# -- /oauth/authorize ---------------------------------------------------------------------


async def authorize_form(request: Request) -> Response:
    checked = await _checked(await Params.read(request))
    if isinstance(checked, Response):
        return checked
    return _form(request, checked)


async def authorize(request: Request) -> Response:
    try:
        params = await Params.read(request)
    except ServiceError as exc:
        return pages.message_page("Invalid request", str(exc), 400)
    checked = await _checked(params)
    if isinstance(checked, Response):
        return checked
    authorization = checked
    try:
        username = (params.text("username", max_length=400) or "").strip()
        password = params.text("password", max_length=2000) or ""
        token = params.text(CSRF_FIELD, max_length=200)
        decision = params.text("decision", max_length=20) or "approve"
    except ServiceError as exc:
        return pages.message_page("Invalid request", str(exc), 400)
    secret_key = _settings(request).secret_key
    nonce = request.cookies.get(CSRF_COOKIE)
    if not csrf_valid(secret_key, nonce, token, authorization.fields(), time.time()):
        return _form(
            request,
            authorization,
            username=username,
            error="This form has expired or did not come from this site. Please sign in again.",
            status=403,
        )
    if decision == "deny":
        return _refuse(
            authorization.redirect_uri,
            "access_denied",
            "The user denied the request.",
            authorization.state,
        )
    try:
        account = await oauth.authenticate_user(username, password)
    except oauth.LoginRefused as exc:
        return _form(request, authorization, username=username, error=str(exc), status=401)
    code = await oauth.issue_code(
        authorization.app,
        account,
        authorization.redirect_uri,
        authorization.scopes,
        authorization.code_challenge,
    )
    if authorization.redirect_uri == oauth.OOB_REDIRECT:
        return pages.code_page(authorization.app.name, code)
    values = {"code": code}
    if authorization.state is not None:
        values["state"] = authorization.state
    return _redirect(authorization.redirect_uri, values)


# -- /oauth/token and /oauth/revoke -------------------------------------------------------


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth", error="invalid_client"'
    return ok({"error": error, "error_description": description}, status, headers)


def _client_credentials(request: Request, params: Params) -> tuple[str | None, str | None]:
    """client_secret_basic (the Authorization header) or client_secret_post (the body)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return unquote(client_id), unquote(client_secret)
    return (
        params.text("client_id", max_length=100),
        params.text("client_secret", max_length=256),
    )


GRANT_TYPES = ("authorization_code", "client_credentials")


def grant_types(settings: Settings) -> list[str]:
    return [*GRANT_TYPES, "password"] if settings.oauth_password_grant else list(GRANT_TYPES)


async def token(request: Request) -> Response:
    try:
        params = await Params.read(request)
        grant_type = params.text("grant_type", max_length=100)
        if grant_type not in grant_types(_settings(request)):
            if grant_type == "password":
                return oauth_error(
                    "unsupported_grant_type", "The password grant is disabled on this server."
                )
            return oauth_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        client_id, client_secret = _client_credentials(request, params)
        app = await oauth.authenticate_client(client_id, client_secret)
        if grant_type == "authorization_code":
            code = params.text("code", max_length=256)
            if not code:
                return oauth_error("invalid_request", "The code parameter is missing.")
            issued = await oauth.redeem_code(
                app,
                code,
                params.text("redirect_uri", max_length=oauth.MAX_REDIRECT_URI_LENGTH),
                params.text("code_verifier", max_length=200),
            )
        elif grant_type == "client_credentials":
            scopes = oauth.requested_scopes(app, params.text("scope", max_length=2000))
            issued = await oauth.issue_token(app, None, scopes)
        else:
            scopes = oauth.requested_scopes(app, params.text("scope", max_length=2000))
            login = params.text("username", max_length=400) or params.text("email", max_length=400)
            try:
                account = await oauth.authenticate_user(
                    login or "", params.text("password", max_length=2000) or ""
                )
            except oauth.LoginRefused as exc:
                return oauth_error("invalid_grant", str(exc))
            issued = await oauth.issue_token(app, account, scopes)
    except oauth.GrantRefused as exc:
        return oauth_error(
            exc.error, exc.description, 401 if exc.error == "invalid_client" else 400
        )
    except ServiceError as exc:
        return oauth_error("invalid_request", str(exc))
    return ok(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "scope": issued.token.scopes,
            "created_at": int(issued.token.created_at.timestamp()),
        },
        headers=NO_STORE,
    )


async def revoke(request: Request) -> Response:
    try:
        params = await Params.read(request)
        client_id, client_secret = _client_credentials(request, params)
        app = await oauth.authenticate_client(client_id, client_secret)
        secret = params.text("token", max_length=256)
    except oauth.GrantRefused as exc:
        return oauth_error(exc.error, exc.description, 401)
    except ServiceError as exc:
        return oauth_error("invalid_request", str(exc))
    if not secret:
        return oauth_error("invalid_request", "The token parameter is missing.")
    if not await oauth.revoke_for_client(app, secret):
        return oauth_error(
            "unauthorized_client", "You are not authorized to revoke this token.", 403
        )
    return ok({}, headers=NO_STORE)


# -- discovery and userinfo ---------------------------------------------------------------


async def server_metadata(request: Request) -> Response:
    """RFC 8414 metadata, as Mastodon (4.3+) publishes it."""
    settings = _settings(request)
    base = settings.base_url
    return ok(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "scopes_supported": sorted(scope_rules.ALL, key=lambda s: (s.count(":"), s)),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": grant_types(settings),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
        },
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def userinfo(request: Request) -> Response:
    """OpenID Connect style claims of the signed-in user (``profile`` or ``read:accounts``)."""
    auth = await authenticate(request)
    if auth is None:
        raise Unauthorized(INVALID_TOKEN)
    if not (auth.allows("profile") or auth.allows("read:accounts")):
        raise Forbidden(OUTSIDE_SCOPES)
    account = auth.account
    if account is None:
        raise Unauthorized(USER_REQUIRED)
    base = _settings(request).base_url
    claims: dict[str, Any] = {
        "iss": f"{base}/",
        "sub": account.uri,
        "name": account.display_name or account.username,
        "preferred_username": account.username,
        "profile": account.url or account.uri,
        "picture": account.avatar_uri or f"{base}{DEFAULT_AVATAR_PATH}",
    }
    return ok(claims, headers=NO_STORE)


routes = [
    Route("/oauth/authorize", authorize_form, methods=["GET"]),
    Route("/oauth/authorize/", authorize_form, methods=["GET"]),
    Route("/oauth/authorize", authorize, methods=["POST"]),
    Route("/oauth/authorize/", authorize, methods=["POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
]
