"""What the client API keeps per user: notifications, media, bookmarks, pins, polls, idempotency."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.enums import MediaType, NotificationType
from fediverse_cop.models.statuses import Status


class Notification(Model):
    """Something that happened to ``account`` because of ``from_account``."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    from_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications_caused", on_delete=fields.CASCADE
    )
    type = fields.CharEnumField(NotificationType, max_length=32)
    status: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notifications"
        indexes = (("account_id", "id"), ("account_id", "type", "id"))


class MediaAttachment(Model):
    """An uploaded file (local) stored under a server-chosen name, or a remote attachment."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="media", on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="media", null=True, on_delete=fields.SET_NULL
    )
    type = fields.CharEnumField(MediaType, max_length=16, default=MediaType.UNKNOWN)
    content_type = fields.CharField(max_length=128, default="application/octet-stream")
    # Server-chosen file names under the media directory (local uploads only).
    file_name = fields.CharField(max_length=255, null=True)
    thumbnail_name = fields.CharField(max_length=255, null=True)
    remote_url = fields.CharField(max_length=URI_LENGTH, null=True)
    size = fields.BigIntField(default=0)
    sha256 = fields.CharField(max_length=64, null=True)
    description = fields.TextField(default="")
    blurhash = fields.CharField(max_length=128, null=True)
    focus_x = fields.FloatField(default=0.0)
    focus_y = fields.FloatField(default=0.0)
    meta: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    position = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "media_attachments"
        indexes = (("status_id", "position"),)


class Bookmark(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="bookmarks", on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="bookmarks", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bookmarks"
        unique_together = (("account", "status"),)


class StatusPin(Model):
    """A post pinned to its author's profile (the ``featured`` collection)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="pins", on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="pins", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "status_pins"
        unique_together = (("account", "status"),)


class Poll(Model):
    """The options of a ``Question``: ``options`` is ``[{"title": str, "votes_count": int}]``."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="polls", on_delete=fields.CASCADE, unique=True
    )
    options: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    multiple = fields.BooleanField(default=False)
    hide_totals = fields.BooleanField(default=False)
    expires_at = fields.DatetimeField(null=True)
    voters_count = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "polls"


class PollVote(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField(
        "models.Poll", related_name="votes", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="poll_votes", on_delete=fields.CASCADE
    )
    choice = fields.IntField()
    uri = fields.CharField(max_length=URI_LENGTH, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "poll_votes"
        unique_together = (("poll", "account", "choice"),)


class IdempotencyKey(Model):
    """``Idempotency-Key`` of ``POST /api/v1/statuses``: the same key gives the same status."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=255)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("account", "key"),)
