"""OAuth 2 apps, codes and tokens: registering clients, signing in, issuing and revoking.

Client secrets, authorization codes and tokens are random strings of 256 bits
handed out once; only their SHA-256 digests are stored (see models/oauth.py).
Refusals of the token endpoint raise :class:`GrantRefused` with the OAuth error
code (RFC 6749 §5.2); the API layer turns it into the OAuth error shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tortoise.queryset import QuerySet

from fediverse_cop.models import Account, ActorType, OAuthApp, OAuthCode, OAuthToken, acct_key
from fediverse_cop.prepared import PreparedQueries, Value
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
MAX_REDIRECT_URIS = 20
MAX_REDIRECT_URI_LENGTH = 2000
# Schemes a browser would run or read locally instead of handing to an app.
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
# RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
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


# Every API request reads its token: its SQL is built once (fediverse_cop.prepared).
_TOKENS = PreparedQueries(OAuthToken)


def _token_by_digest(values: Mapping[str, Value]) -> QuerySet[OAuthToken]:
    return OAuthToken.filter(digest=values["digest"]).select_related("account").limit(1)


async def find_token(access_token: str, now: datetime | None = None) -> OAuthToken | None:
    """The live token for this secret (not revoked or expired; its user active), or None.

    The token comes with its account; its app is not loaded (``token.app_id``)."""
    if not access_token or len(access_token) > 256:
        return None
    found = await _TOKENS.fetch("by digest", _token_by_digest, digest=digest(access_token))
    token = found[0] if found else None
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


class GrantRefused(Exception):
    """An OAuth request refused with an RFC 6749 error code and a description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class LoginRefused(Exception):
    """A sign-in refused; ``str()`` is safe to show on the sign-in page."""


# -- apps ---------------------------------------------------------------------------------


class InvalidRedirectUri(ValueError):
    pass


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri: str) -> str:
    """A redirect URI an app may register, or :class:`InvalidRedirectUri` saying why not.

    Accepted: the out-of-band URN, ``https`` URLs, plain ``http`` only to a loopback
    address (native apps listening locally, RFC 8252 §7.3), and private-use schemes
    of native apps (``com.tapbots.Ivory.10217:/request_token``, ``icecubesapp://``).
    Refused: relative URIs, fragments (RFC 6749 §3.1.2), whitespace, and schemes a
    browser would execute or read locally (``javascript:``, ``data:``, ``file:``).
    """
    if uri == OOB_REDIRECT:
        return uri
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise InvalidRedirectUri(f"is longer than {MAX_REDIRECT_URI_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        raise InvalidRedirectUri("must not contain spaces or control characters")
    scheme, sep, _ = uri.partition(":")
    if not sep or not _SCHEME.match(scheme):
        raise InvalidRedirectUri("must be an absolute URI")
    if "#" in uri:
        raise InvalidRedirectUri("must not contain a fragment")
    scheme = scheme.lower()
    if scheme in _FORBIDDEN_SCHEMES:
        raise InvalidRedirectUri(f"must not use the {scheme}: scheme")
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        raise InvalidRedirectUri("must be an absolute URI") from None
    if scheme in ("http", "https"):
        if not host:
            raise InvalidRedirectUri("must name a host")
        if parts.username is not None or parts.password is not None:
            raise InvalidRedirectUri("must not contain credentials")
        if scheme == "http" and not _is_loopback(host):
            raise InvalidRedirectUri("must use https (plain http only to a loopback address)")
    elif len(uri) == len(scheme) + 1:
        raise InvalidRedirectUri("must be an absolute URI")
    return uri


def parse_redirect_uris(value: str | list[str]) -> list[str]:
    """Split and validate the ``redirect_uris`` of an app (one string or a list), in order."""
    pieces = value.split() if isinstance(value, str) else [p for v in value for p in v.split()]
    uris = list(dict.fromkeys(pieces))
    if not uris:
        raise InvalidRedirectUri("can't be blank")
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidRedirectUri(f"may list at most {MAX_REDIRECT_URIS} URIs")
    return [validate_redirect_uri(uri) for uri in uris]


def app_scopes(app: OAuthApp) -> frozenset[str]:
    return frozenset(app.scopes.split())


def requested_scopes(app: OAuthApp, value: str | None) -> frozenset[str]:
    """The scopes asked for (``read`` by default, else the app's), within the app's.

    Raises :class:`GrantRefused` ``invalid_scope`` for unknown or wider scopes.
    """
    allowed = app_scopes(app)
    if not (value or "").strip():
        default = frozenset({"read"})
        return default if scope_rules.subset(default, allowed) else allowed
    try:
        scopes = scope_rules.parse(value)
    except scope_rules.InvalidScope as exc:
        raise GrantRefused("invalid_scope", f"The requested scope is invalid: {exc}.") from None
    if not scope_rules.subset(scopes, allowed):
        raise GrantRefused(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed: "
            "it asks for more than the app registered.",
        )
    return scopes


async def find_app(client_id: str | None) -> OAuthApp | None:
    if not client_id or len(client_id) > 64:
        return None
    return await OAuthApp.get_or_none(client_id=client_id)


async def authenticate_client(client_id: str | None, client_secret: str | None) -> OAuthApp:
    """The app these client credentials belong to, or :class:`GrantRefused` ``invalid_client``."""
    app = await find_app(client_id)
    secret = client_secret or ""
    if app is not None and secret and secret_matches(secret, app.client_secret_digest):
        return app
    raise GrantRefused(
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication "
        "included, or unsupported authentication method.",
    )


# -- signing in ---------------------------------------------------------------------------


WRONG_LOGIN = "Invalid username or password."
_dummy_hash: list[str] = []


def _spend_a_verification(password: str) -> None:
    """Verify against a throwaway hash, so an unknown name takes as long as a wrong password."""
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_urlsafe(16)))
    verify_password(_dummy_hash[0], password)


