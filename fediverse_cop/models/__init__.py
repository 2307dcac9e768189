"""Tortoise models of the ``models`` app. Later features add modules here and a migration."""

from fediverse_cop.models.accounts import Account, acct_key
from fediverse_cop.models.client import (
    Bookmark,
    IdempotencyKey,
    MediaAttachment,
    Notification,
    Poll,
    PollVote,
    StatusPin,
)
from fediverse_cop.models.communities import (
    Community,
    CommunityRole,
    PeerSoftware,
    Resource,
)
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
    MediaType,
    NotificationType,
    PostingPolicy,
    Visibility,
)
from fediverse_cop.models.follows import Follow
from fediverse_cop.models.inbox import InboxItem
from fediverse_cop.models.instance import INSTANCE_ROW_ID, DomainBlock, Instance, Invite
from fediverse_cop.models.moderation import AccountBlock, Report
from fediverse_cop.models.oauth import OAuthApp, OAuthCode, OAuthToken
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
    "Bookmark",
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
    "IdempotencyKey",
    "InboxItem",
    "InboxState",
    "Instance",
    "InstanceRole",
    "Invite",
    "JobState",
    "JoinPolicy",
    "MediaAttachment",
    "MediaType",
    "Notification",
    "NotificationType",
    "OAuthApp",
    "OAuthCode",
    "OAuthToken",
    "PeerSoftware",
    "Poll",
    "PollVote",
    "PostingPolicy",
    "Report",
    "Resource",
    "Status",
    "StatusEdit",
    "StatusMention",
    "StatusPin",
    "StatusTag",
    "Tag",
    "Tombstone",
    "Visibility",
    "acct_key",
]
