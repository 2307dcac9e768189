"""What a user arranges for themselves in their apps: markers, lists, filters, mutes, followed
tags, notes on accounts, domain blocks, conversations, scheduled posts, push subscriptions;
and the instance's announcements."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.oauth import OAuthToken
from fediverse_cop.models.statuses import Status, Tag


class Marker(Model):
    """Where the user stopped reading a timeline (``home`` or ``notifications``)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="markers", on_delete=fields.CASCADE
    )
    timeline = fields.CharField(max_length=16)
    last_read_id = fields.BigIntField(default=0)
    version = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "markers"
        unique_together = (("account", "timeline"),)


class List(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="lists", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=255)
    # followed, list or none (Mastodon's replies_policy).
    replies_policy = fields.CharField(max_length=16, default="list")
    exclusive = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lists"


class ListAccount(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    user_list: fields.ForeignKeyRelation[List] = fields.ForeignKeyField(
        "models.List", related_name="members", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="in_lists", on_delete=fields.CASCADE
    )

    class Meta:
        table = "list_accounts"
        unique_together = (("user_list", "account"),)


class Filter(Model):
    """A filter (v2): keywords and statuses hidden or warned about in some contexts."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="filters", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=255)
    # home, notifications, public, thread, account
    context: fields.Field[list[str]] = fields.JSONField(default=list)
    # warn or hide (blur is Mastodon 4.4's)
    action = fields.CharField(max_length=8, default="warn")
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "filters"


class FilterKeyword(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    custom_filter: fields.ForeignKeyRelation[Filter] = fields.ForeignKeyField(
        "models.Filter", related_name="keywords", on_delete=fields.CASCADE
    )
    keyword = fields.CharField(max_length=255)
    whole_word = fields.BooleanField(default=True)

    class Meta:
        table = "filter_keywords"


class FilterStatus(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    custom_filter: fields.ForeignKeyRelation[Filter] = fields.ForeignKeyField(
        "models.Filter", related_name="statuses", on_delete=fields.CASCADE
    )
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="filtered_by", on_delete=fields.CASCADE
    )

    class Meta:
        table = "filter_statuses"
        unique_together = (("custom_filter", "status"),)


class Mute(Model):
    """``account`` mutes ``target``: its posts leave their timelines (and notifications)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="muting", on_delete=fields.CASCADE
    )
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="muted_by", on_delete=fields.CASCADE
    )
    notifications = fields.BooleanField(default=True)
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mutes"
        unique_together = (("account", "target"),)


class UserDomainBlock(Model):
    """A user hides a whole domain for themselves (not the instance's domain blocks)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="domain_blocks", on_delete=fields.CASCADE
    )
    domain = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user_domain_blocks"
        unique_together = (("account", "domain"),)


class TagFollow(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="followed_tags", on_delete=fields.CASCADE
    )
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="followers", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tag_follows"
        unique_together = (("account", "tag"),)


class AccountNote(Model):
    """A private note a user keeps about another account."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notes_written", on_delete=fields.CASCADE
    )
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notes_about", on_delete=fields.CASCADE
    )
    comment = fields.TextField(default="")

    class Meta:
        table = "account_notes"
        unique_together = (("account", "target"),)


class Conversation(Model):
    """A direct conversation as one participant sees it (the set of the other participants)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="conversations", on_delete=fields.CASCADE
    )
    # The other participants' account ids, sorted and joined: one row per group of people.
    participants_key = fields.CharField(max_length=1024)
    participant_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    last_status: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="conversations", null=True, on_delete=fields.SET_NULL
    )
    unread = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversations"
        unique_together = (("account", "participants_key"),)


class ScheduledStatus(Model):
    """A post to publish later: the parameters of ``POST /api/v1/statuses`` as sent."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="scheduled_statuses", on_delete=fields.CASCADE
    )
    scheduled_at = fields.DatetimeField(db_index=True)
    params: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    media_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "scheduled_statuses"


class PushSubscription(Model):
    """A Web Push subscription of one access token (Mastodon ties them to the token)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    token: fields.ForeignKeyRelation[OAuthToken] = fields.ForeignKeyField(
        "models.OAuthToken", related_name="push_subscriptions", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="push_subscriptions", on_delete=fields.CASCADE
    )
    endpoint = fields.CharField(max_length=URI_LENGTH)
    p256dh = fields.CharField(max_length=255)
    auth = fields.CharField(max_length=255)
    alerts: fields.Field[dict[str, bool]] = fields.JSONField(default=dict)
    # all, followed, follower or none
    policy = fields.CharField(max_length=16, default="all")
    # RFC 8291 aes128gcm and RFC 8292 VAPID; else the drafts Mastodon sent before 4.4
    # (aesgcm, "WebPush" authorization), which apps asking no "standard" still expect.
    standard = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "push_subscriptions"


class Announcement(Model):
    """An institution-wide notice shown in apps (``fediverse-cop announcement create``)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    text = fields.TextField()
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    all_day = fields.BooleanField(default=False)
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "announcements"


class AnnouncementRead(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    announcement: fields.ForeignKeyRelation[Announcement] = fields.ForeignKeyField(
        "models.Announcement", related_name="reads", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="announcements_read", on_delete=fields.CASCADE
    )

    class Meta:
        table = "announcement_reads"
        unique_together = (("announcement", "account"),)
