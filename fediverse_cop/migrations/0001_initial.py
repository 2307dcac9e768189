from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from fediverse_cop.models.enums import (
    ActorType,
    CommunityRoleKind,
    ContentVisibility,
    DomainBlockSeverity,
    InstanceRole,
    JoinPolicy,
    PostingPolicy,
)
from fediverse_cop.settings import RegistrationMode
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Account",
            fields=[
                (
                    "id",
                    fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True
                    ),
                ),
                ("username", fields.CharField(max_length=255)),
                ("domain", fields.CharField(null=True, db_index=True, max_length=255)),
                ("acct_key", fields.CharField(unique=True, max_length=520)),
                ("local", fields.BooleanField(default=False, db_index=True)),
                (
                    "actor_type",
                    fields.CharEnumField(
                        default=ActorType.PERSON,
                        description="PERSON: Person\nGROUP: Group\nAPPLICATION: Application\nSERVICE: Service\nORGANIZATION: Organization",
                        enum_type=ActorType,
                        max_length=16,
                    ),
                ),
                ("uri", fields.CharField(unique=True, max_length=2048)),
                ("url", fields.CharField(null=True, max_length=2048)),
                ("inbox_uri", fields.CharField(default="", max_length=2048)),
                ("shared_inbox_uri", fields.CharField(null=True, max_length=2048)),
                ("outbox_uri", fields.CharField(null=True, max_length=2048)),
                ("followers_uri", fields.CharField(null=True, max_length=2048)),
                ("following_uri", fields.CharField(null=True, max_length=2048)),
                ("featured_uri", fields.CharField(null=True, max_length=2048)),
                ("display_name", fields.CharField(default="", max_length=255)),
                ("note", fields.TextField(default="", unique=False)),
                ("avatar_uri", fields.CharField(null=True, max_length=2048)),
                ("header_uri", fields.CharField(null=True, max_length=2048)),
                ("manually_approves_followers", fields.BooleanField(default=False)),
                ("discoverable", fields.BooleanField(default=True)),
                ("public_key_pem", fields.TextField(default="", unique=False)),
                ("public_key_id", fields.CharField(null=True, max_length=2048)),
                ("private_key_pem", fields.TextField(null=True, unique=False)),
                ("password_hash", fields.CharField(null=True, max_length=255)),
                ("email", fields.CharField(null=True, unique=True, max_length=320)),
                (
                    "role",
                    fields.CharEnumField(
                        default=InstanceRole.USER,
                        description="OWNER: owner\nADMIN: admin\nMODERATOR: moderator\nUSER: user",
                        enum_type=InstanceRole,
                        max_length=16,
                    ),
                ),
                ("approved", fields.BooleanField(default=True)),
                (
                    "suspended_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("suspension_reason", fields.TextField(default="", unique=False)),
                (
                    "silenced_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("silence_reason", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "last_fetched_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "accounts", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Community",
            fields=[
                (
                    "id",
                    fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True
                    ),
                ),
                (
                    "account",
                    fields.OneToOneField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="community",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "join_policy",
                    fields.CharEnumField(
                        default=JoinPolicy.OPEN,
                        description="OPEN: open\nAPPROVAL: approval",
                        enum_type=JoinPolicy,
                        max_length=16,
                    ),
                ),
                (
                    "posting_policy",
                    fields.CharEnumField(
                        default=PostingPolicy.MEMBERS,
                        description="MEMBERS: members\nMODERATORS: moderators",
                        enum_type=PostingPolicy,
                        max_length=16,
                    ),
                ),
                (
                    "visibility",
                    fields.CharEnumField(
                        default=ContentVisibility.PUBLIC,
                        description="PUBLIC: public\nMEMBERS: members",
                        enum_type=ContentVisibility,
                        max_length=16,
                    ),
                ),
                (
                    "archived_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "communities",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One row per ``Group`` account (local or remote) with what we know of its policy.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CommunityRole",
            fields=[
                (
                    "id",
                    fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True
                    ),
                ),
                (
                    "community",
                    fields.ForeignKeyField(
                        "models.Community",
                        source_field="community_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="roles",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="community_roles",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        description="OWNER: owner\nMODERATOR: moderator\nTRAINER: trainer\nMEMBER: member\nBANNED: banned",
                        enum_type=CommunityRoleKind,
                        max_length=16,
                    ),
                ),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("reason", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "community_roles",
                "app": "models",
                "unique_together": (("community", "account"),),
                "pk_attr": "id",
                "table_description": "A person's standing in a community: owner, moderator, trainer, member or banned.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DomainBlock",
            fields=[
                (
                    "id",
                    fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True
                    ),
                ),
                ("domain", fields.CharField(unique=True, max_length=255)),
                (
                    "severity",
                    fields.CharEnumField(
                        description="SILENCE: silence\nSUSPEND: suspend\nREJECT_MEDIA: reject-media",
                        enum_type=DomainBlockSeverity,
                        max_length=16,
                    ),
                ),
                ("private_comment", fields.TextField(default="", unique=False)),
                ("public_comment", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "domain_blocks", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Instance",
            fields=[
                ("id", fields.IntField(primary_key=True, generated=False, default=1, unique=True, db_index=True)),
                ("domain", fields.CharField(max_length=255)),
                ("name", fields.CharField(default="", max_length=255)),
                ("description", fields.TextField(default="", unique=False)),
                ("contact_email", fields.CharField(default="", max_length=320)),
                (
                    "registrations",
                    fields.CharEnumField(
                        default=RegistrationMode.APPROVAL,
                        description="OPEN: open\nAPPROVAL: approval\nINVITE: invite\nCLOSED: closed",
                        enum_type=RegistrationMode,
                        max_length=16,
                    ),
                ),
                (
                    "allowed_email_domains",
                    fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
                ),
                (
                    "actor",
                    fields.OneToOneField(
                        "models.Account",
                        source_field="actor_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="instance_of",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "instance",
                "app": "models",
                "pk_attr": "id",
                "table_description": "Exactly one row (id 1): what the operator configured from the CLI.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Invite",
            fields=[
                (
                    "id",
                    fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True
                    ),
                ),
                ("code", fields.CharField(unique=True, max_length=64)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="invites",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("max_uses", fields.IntField(null=True)),
                ("uses", fields.IntField(default=0)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "invites", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
