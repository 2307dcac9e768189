"""Blocks between accounts and reports to moderators."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account


class AccountBlock(Model):
    """``account`` blocks ``target``: no follows between them, no interactions."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocking", on_delete=fields.CASCADE
    )
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocked_by", on_delete=fields.CASCADE
    )
    uri = fields.CharField(max_length=URI_LENGTH, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account_blocks"
        unique_together = (("account", "target"),)


class Report(Model):
    """A report (``Flag``) about an account and some of its posts, for local moderators."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    reporter: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="reports_made", on_delete=fields.CASCADE
    )
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="reports_received", on_delete=fields.CASCADE
    )
    status_uris: fields.Field[list[str]] = fields.JSONField(default=list)
    comment = fields.TextField(default="")
    # Mastodon's report categories: spam, legal, violation, other.
    category = fields.CharField(max_length=16, default="other")
    rule_ids: fields.Field[list[str]] = fields.JSONField(default=list)
    # Sent on to the reported account's server as a Flag.
    forwarded = fields.BooleanField(default=False)
    # A report to a community's moderators (a Flag addressed to the group).
    community: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="community_reports", null=True, on_delete=fields.CASCADE
    )
    uri = fields.CharField(max_length=URI_LENGTH, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="reports_resolved", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "reports"
