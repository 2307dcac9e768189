"""The instance itself: its settings row, domain blocks and invites."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import Account
from fediverse_cop.models.enums import DomainBlockSeverity
from fediverse_cop.settings import RegistrationMode

INSTANCE_ROW_ID = 1


class Instance(Model):
    """Exactly one row (id 1): what the operator configured from the CLI."""

    id = fields.IntField(primary_key=True, generated=False, default=INSTANCE_ROW_ID)
    domain = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255, default="")
    description = fields.TextField(default="")
    contact_email = fields.CharField(max_length=320, default="")
    registrations = fields.CharEnumField(
        RegistrationMode, max_length=16, default=RegistrationMode.APPROVAL
    )
    # Empty: any e-mail domain may register; otherwise only these (e.g. ["uni-a.edu"]).
    allowed_email_domains: fields.Field[list[str]] = fields.JSONField(default=list)
    actor: fields.OneToOneNullableRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="instance_of", null=True, on_delete=fields.SET_NULL
    )
    # The instance's VAPID key pair for Web Push (P-256; generated when first needed).
    vapid_private_key = fields.TextField(default="")
    vapid_public_key = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "instance"


class DomainBlock(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    domain = fields.CharField(max_length=255, unique=True)
    severity = fields.CharEnumField(DomainBlockSeverity, max_length=16)
    private_comment = fields.TextField(default="")
    public_comment = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "domain_blocks"


class Invite(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    code = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="invites", null=True, on_delete=fields.SET_NULL
    )
    max_uses = fields.IntField(null=True)
    uses = fields.IntField(default=0)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invites"