async def authenticate_user(login: str, password: str) -> Account:
    """The local user with this handle (or e-mail address) and password.

    Only approved, unsuspended, undeleted local people may sign in. Whether the name
    exists is never told apart from a wrong password; why a known account is refused
    is told only to someone who gave its password.
    """
    name = login.strip().removeprefix("@")
    if not name or not password or len(name) > 320 or len(password) > MAX_PASSWORD_LENGTH:
        raise LoginRefused(WRONG_LOGIN)
    query = Account.filter(local=True, actor_type=ActorType.PERSON)
    if "@" in name:
        query = query.filter(email=name.lower())
    else:
        query = query.filter(acct_key=acct_key(name, None))
    account = await query.first()
    if account is None or not account.password_hash:
        _spend_a_verification(password)
        raise LoginRefused(WRONG_LOGIN)
    if not verify_password(account.password_hash, password):
        raise LoginRefused(WRONG_LOGIN)
    if account.deleted_at is not None:
        raise LoginRefused(WRONG_LOGIN)
    if account.is_suspended:
        raise LoginRefused("This account is suspended.")
    if not account.approved:
        raise LoginRefused("This account is waiting for approval by a moderator.")
    return account


# -- authorization codes ------------------------------------------------------------------


def pkce_s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636 §4.2)."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def valid_pkce_value(value: str) -> bool:
    return bool(_PKCE_VALUE.match(value))


async def issue_code(
    app: OAuthApp,
    account: Account,
    redirect_uri: str,
    scopes: frozenset[str],
    code_challenge: str | None = None,
) -> str:
    """A single-use authorization code for ten minutes; only its digest is stored."""
    code = new_secret()
    await OAuthCode.create(
        digest=digest(code),
        app=app,
        account=account,
        redirect_uri=redirect_uri,
        scopes=scope_rules.to_string(scopes),
        code_challenge=code_challenge,
        code_challenge_method="S256" if code_challenge else None,
        expires_at=utcnow() + CODE_LIFETIME,
    )
    return code


_BAD_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


async def redeem_code(
    app: OAuthApp, code: str, redirect_uri: str | None, code_verifier: str | None
) -> IssuedToken:
    """Exchange an authorization code for a user token (RFC 6749 §4.1.3, RFC 7636 §4.6).

    A code works once. Presenting it again refuses the request and revokes the tokens
    issued from it (§4.1.2): the app's tokens for that user since the code was made.
    A failed check after the code is found still uses it up, so a verifier cannot be
    guessed over several tries.
    """
    if not code or len(code) > 256:
        raise GrantRefused("invalid_grant", _BAD_GRANT)
    found = await OAuthCode.get_or_none(digest=digest(code)).prefetch_related("account")
    if found is None or found.app_id != app.id:  # type: ignore[attr-defined]
        raise GrantRefused("invalid_grant", _BAD_GRANT)
    now = utcnow()
    claimed = await OAuthCode.filter(id=found.id, used_at=None).update(used_at=now)
    if not claimed:
        await (
            OAuthToken.filter(
                app_id=app.id, account_id=found.account.id, created_at__gte=found.created_at
            )
            .filter(revoked_at=None)
            .update(revoked_at=now)
        )
        raise GrantRefused("invalid_grant", "The authorization code was already used.")
    if found.expires_at <= now:
        raise GrantRefused("invalid_grant", "The authorization code has expired.")
    registered = app.redirect_uris
    expected = found.redirect_uri
    if redirect_uri is None:
        # Doorkeeper's leniency: an app with one redirect URI may leave it out.
        if registered != [expected]:
            raise GrantRefused("invalid_grant", _BAD_GRANT)
    elif redirect_uri != expected:
        raise GrantRefused("invalid_grant", _BAD_GRANT)
    if found.code_challenge:
        if not code_verifier or not valid_pkce_value(code_verifier):
            raise GrantRefused("invalid_grant", "The code verifier is missing or malformed.")
        if not hmac.compare_digest(pkce_s256(code_verifier), found.code_challenge):
            raise GrantRefused("invalid_grant", "The code verifier does not match the challenge.")
    elif code_verifier:
        raise GrantRefused("invalid_grant", "A code verifier was sent for a code without PKCE.")
    account = found.account
    if account.is_suspended or account.deleted_at is not None or not account.approved:
        raise GrantRefused("invalid_grant", _BAD_GRANT)
    return await issue_token(app, account, frozenset(found.scopes.split()))


async def revoke_for_client(app: OAuthApp, secret: str) -> bool:
    """Revoke a token the app was issued (RFC 7009); False if the token is another app's.

    An unknown or already revoked token counts as done, as the RFC asks.
    """
    if not secret or len(secret) > 256:
        return True
    token = await OAuthToken.get_or_none(digest=digest(secret))
    if token is None:
        return True
    if token.app_id != app.id:  # type: ignore[attr-defined]
        return False
    await revoke_token(token)
    return True
