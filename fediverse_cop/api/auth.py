"""Bearer tokens of the client API: who is asking, and may they.

The token comes from ``Authorization: Bearer …`` or, as Doorkeeper (Mastodon)
allows, an ``access_token`` query parameter. A missing token is anonymous; a
token that is wrong, revoked or expired answers 401 even where anonymous access
would do, so a client learns its login is gone. A missing scope answers 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from fediverse_cop.models import Account, OAuthToken
from fediverse_cop.services import oauth
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.errors import ServiceError


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


INVALID_TOKEN = "The access token is invalid"  # noqa: S105 (a message, not a secret)
OUTSIDE_SCOPES = "This action is outside the authorized scopes"
USER_REQUIRED = "This method requires an authenticated user"


@dataclass(frozen=True, slots=True)
class Auth:
    token: OAuthToken
    account: Account | None
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope_rules.allows(self.scopes, scope)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("access_token") or None


async def authenticate(request: Request) -> Auth | None:
    """The request's token, checked once per request; None when it carries none."""
    if hasattr(request.state, "auth"):
        cached: Auth | None = request.state.auth
        return cached
    secret = bearer_token(request)
    auth: Auth | None = None
    if secret is not None:
        token = await oauth.find_token(secret)
        if token is None:
            raise Unauthorized(INVALID_TOKEN)
        account = token.account if token.account_id is not None else None  # type: ignore[attr-defined]
        auth = Auth(token, account, oauth.token_scopes(token))
    request.state.auth = auth
    return auth


async def require_scope(request: Request, scope: str) -> Auth:
    """A valid token with ``scope`` (an app token will do)."""
    auth = await authenticate(request)
    if auth is None:
        raise Unauthorized(INVALID_TOKEN)
    if not auth.allows(scope):
        raise Forbidden(OUTSIDE_SCOPES)
    return auth


async def require_user(request: Request, scope: str) -> Account:
    """The local user behind a valid token with ``scope``."""
    auth = await require_scope(request, scope)
    if auth.account is None:
        raise Unauthorized(USER_REQUIRED)
    return auth.account


async def optional_user(request: Request, scope: str = "read") -> Account | None:
    """The viewer of a public endpoint: anonymous without a token, the user with one.

    A token without the scope is treated as anonymous rather than refused, as Mastodon
    does for public reads.
    """
    auth = await authenticate(request)
    if auth is None or auth.account is None or not auth.allows(scope):
        return None
    return auth.account
