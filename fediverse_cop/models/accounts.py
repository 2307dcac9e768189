"""Accounts: local and remote actors (people, communities, the instance actor) in one table."""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.enums import ActorType, InstanceRole, Visibility

URI_LENGTH = 2048


def acct_key(username: str, domain: str | None) -> str:
    """The case-insensitive key of a handle: one namespace for users and communities."""
    return username.lower() if domain is None else f"{username}@{domain}".lower()


class Account(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    username = fields.CharField(max_length=255)
    # None for local accounts; the normalized host for remote ones.
    domain = fields.CharField(max_length=255, null=True, db_index=True)
    acct_key = fields.CharField(max_length=520, unique=True)
    local = fields.BooleanField(default=False, db_index=True)
    actor_type = fields.CharEnumField(ActorType, max_length=16, default=ActorType.PERSON)

    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    inbox_uri = fields.CharField(max_length=URI_LENGTH, default="")
    shared_inbox_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    outbox_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    followers_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    following_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    featured_uri = fields.CharField(max_length=URI_LENGTH, null=True)

    display_name = fields.CharField(max_length=255, default="")
    note = fields.TextField(default="")
    avatar_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    header_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    manually_approves_followers = fields.BooleanField(default=False)
    discoverable = fields.BooleanField(default=True)
    bot = fields.BooleanField(default=False)
    # Profile metadata: ``[{"name": str, "value": str (HTML)}]``.
    profile_fields: fields.Field[list[dict[str, str]]] = fields.JSONField(default=list)

    public_key_pem = fields.TextField(default="")
    # Looked up on every signed request.
    public_key_id = fields.CharField(max_length=URI_LENGTH, null=True, db_index=True)
    private_key_pem = fields.TextField(null=True)

    # Local people only.
    password_hash = fields.CharField(max_length=255, null=True)
    email = fields.CharField(max_length=320, null=True, unique=True)
    role = fields.CharEnumField(InstanceRole, max_length=16, default=InstanceRole.USER)
    approved = fields.BooleanField(default=True)
    # Posting defaults (the ``source`` of the client API's CredentialAccount).
    default_visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    default_sensitive = fields.BooleanField(default=False)
    default_language = fields.CharField(max_length=16, null=True)

    suspended_at = fields.DatetimeField(null=True)
    suspension_reason = fields.TextField(default="")
    silenced_at = fields.DatetimeField(null=True)
    silence_reason = fields.TextField(default="")
    # A closed account: its actor answers 410, its handle stays reserved.
    deleted_at = fields.DatetimeField(null=True)
    # Where the account moved (a verified Move).
    moved_to: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="moved_from", null=True, on_delete=fields.SET_NULL
    )
    # A local account's former accounts elsewhere (``alsoKnownAs``): a Move from one of
    # them to this account is then accepted by the old account's server.
    also_known_as: fields.Field[list[str]] = fields.JSONField(default=list)

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_fetched_at = fields.DatetimeField(null=True)

    class Meta:
        table = "accounts"
        # Every timeline leaves out suspended accounts' posts and looks up the groups the
        # viewer joined: without these, two scans of all known accounts per query.
        indexes = (("suspended_at",), ("actor_type", "id"))

    def __str__(self) -> str:
        return self.handle

    @property
    def handle(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def suspend(self, reason: str, now: datetime) -> None:
        self.suspended_at = now
        self.suspension_reason = reason


class AccountStats(Model):
    """What an account's entity counts (Mastodon's ``account_stats``), kept by database
    triggers on ``statuses`` and ``follows`` (migration 0018, ``docs/client-api.md``):
    statuses not deleted, accepted follows both ways, the newest status's date.

    Counting them for each account on every page cost as much as the page's other
    queries together, and grew with the account's posts (a community's boosts).
    Nothing writes here but the triggers.
    """

    account_id = fields.BigIntField(primary_key=True, generated=False)
    statuses_count = fields.BigIntField(default=0)
    followers_count = fields.BigIntField(default=0)
    following_count = fields.BigIntField(default=0)
    last_status_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_stats"
