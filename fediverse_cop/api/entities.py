"""Mastodon entities (Account, Status, MediaAttachment, …) from our rows.

A page of statuses is serialized with a bounded number of queries whatever its
size: the boosted posts; the authors with their counts (one query); the posts'
counts, replied-to accounts, the viewer's favourites, boosts, bookmarks and pins
and which posts have mentions, tags, media or a poll (one query, correlated
subqueries); then mentions, tags, media and polls only when some post has them.
The JSON is built without touching the database. Keep it that way: a query per
status is what makes timelines slow, and every round trip costs the process CPU
(tests/api/test_foundation.py counts them).
"""

from __future__ import annotations

import base64
import html
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from activitypub.uris import Kind
from fediverse_cop import rawsql
from fediverse_cop.api.filters import filter_result_json
from fediverse_cop.api.responses import iso
from fediverse_cop.converters import note_to_html
from fediverse_cop.models import (
    Account,
    AccountBlock,
    AccountNote,
    AccountStats,
    ActorType,
    Bookmark,
    Favourite,
    Follow,
    FollowState,
    MediaAttachment,
    Mute,
    Poll,
    PollVote,
    Status,
    StatusMention,
    StatusPin,
    StatusTag,
    Tag,
    UserDomainBlock,
)
from fediverse_cop.models.client import Notification
from fediverse_cop.services import filters as filter_rules
from fediverse_cop.services import mutes as mute_rules
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.notification_groups import GROUPABLE, GroupKey

Json = dict[str, Any]

DEFAULT_AVATAR_PATH = "/static/avatar.png"
DEFAULT_HEADER_PATH = "/static/header.png"
DEFAULT_IMAGE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAAUElEQVR42u3PMQ0AMAgAMJh+bm6kTgUHSeugWT1x2Y"
    "vjBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBPZ9EtcCQjbpBx4AAAAASUVORK5CYII="
)


def media_url(ctx: ServerContext, file_name: str) -> str:
    return f"{ctx.settings.base_url}/media/{file_name}"


