"""Follow relationships between accounts (people following people, members joining groups)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.enums import FollowState


class Follow(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="following_rows", on_delete=fields.CASCADE
    )
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="follower_rows", on_delete=fields.CASCADE
    )
    state = fields.CharEnumField(FollowState, max_length=16, default=FollowState.PENDING)
    # The id of the Follow activity, ours or the remote one.
    uri = fields.CharField(max_length=URI_LENGTH, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "follows"
        unique_together = (("account", "target"),)
        # Followers and followed accounts (timelines, counts) from the index alone.
        indexes = (("target_id", "state", "id"), ("account_id", "state", "target_id"))
