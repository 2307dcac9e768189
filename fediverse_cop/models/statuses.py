"""Posts (statuses), their mentions, hashtags, edits and favourites; tombstones of deleted ones."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.enums import Visibility


class Status(Model):
    """A post (Note, Question, Page, Article), local or remote, or a boost of one.

    ``to``/``cc`` keep the addressing as sent or received: together with
    ``visibility`` they decide who may see the post. A boost has ``reblog_of`` set
    and its ``uri`` is the Announce's id.
    """

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="statuses", on_delete=fields.CASCADE
    )
    local = fields.BooleanField(default=False)
    object_type = fields.CharField(max_length=32, default="Note")
    in_reply_to_uri = fields.CharField(max_length=URI_LENGTH, null=True, db_index=True)
    in_reply_to: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    reblog_of: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="reblogs", null=True, on_delete=fields.CASCADE
    )
    content = fields.TextField(default="")
    # The author's own text (local posts), kept for editing and redrafting.
    text = fields.TextField(default="")
    summary = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    language = fields.CharField(max_length=16, null=True)
    to: fields.Field[list[str]] = fields.JSONField(default=list)
    cc: fields.Field[list[str]] = fields.JSONField(default=list)
    audience = fields.CharField(max_length=URI_LENGTH, null=True)
    attachments: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    published_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    # Removed by a community moderator (hidden, restorable), with the reason given.
    removed_at = fields.DatetimeField(null=True)
    removal_reason = fields.TextField(default="")
    # A locked thread takes no new replies (Lemmy's Lock).
    locked_at = fields.DatetimeField(null=True)
    # For a question: the reply chosen as its answer (PieFed's ChooseAnswer).
    accepted_answer: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="answer_to", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "statuses"
        indexes = (
            ("account_id", "id"),
            # An account's post count and latest post, read without the table.
            ("account_id", "deleted_at", "published_at"),
            ("visibility", "local", "id"),
            ("audience", "id"),
            ("reblog_of_id", "id"),
            ("in_reply_to_id", "id"),
        )


class StatusMention(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="mentions", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="mentioned_in", on_delete=fields.CASCADE
    )

    class Meta:
        table = "status_mentions"
        unique_together = (("status", "account"),)
        indexes = (("account_id", "status_id"),)


class Tag(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    name = fields.CharField(max_length=255, unique=True)

    class Meta:
        table = "tags"


class StatusTag(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="status_tags", on_delete=fields.CASCADE
    )
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="status_tags", on_delete=fields.CASCADE
    )

    class Meta:
        table = "status_tags"
        unique_together = (("status", "tag"),)


class StatusEdit(Model):
    """A previous version of an edited post (the edit history)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="edits", on_delete=fields.CASCADE
    )
    content = fields.TextField(default="")
    summary = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "status_edits"


class Favourite(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="favourites", on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="favourites", on_delete=fields.CASCADE
    )
    uri = fields.CharField(max_length=URI_LENGTH, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "favourites"
        unique_together = (("account", "status"),)
        # Counting a page's favourites looks them up by post.
        indexes = (("status_id", "account_id"),)


class Tombstone(Model):
    """An object deleted by its owner, remembered so that a late Create is ignored."""

    uri = fields.CharField(max_length=URI_LENGTH, primary_key=True)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tombstones", null=True, on_delete=fields.CASCADE
    )
    deleted_at = fields.DatetimeField()

    class Meta:
        table = "tombstones"
