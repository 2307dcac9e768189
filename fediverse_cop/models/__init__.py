"""Tortoise models of the ``models`` app. Later features add modules here and a migration."""

from fediverse_cop.models.accounts import Account, acct_key
from fediverse_cop.models.communities import Community, CommunityRole
from fediverse_cop.models.delivery import Delivery, DomainHealth, FanoutJob
from fediverse_cop.models.enums import (
    ActorType,
    CommunityRoleKind,
    ContentVisibility,
    DeliveryState,
    DomainBlockSeverity,
    FollowState,
    InboxState,
    InstanceRole,
    JobState,
    JoinPolicy,
    PostingPolicy,
    Visibility,
)
from fediverse_cop.models.follows import Follow
from fediverse_cop.models.inbox import InboxItem
from fediverse_cop.models.instance import INSTANCE_ROW_ID, DomainBlock, Instance, Invite
from fediverse_cop.models.moderation import AccountBlock, Report
from fediverse_cop.models.statuses import (
    Favourite,
    Status,
    StatusEdit,
    StatusMention,
    StatusTag,
    Tag,
    Tombstone,
)

__all__ = [
    "INSTANCE_ROW_ID",
    "Account",
    "AccountBlock",
    "ActorType",
    "Community",
    "CommunityRole",
    "CommunityRoleKind",
    "ContentVisibility",
    "Delivery",
    "DeliveryState",
    "DomainBlock",
    "DomainBlockSeverity",
    "DomainHealth",
    "FanoutJob",
    "Favourite",
    "Follow",
    "FollowState",
    "InboxItem",
    "InboxState",
    "Instance",
    "InstanceRole",
    "Invite",
    "JobState",
    "JoinPolicy",
    "PostingPolicy",
    "Report",
    "Status",
    "StatusEdit",
    "StatusMention",
    "StatusTag",
    "Tag",
    "Tombstone",
    "Visibility",
    "acct_key",
]
