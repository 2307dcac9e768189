"""Enumerations stored in the database (as their string values)."""

from __future__ import annotations

from enum import StrEnum


class ActorType(StrEnum):
    PERSON = "Person"
    GROUP = "Group"
    APPLICATION = "Application"
    SERVICE = "Service"
    ORGANIZATION = "Organization"


class InstanceRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MODERATOR = "moderator"
    USER = "user"


class JoinPolicy(StrEnum):
    OPEN = "open"
    APPROVAL = "approval"


class PostingPolicy(StrEnum):
    MEMBERS = "members"
    MODERATORS = "moderators"


class ContentVisibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"


class CommunityRoleKind(StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"
    TRAINER = "trainer"
    MEMBER = "member"
    BANNED = "banned"


class DomainBlockSeverity(StrEnum):
    SILENCE = "silence"
    SUSPEND = "suspend"
    REJECT_MEDIA = "reject-media"


class FollowState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"


class JobState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    # Expansion kept failing; the reason is in ``last_error``.
    FAILED = "failed"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # The inbox answered 404 or 410: the recipient is gone.
    GONE = "gone"


class InboxState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    # No handler for this (activity type, object type): kept and counted, not an error.
    UNHANDLED = "unhandled"
    # A handler refused it or it kept failing; the reason is in ``error``.
    FAILED = "failed"


class Visibility(StrEnum):
    """Mastodon's visibilities; how each maps to addressing is in services/statuses.py."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"  # followers only
    DIRECT = "direct"


class NotificationType(StrEnum):
    """Mastodon's notification types (the ``type`` of the Notification entity)."""

    MENTION = "mention"
    STATUS = "status"
    REBLOG = "reblog"
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    FAVOURITE = "favourite"
    POLL = "poll"
    UPDATE = "update"
    ADMIN_SIGN_UP = "admin.sign_up"
    ADMIN_REPORT = "admin.report"


class MediaType(StrEnum):
    """Mastodon's MediaAttachment ``type``."""

    IMAGE = "image"
    GIFV = "gifv"
    VIDEO = "video"
    AUDIO = "audio"
    UNKNOWN = "unknown"