@dataclass(slots=True)
class _AccountCounts:
    followers: dict[int, int] = field(default_factory=dict)
    following: dict[int, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    last_status: dict[int, Any] = field(default_factory=dict)


def _correlated(
    select: str, table: str, column: str, outer: str, on: str = "id", condition: str = ""
) -> str:
    """``(SELECT … FROM table x WHERE x.column = outer.on …)``, a column of a batch load.

    Only table and column names of our models are put into this SQL.
    """
    where = f'x."{column}" = "{outer}"."{on}"{condition}'
    return f'({select} FROM "{table}" x WHERE {where})'


def _count(table: str, column: str, outer: str, condition: str = "") -> str:
    return _correlated("SELECT COUNT(*)", table, column, outer, condition=condition)


def _exists(table: str, column: str, outer: str, condition: str = "") -> str:
    """Whether the outer row has a ``table`` row (a mention; with ``condition``, the
    viewer's favourite, bookmark…)."""
    return "EXISTS " + _correlated("SELECT 1", table, column, outer, condition=condition)


def _as_datetime(value: Any) -> datetime | None:
    # Raw aggregates come back as text on SQLite.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


ACCEPTED = f" AND x.\"state\" = '{FollowState.ACCEPTED.value}'"
ALIVE = ' AND x."deleted_at" IS NULL'
MINE = ' AND x."account_id" = :viewer'


@dataclass(slots=True)
class _AccountRow:
    """What an Account entity is made of: these columns of an account, read without the
    ORM (:data:`ACCOUNT_COLUMNS`)."""

    id: int
    username: str
    domain: str | None
    url: str | None
    uri: str
    display_name: str
    note: str
    local: bool
    avatar_uri: str | None
    header_uri: str | None
    manually_approves_followers: bool
    profile_fields: list[dict[str, str]]
    bot: bool
    actor_type: ActorType
    discoverable: bool
    created_at: datetime
    moved_to_id: int | None
    suspended_at: datetime | None
    silenced_at: datetime | None

    @property
    def handle(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


ACCOUNT_COLUMNS = tuple(column.name for column in fields(_AccountRow))
AnyAccount = Account | _AccountRow


class Serializer:
    """Builds entities for one viewer (None: anonymous) of this instance."""

    def __init__(self, ctx: ServerContext, viewer: Account | None) -> None:
        self.ctx = ctx
        self.viewer = viewer
        self.base = ctx.settings.base_url
        # The viewer's filters, when the caller has them already (else loaded per page).
        self.filters: filter_rules.CompiledFilters | None = None

    # -- accounts ------------------------------------------------------------------

    async def _counted(self, ids: Collection[int]) -> tuple[list[_AccountRow], _AccountCounts]:
        """The accounts with their followers, following, statuses and last post's date
        (kept in ``account_stats`` by the database), in one query."""
        counts = _AccountCounts()
        if not ids:
            return [], counts
        columns = ", ".join(f'a."{name}"' for name in ACCOUNT_COLUMNS)
        sql = (
            f"SELECT {columns},"  # noqa: S608 (names written here)
            " n.followers_count AS n_followers, n.following_count AS n_following,"
            " n.statuses_count AS n_statuses, n.last_status_at AS last_at"
            f' FROM "{Account._meta.db_table}" a'
            f' LEFT JOIN "{AccountStats._meta.db_table}" n ON n."account_id" = a."id"'
            ' WHERE a."id" IN (:ids)'
        )
        published = Status._meta.fields_map["published_at"]
        accounts: list[_AccountRow] = []
        for raw in await rawsql.fetch(sql, ids=list(ids)):
            row = rawsql.convert(Account, raw)
            key = int(row["id"])
            # No row yet: an account that never posted nor followed.
            counts.followers[key] = int(row.pop("n_followers") or 0)
            counts.following[key] = int(row.pop("n_following") or 0)
            counts.statuses[key] = int(row.pop("n_statuses") or 0)
            last_at = row.pop("last_at")
            counts.last_status[key] = (
                published.to_python_value(last_at) if last_at is not None else None
            )
            row["profile_fields"] = row["profile_fields"] or []
            accounts.append(_AccountRow(**row))
        return accounts, counts

    async def accounts(self, accounts: Sequence[Account]) -> list[Json]:
        _, counts = await self._counted({a.id for a in accounts})
        return await self._accounts_json(accounts, counts)

    async def accounts_by_id(self, ids: Collection[int]) -> dict[int, Json]:
        """Accounts loaded and serialized with one query (two when some have moved)."""
        rows, counts = await self._counted(ids)
        return dict(zip(ids_of(rows), await self._accounts_json(rows, counts), strict=True))

    async def _accounts_json(
        self, accounts: Sequence[AnyAccount], counts: _AccountCounts
    ) -> list[Json]:
        moved_ids = {a.moved_to_id for a in accounts if a.moved_to_id}  # type: ignore[union-attr]
        moved = (
            {a.id: a for a in await rawsql.fetch_models(Account, '"id" IN (:ids)', ids=moved_ids)}
            if moved_ids
            else {}
        )
        moved_json = {k: self._account(v, _AccountCounts(), {}) for k, v in moved.items()}
        return [self._account(a, counts, moved_json) for a in accounts]

    async def account(self, account: Account) -> Json:
        return (await self.accounts([account]))[0]

    def _account(self, a: AnyAccount, counts: _AccountCounts, moved: dict[int, Json]) -> Json:
        avatar = a.avatar_uri or f"{self.base}{DEFAULT_AVATAR_PATH}"
        header = a.header_uri or f"{self.base}{DEFAULT_HEADER_PATH}"
        last = counts.last_status.get(a.id)
        data: Json = {
            "id": str(a.id),
            "username": a.username,
            "acct": a.handle,
            "url": a.url or a.uri,
            "uri": a.uri,
            "display_name": a.display_name,
            # Local notes are kept as typed; remote ones arrive as sanitized HTML.
            "note": note_to_html(a.note) if a.local else a.note,
            "avatar": avatar,
            "avatar_static": avatar,
            "header": header,
            "header_static": header,
            "locked": a.manually_approves_followers,
            "fields": [
                {"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None}
                for f in a.profile_fields
            ],
            "emojis": [],
            "bot": a.bot or a.actor_type in (ActorType.SERVICE, ActorType.APPLICATION),
            "group": a.actor_type is ActorType.GROUP,
            "discoverable": a.discoverable,
            "indexable": a.discoverable,
            "noindex": not a.discoverable,
            "created_at": iso(a.created_at.replace(hour=0, minute=0, second=0, microsecond=0)),
            "last_status_at": last.date().isoformat() if last is not None else None,
            "statuses_count": counts.statuses.get(a.id, 0),
            "followers_count": counts.followers.get(a.id, 0),
            "following_count": counts.following.get(a.id, 0),
        }
        moved_to = a.moved_to_id  # type: ignore[union-attr]
        if moved_to is not None and moved_to in moved:
            data["moved"] = moved[moved_to]
        if a.is_suspended:
            data["suspended"] = True
        if a.silenced_at is not None:
            data["limited"] = True
        return data

    async def credential_account(self, account: Account) -> Json:
        """``verify_credentials``: the account plus ``source`` and ``role``."""
        data = await self.account(account)
        pending = await Follow.filter(target=account, state=FollowState.PENDING).count()
        data["source"] = {
            "privacy": account.default_visibility.value,
            "sensitive": account.default_sensitive,
            "language": account.default_language or "",
            "note": account.note if account.local else _html_to_source(account.note),
            "fields": [
                {
                    "name": f.get("name", ""),
                    "value": f.get("source", f.get("value", "")),
                    "verified_at": None,
                }
                for f in account.profile_fields
            ],
            "follow_requests_count": pending,
            "hide_collections": False,
            "discoverable": account.discoverable,
            "indexable": account.discoverable,
        }
        data["role"] = {
            "id": str(list(type(account.role)).index(account.role)),
            "name": account.role.value,
            "color": "",
            "permissions": "0",
            "highlighted": False,
        }
        return data

    async def relationships(self, targets: Sequence[Account]) -> list[Json]:
        """The viewer's Relationship to each target, with six queries whatever their number.

        Endorsements do not exist here yet: always false.
        """
        viewer = self.viewer
        if viewer is None:
            raise ValueError("relationships need a viewer")
        ids = list({t.id for t in targets})
        outgoing: dict[int, FollowState] = {}
        incoming: dict[int, FollowState] = {}
        blocking: set[int] = set()
        blocked_by: set[int] = set()
        muting: dict[int, bool] = {}
        notes: dict[int, str] = {}
        blocked_domains: set[str] = set()
        if ids:
            rows = await Follow.filter(account_id=viewer.id, target_id__in=ids).values_list(
                "target_id", "state"
            )
            outgoing = {int(t): FollowState(s) for t, s in rows}
            rows = await Follow.filter(account_id__in=ids, target_id=viewer.id).values_list(
                "account_id", "state"
            )
            incoming = {int(a): FollowState(s) for a, s in rows}
            blocks = await AccountBlock.filter(
                Q(account_id=viewer.id, target_id__in=ids)
                | Q(account_id__in=ids, target_id=viewer.id)
            ).values_list("account_id", "target_id")
            blocking = {int(t) for a, t in blocks if a == viewer.id}
            blocked_by = {int(a) for a, t in blocks if t == viewer.id}
            mute_rows = await Mute.filter(
                mute_rules.active_mutes(viewer.id), target_id__in=ids
            ).values_list("target_id", "notifications")
            muting = {int(t): bool(n) for t, n in mute_rows}
            note_rows = await AccountNote.filter(
                account_id=viewer.id, target_id__in=ids
            ).values_list("target_id", "comment")
            notes = {int(t): str(c) for t, c in note_rows}
            domains = {t.domain.lower() for t in targets if t.domain}
            if domains:
                blocked_domains = {
                    str(d)
                    for d in await UserDomainBlock.filter(
                        account_id=viewer.id, domain__in=list(domains)
                    ).values_list("domain", flat=True)
                }
        result: list[Json] = []
        for target in targets:
            mine = outgoing.get(target.id)
            theirs = incoming.get(target.id)
            result.append(
                {
                    "id": str(target.id),
                    "following": mine is FollowState.ACCEPTED,
                    "showing_reblogs": mine is not None,
                    "notifying": False,
                    "languages": None,
                    "followed_by": theirs is FollowState.ACCEPTED,
                    "blocking": target.id in blocking,
                    "blocked_by": target.id in blocked_by,
                    "muting": target.id in muting,
                    "muting_notifications": muting.get(target.id, False),
                    "requested": mine is FollowState.PENDING,
                    "requested_by": theirs is FollowState.PENDING,
                    "domain_blocking": (target.domain or "").lower() in blocked_domains,
                    "endorsed": False,
                    "note": notes.get(target.id, ""),
                }
            )
        return result

    async def relationship(self, target: Account) -> Json:
        return (await self.relationships([target]))[0]

    # -- statuses ------------------------------------------------------------------

    async def statuses(self, statuses: Sequence[Status]) -> list[Json]:
        """Serialize a page of statuses (boosts included) with a bounded number of queries."""
        if not statuses:
            return []
        by_id: dict[int, Status] = {s.id: s for s in statuses}
        reblog_ids = {s.reblog_of_id for s in statuses if s.reblog_of_id}  # type: ignore[attr-defined]
        missing = reblog_ids - by_id.keys()
        if missing:
            for s in await rawsql.fetch_models(Status, '"id" IN (:ids)', ids=missing):
                by_id[s.id] = s
        loaded = _Loaded(by_id)
        await loaded.load(self)
        return [self._status(s, loaded) for s in statuses]

    async def status(self, status: Status) -> Json:
        return (await self.statuses([status]))[0]

    def _status(self, s: Status, loaded: _Loaded) -> Json:
        account = loaded.accounts_json[s.account_id]  # type: ignore[attr-defined]
        reblog_of = s.reblog_of_id  # type: ignore[attr-defined]
        if reblog_of is not None and reblog_of in loaded.statuses:
            inner = self._status(loaded.statuses[reblog_of], loaded)
            data = self._status_fields(s, loaded, account)
            data.update(
                {
                    "reblog": inner,
                    "content": "",
                    "spoiler_text": "",
                    "media_attachments": [],
                    "mentions": [],
                    "tags": [],
                    "poll": None,
                    "in_reply_to_id": None,
                    "in_reply_to_account_id": None,
                }
            )
            return data
        return self._status_fields(s, loaded, account)

    def _status_fields(self, s: Status, loaded: _Loaded, account: Json) -> Json:
        parent = s.in_reply_to_id  # type: ignore[attr-defined]
        data: Json = {
            "id": str(s.id),
            "uri": s.uri,
            "url": s.url or s.uri,
            "created_at": iso(s.published_at),
            "edited_at": iso(s.edited_at),
            "account": account,
            "content": s.content,
            "visibility": s.visibility.value,
            "sensitive": s.sensitive,
            "spoiler_text": s.summary,
            "media_attachments": loaded.media.get(s.id, []),
            "application": None,
            "mentions": loaded.mentions.get(s.id, []),
            "tags": loaded.tags.get(s.id, []),
            "emojis": [],
            "reblogs_count": loaded.reblogs_count.get(s.id, 0),
            "favourites_count": loaded.favourites_count.get(s.id, 0),
            "replies_count": loaded.replies_count.get(s.id, 0),
            "in_reply_to_id": str(parent) if parent is not None else None,
            "in_reply_to_account_id": (
                str(loaded.parent_accounts[s.id]) if s.id in loaded.parent_accounts else None
            ),
            "reblog": None,
            "poll": loaded.polls.get(s.id),
            "card": None,
            "language": s.language,
            "text": None,
            "filtered": loaded.filtered.get(s.id, []),
        }
        if self.viewer is not None:
            data.update(
                {
                    "favourited": s.id in loaded.favourited,
                    "reblogged": s.id in loaded.reblogged,
                    "muted": False,
                    "bookmarked": s.id in loaded.bookmarked,
                    "pinned": s.id in loaded.pinned,
                }
            )
        return data

    # -- media and polls -------------------------------------------------------------

    def media_attachment(self, m: MediaAttachment) -> Json:
        url = media_url(self.ctx, m.file_name) if m.file_name else m.remote_url
        preview = media_url(self.ctx, m.thumbnail_name) if m.thumbnail_name else url
        if not m.thumbnail_name and m.file_name and m.type.value not in ("image", "gifv"):
            # A local video or audio file without a cover image has no preview.
            preview = None
        meta = dict(m.meta)
        if m.focus_x or m.focus_y:
            meta["focus"] = {"x": m.focus_x, "y": m.focus_y}
        return {
            "id": str(m.id),
            "type": m.type.value,
            "url": url,
            "preview_url": preview,
            "remote_url": m.remote_url if m.file_name is None else None,
            "meta": meta,
            "description": m.description or None,
            "blurhash": m.blurhash,
        }

    def remote_attachment(self, status: Status, index: int, item: dict[str, Any]) -> Json:
        """An attachment kept on the status (received by federation) as a MediaAttachment."""
        media_type = str(item.get("mediaType") or item.get("media_type") or "")
        kind = "unknown"
        if media_type.startswith("image/"):
            kind = "gifv" if media_type == "image/gif" else "image"
        elif media_type.startswith("video/"):
            kind = "video"
        elif media_type.startswith("audio/"):
            kind = "audio"
        url = item.get("url")
        return {
            "id": f"{status.id}{index:03d}",
            "type": kind,
            "url": url,
            "preview_url": url,
            "remote_url": url,
            "meta": {},
            "description": item.get("name") or None,
            "blurhash": item.get("blurhash"),
        }

    def poll(self, poll: Poll, own_votes: list[int] | None) -> Json:
        expired = poll.expires_at is not None and poll.expires_at <= utcnow()
        votes = sum(int(o.get("votes_count", 0)) for o in poll.options)
        data: Json = {
            "id": str(poll.id),
            "expires_at": iso(poll.expires_at),
            "expired": expired,
            "multiple": poll.multiple,
            "votes_count": votes,
            "voters_count": poll.voters_count if poll.multiple else None,
            # Totals stay hidden until the poll ends when its author asked so.
            "options": [
                {
                    "title": str(o.get("title", "")),
                    "votes_count": (
                        None if poll.hide_totals and not expired else int(o.get("votes_count", 0))
                    ),
                }
                for o in poll.options
            ],
            "emojis": [],
        }
        if self.viewer is not None:
            data["voted"] = bool(own_votes)
            data["own_votes"] = own_votes or []
        return data

    # -- notifications -----------------------------------------------------------------

    async def notifications(self, notifications: Sequence[Notification]) -> list[Json]:
        """A page of notifications, fetched with ``from_account`` and ``status``.

        The accounts and the statuses are serialized in one batch each, so a page
        costs a fixed number of queries. Which notifications the viewer may see is
        decided before (see ``api/notifications.py``).
        """
        accounts = list({n.from_account.id: n.from_account for n in notifications}.values())
        statuses = list({n.status.id: n.status for n in notifications if n.status}.values())
        accounts_json = dict(zip(ids_of(accounts), await self.accounts(accounts), strict=True))
        statuses_json = dict(zip(ids_of(statuses), await self.statuses(statuses), strict=True))
        result: list[Json] = []
        for n in notifications:
            data: Json = {
                "id": str(n.id),
                "type": n.type.value,
                "created_at": iso(n.created_at),
                "group_key": str(GroupKey.of(n, GROUPABLE)),
                "account": accounts_json[n.from_account.id],
            }
            if n.status is not None:
                data["status"] = statuses_json[n.status.id]
            result.append(data)
        return result


@dataclass(slots=True)
class _Present:
    """Which statuses of a page have mentions, tags, media or a poll."""

    mentions: set[int] = field(default_factory=set)
    tags: set[int] = field(default_factory=set)
    media: set[int] = field(default_factory=set)
    poll: set[int] = field(default_factory=set)


class _Loaded:
    """Everything a page of statuses needs, loaded in batches."""

    def __init__(self, statuses: dict[int, Status]) -> None:
        self.statuses = statuses
        self.accounts_json: dict[int, Json] = {}
        self.mentions: dict[int, list[Json]] = defaultdict(list)
        self.tags: dict[int, list[Json]] = defaultdict(list)
        self.media: dict[int, list[Json]] = defaultdict(list)
        self.polls: dict[int, Json] = {}
        self.reblogs_count: dict[int, int] = {}
        self.favourites_count: dict[int, int] = {}
        self.replies_count: dict[int, int] = {}
        self.parent_accounts: dict[int, int] = {}  # by the replying status
        self.favourited: set[int] = set()
        self.reblogged: set[int] = set()
        self.bookmarked: set[int] = set()
        self.pinned: set[int] = set()
        self.filtered: dict[int, list[Json]] = {}

    async def load(self, ser: Serializer) -> None:
        """At most seven queries: accounts, counts and marks, then mentions and tags (one),
        media, polls, the viewer's votes and filters when the page has any."""
        account_ids = {s.account_id for s in self.statuses.values()}  # type: ignore[attr-defined]
        self.accounts_json = await ser.accounts_by_id(account_ids)
        has = await self._counts_and_marks(ser.viewer)
        await self._mentions_and_tags(ser, has.mentions, has.tags)
        if has.media:
            local_media = await rawsql.fetch_models(
                MediaAttachment,
                '"status_id" IN (:ids) ORDER BY "position", "id"',
                ids=has.media,
            )
            for item in local_media:
                self.media[item.status_id].append(ser.media_attachment(item))  # type: ignore[attr-defined]
        for s in self.statuses.values():
            if s.id not in self.media and s.attachments:
                self.media[s.id] = [
                    ser.remote_attachment(s, i, item) for i, item in enumerate(s.attachments[:16])
                ]
        if has.poll:
            await self._polls(ser, has.poll)
        if ser.viewer is not None:
            compiled = ser.filters
            if compiled is None:
                compiled = await filter_rules.active_filters(ser.viewer)
            self._filter(compiled)

    async def _counts_and_marks(self, viewer: Account | None) -> _Present:
        """Counts, the replied-to accounts, the viewer's own marks and which statuses have
        mentions, tags, media or a poll: one query."""
        statuses = Status._meta.db_table
        columns = {
            "n_reblogs": _count(statuses, "reblog_of_id", "s", ALIVE),
            "n_replies": _count(statuses, "in_reply_to_id", "s", ALIVE),
            "n_favourites": _count(Favourite._meta.db_table, "status_id", "s"),
            "parent_account": _correlated(
                'SELECT x."account_id"', statuses, "id", "s", on="in_reply_to_id"
            ),
            "mentions": _exists(StatusMention._meta.db_table, "status_id", "s"),
            "tags": _exists(StatusTag._meta.db_table, "status_id", "s"),
            "media": _exists(MediaAttachment._meta.db_table, "status_id", "s"),
            "poll": _exists(Poll._meta.db_table, "status_id", "s"),
        }
        marks: dict[str, set[int]] = {}
        params: dict[str, Any] = {"ids": list(self.statuses)}
        if viewer is not None:
            columns |= {
                "favourited": _exists(Favourite._meta.db_table, "status_id", "s", MINE),
                "reblogged": _exists(statuses, "reblog_of_id", "s", MINE + ALIVE),
                "bookmarked": _exists(Bookmark._meta.db_table, "status_id", "s", MINE),
                "pinned": _exists(StatusPin._meta.db_table, "status_id", "s", MINE),
            }
            marks = {
                "favourited": self.favourited,
                "reblogged": self.reblogged,
                "bookmarked": self.bookmarked,
                "pinned": self.pinned,
            }
            params["viewer"] = viewer.id
        present = _Present()
        found = {
            "mentions": present.mentions,
            "tags": present.tags,
            "media": present.media,
            "poll": present.poll,
            **marks,
        }
        selected = ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
        sql = f'SELECT s."id", {selected} FROM "{statuses}" s WHERE s."id" IN (:ids)'  # noqa: S608
        for row in await rawsql.fetch(sql, **params):
            key = int(row["id"])
            self.reblogs_count[key] = int(row["n_reblogs"])
            self.replies_count[key] = int(row["n_replies"])
            self.favourites_count[key] = int(row["n_favourites"])
            if row["parent_account"] is not None:
                self.parent_accounts[key] = int(row["parent_account"])
            for name, ids in found.items():
                if rawsql.truth(row[name]):
                    ids.add(key)
        return present

    async def _mentions_and_tags(
        self, ser: Serializer, mentioned: set[int], tagged: set[int]
    ) -> None:
        """The mentions and hashtags of the posts that have some, in one query."""
        parts: list[str] = []
        if mentioned:
            parts.append(
                'SELECT m."id" AS sort, m."status_id", a."id" AS account_id, a."username",'  # noqa: S608
                ' a."domain", a."url", a."uri", NULL AS tag'
                f' FROM "{StatusMention._meta.db_table}" m'
                f' JOIN "{Account._meta.db_table}" a ON a."id" = m."account_id"'
                ' WHERE m."status_id" IN (:mentioned)'
            )
        if tagged:
            parts.append(
                'SELECT st."id" AS sort, st."status_id", NULL AS account_id, NULL AS username,'  # noqa: S608
                ' NULL AS domain, NULL AS url, NULL AS uri, t."name" AS tag'
                f' FROM "{StatusTag._meta.db_table}" st'
                f' JOIN "{Tag._meta.db_table}" t ON t."id" = st."tag_id"'
                ' WHERE st."status_id" IN (:tagged)'
            )
        if not parts:
            return
        params = {"mentioned": mentioned, "tagged": tagged}
        sql = " UNION ALL ".join(parts) + " ORDER BY sort"
        for row in await rawsql.fetch(sql, **{k: v for k, v in params.items() if v}):
            status_id = int(row["status_id"])
            name = row["tag"]
            if name is not None:
                self.tags[status_id].append(
                    {"name": name, "url": ser.ctx.uris.build(Kind.TAG, name=name)}
                )
                continue
            username, domain = row["username"], row["domain"]
            self.mentions[status_id].append(
                {
                    "id": str(row["account_id"]),
                    "username": username,
                    "url": row["url"] or row["uri"],
                    "acct": username if domain is None else f"{username}@{domain}",
                }
            )

    async def _polls(self, ser: Serializer, ids: set[int]) -> None:
        polls = await Poll.filter(status_id__in=list(ids))
        own: dict[int, list[int]] = defaultdict(list)
        if ser.viewer is not None and polls:
            for vote in await PollVote.filter(
                poll_id__in=[p.id for p in polls], account_id=ser.viewer.id
            ):
                own[vote.poll_id].append(vote.choice)  # type: ignore[attr-defined]
        for p in polls:
            self.polls[p.status_id] = ser.poll(p, own.get(p.id))  # type: ignore[attr-defined]

    def _filter(self, compiled: filter_rules.CompiledFilters) -> None:
        """Every filter each post matches (in any context: apps check the context), a boost
        by the post it boosts."""
        if not compiled:
            return
        for s in self.statuses.values():
            inner_id = s.reblog_of_id  # type: ignore[attr-defined]
            inner = self.statuses.get(inner_id) if inner_id is not None else None
            found = compiled.match_status(s, inner=inner)
            if found:
                self.filtered[s.id] = [filter_result_json(m) for m in found]


def _html_to_source(note: str) -> str:
    """Plain text of a profile note for editing (the reverse of converters.note_to_html)."""
    text = re.sub(r"<br\s*/?>", "\n", note)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


def ids_of(rows: Iterable[Any]) -> list[int]:
    return [int(r.id) for r in rows]
