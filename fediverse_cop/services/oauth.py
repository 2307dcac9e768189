"""OAuth 2 apps and tokens: registering clients, issuing, finding and revoking tokens.

Client secrets, authorization codes and tokens are random strings of 256 bits
handed out once; only their SHA-256 digests are stored (see models/oauth.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fediverse_cop.models import Account, OAuthApp, OAuthToken
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.context import utcnow

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
# last_used_at is written at most this often per token, not on every request.
_TOUCH_EVERY = timedelta(minutes=10)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


@dataclass(frozen=True, slots=True)
class RegisteredApp:
    app: OAuthApp
    client_secret: str


async def register_app(
    name: str,
    redirect_uris: list[str],
    scopes: frozenset[str],
    website: str | None = None,
    owner: Account | None = None,
) -> RegisteredApp:
    secret = new_secret()
    app = await OAuthApp.create(
        name=name,
        website=website,
        redirect_uris=redirect_uris,
        scopes=scope_rules.to_string(scopes),
        client_id=secrets.token_urlsafe(32),
        client_secret_digest=digest(secret),
        owner=owner,
    )
    return RegisteredApp(app, secret)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: OAuthToken
    access_token: str
    refresh_token: str | None


async def issue_token(
    app: OAuthApp,
    account: Account | None,
    scopes: frozenset[str],
    *,
    with_refresh: bool = False,
) -> IssuedToken:
    access = new_secret()
    refresh = new_secret() if with_refresh else None
    token = await OAuthToken.create(
        digest=digest(access),
        refresh_digest=digest(refresh) if refresh else None,
        app=app,
        account=account,
        scopes=scope_rules.to_string(scopes),
    )
    return IssuedToken(token, access, refresh)


async def find_token(access_token: str, now: datetime | None = None) -> OAuthToken | None:
    """The live token for this secret (not revoked or expired; its user active), or None."""
    if not access_token or len(access_token) > 256:
        return None
    token = await OAuthToken.get_or_none(digest=digest(access_token)).prefetch_related(
        "account", "app"
    )
    moment = now or utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= moment:
        return None
    account = token.account
    if account is not None and (
        not account.local or account.is_suspended or account.deleted_at is not None
    ):
        return None
    if token.last_used_at is None or moment - token.last_used_at > _TOUCH_EVERY:
        token.last_used_at = moment
        await OAuthToken.filter(id=token.id).update(last_used_at=moment)
    return token


async def revoke_token(token: OAuthToken) -> None:
    await OAuthToken.filter(id=token.id, revoked_at=None).update(revoked_at=utcnow())


async def revoke_account_tokens(account: Account) -> int:
    """Revoke every token of a user (password reset, suspension); returns how many."""
    return await OAuthToken.filter(account=account, revoked_at=None).update(revoked_at=utcnow())


def token_scopes(token: OAuthToken) -> frozenset[str]:
    return frozenset(token.scopes.split())
