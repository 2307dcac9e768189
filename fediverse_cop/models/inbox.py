"""Incoming activities, stored once authenticated and processed later by a worker."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.enums import InboxState


class InboxItem(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    # Unique: a second delivery of the same activity is a no-op.
    activity_id = fields.CharField(max_length=URI_LENGTH, unique=True)
    activity: fields.Field[dict[str, Any]] = fields.JSONField()
    actor: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="inbox_items", on_delete=fields.CASCADE
    )
    # The local actor whose inbox received it; None for the shared inbox.
    recipient: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="received_items", null=True, on_delete=fields.SET_NULL
    )
    state = fields.CharEnumField(InboxState, max_length=16, default=InboxState.PENDING)
    handled_as = fields.CharField(max_length=64, default="")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    error = fields.TextField(default="")
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_items"
        indexes = (("state", "next_attempt_at"),)
