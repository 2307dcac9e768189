"""OAuth 2 clients (apps), authorization codes and access tokens of the client API.

Secrets are never stored: client secrets, codes and tokens are kept as SHA-256
digests of high-entropy random strings (a digest of 256 random bits needs no
salt or slow hash), so a copy of the database lets nobody act as a user.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account

DIGEST_LENGTH = 64


class OAuthApp(Model):
    """A client registered with ``POST /api/v1/apps``."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    name = fields.CharField(max_length=255)
    website = fields.CharField(max_length=URI_LENGTH, null=True)
    redirect_uris: fields.Field[list[str]] = fields.JSONField(default=list)
    scopes = fields.CharField(max_length=1024, default="read")
    client_id = fields.CharField(max_length=64, unique=True)
    client_secret_digest = fields.CharField(max_length=DIGEST_LENGTH)
    # The local user who created it through the API, if any (apps are usually anonymous).
    owner: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="oauth_apps", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_apps"


class OAuthCode(Model):
    """An authorization code: single use, short lived, bound to a redirect URI and PKCE."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    digest = fields.CharField(max_length=DIGEST_LENGTH, unique=True)
    app: fields.ForeignKeyRelation[OAuthApp] = fields.ForeignKeyField(
        "models.OAuthApp", related_name="codes", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="oauth_codes", on_delete=fields.CASCADE
    )
    redirect_uri = fields.CharField(max_length=URI_LENGTH)
    scopes = fields.CharField(max_length=1024)
    code_challenge = fields.CharField(max_length=128, null=True)
    code_challenge_method = fields.CharField(max_length=16, null=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_codes"


class OAuthToken(Model):
    """An access token: a user's (authorization code, password) or an app's (client credentials)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    digest = fields.CharField(max_length=DIGEST_LENGTH, unique=True)
    refresh_digest = fields.CharField(max_length=DIGEST_LENGTH, null=True, unique=True)
    app: fields.ForeignKeyRelation[OAuthApp] = fields.ForeignKeyField(
        "models.OAuthApp", related_name="tokens", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="oauth_tokens", null=True, on_delete=fields.CASCADE
    )
    scopes = fields.CharField(max_length=1024)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_tokens"
        indexes = (("account_id", "revoked_at"),)
