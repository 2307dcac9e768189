"""Communities: the policy of ``Group`` accounts, and the roles people hold in them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.enums import (
    CommunityRoleKind,
    ContentVisibility,
    JoinPolicy,
    PostingPolicy,
)
from fediverse_cop.models.statuses import Status


class Community(Model):
    """One row per ``Group`` account (local or remote) with what we know of its policy."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="community", on_delete=fields.CASCADE
    )
    join_policy = fields.CharEnumField(JoinPolicy, max_length=16, default=JoinPolicy.OPEN)
    posting_policy = fields.CharEnumField(
        PostingPolicy, max_length=16, default=PostingPolicy.MEMBERS
    )
    visibility = fields.CharEnumField(
        ContentVisibility, max_length=16, default=ContentVisibility.PUBLIC
    )
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "communities"


class CommunityRole(Model):
    """A person's standing in a community: owner, moderator, trainer, member or banned."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="roles", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="community_roles", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(CommunityRoleKind, max_length=16)
    # Bans may expire; other roles do not.
    expires_at = fields.DatetimeField(null=True)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "community_roles"
        unique_together = (("community", "account"),)


class PeerSoftware(Model):
    """What software a remote server runs, as its NodeInfo says: decides how a
    community's ``Announce`` is shaped for the members on that server.

    ``domain`` is the host of the server's inbox (with a non-default port), the
    key the outbox uses for deliveries; ``kind`` is ``group-aware`` or
    ``microblog`` (``activitypub.nodeinfo.peer_kind``).
    """

    domain = fields.CharField(max_length=255, primary_key=True)
    software = fields.CharField(max_length=64, default="")
    kind = fields.CharField(max_length=16, default="microblog")
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "peer_software"


class Resource(Model):
    """A resource in a community's library: a community-authored post (``status``) with the
    resource's own metadata. Files are the post's media (a ``Document`` with its size and
    SHA-256 digest); a link is ``link``. Remote communities' resources are stored the
    same way when fetched.
    """

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    # The Group account whose library holds it.
    community: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="resources", on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="resource", on_delete=fields.CASCADE, unique=True
    )
    title = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    link = fields.CharField(max_length=URI_LENGTH, null=True)
    licence = fields.CharField(max_length=255, default="")
    tags: fields.Field[list[str]] = fields.JSONField(default=list)
    # The trainer or moderator who added it (local resources).
    added_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="resources_added", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "resources"
        indexes = (("community_id", "id"),)
