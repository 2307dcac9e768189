"""The streams of one web process: who is connected, to what, and what each receives.

Each connection (WebSocket or SSE) is a :class:`Subscriber` with its own bounded
queue. The hub takes events from the bus in one task, works out which
subscriptions an event reaches, renders it **for each receiver** with that
receiver's visibility and writes the frames into their queues without ever
waiting: a queue that is full means a client that does not read, and that
connection is closed (WebSocket close code 1013, SSE response ended) so it never
slows the others.

Who receives what follows the timelines (:mod:`fediverse_cop.services.timelines`):
``user`` gets what the home timeline would show; ``list`` what the list's
timeline would (asked of a :class:`ListSource`); ``public*`` and ``hashtag*``
public posts (no boosts) but for authors the viewer blocks or mutes and domains the
viewer blocks, as the public timelines; ``direct`` a
``conversation`` for direct posts the viewer wrote or is mentioned in;
notifications go to their recipient's ``user`` (when the token may read
notifications) and ``user:notification`` streams. The receiver's ``hide`` filters
of the stream's context (:func:`.streams.filter_context`) keep matching posts out.

Rendering is batched by viewer class: viewers who have not favourited, boosted,
bookmarked, pinned or voted on the post, and none of whose filters it matches, see
the same Status entity, rendered once; each of the others gets their own (with
their filters' matches in ``filtered``).

Every token is re-checked every ``token_recheck`` seconds (one query for all the
connections of the process); streams of a revoked or expired token, or of a
suspended account, are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from tortoise.expressions import Q, Subquery

from fediverse_cop import models
from fediverse_cop.api.entities import Serializer
from fediverse_cop.models import (
    Account,
    AccountBlock,
    ActorType,
    Bookmark,
    Favourite,
    Follow,
    FollowState,
    Mute,
    Notification,
    OAuthToken,
    PollVote,
    Status,
    StatusMention,
    StatusPin,
    StatusTag,
    UserDomainBlock,
    Visibility,
)
from fediverse_cop.services import filters as filter_rules
from fediverse_cop.services import lists, timelines
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.settings import Settings
from fediverse_cop.streaming import audience, bus
from fediverse_cop.streaming import streams as names
from fediverse_cop.streaming.events import Event, Frame, Kind
from fediverse_cop.streaming.streams import StreamError, StreamKey

log = logging.getLogger(__name__)

# WebSocket close codes: 1013 "try again later" for a client that does not keep up,
# 1008 "policy violation" for a token that is no longer valid.
CLOSE_OVERFLOW = 1013
CLOSE_REVOKED = 1008
CLOSE_SHUTDOWN = 1001
# Events waiting for the hub's task (they are tiny; this only guards against a stall).
MAX_PENDING_EVENTS = 10_000
# Statuses a conversation id is looked up through (the root of a reply chain).
MAX_THREAD_WALK = 40
OPEN = (Visibility.PUBLIC, Visibility.UNLISTED)


class ListSource(Protocol):
    """Lists as the streams see them (:class:`fediverse_cop.services.lists.ListTimelines`
    in a running server; a hub without one refuses the ``list`` stream)."""

    async def owns(self, account_id: int, list_id: int) -> bool:
        """Whether the account may stream the list."""
        ...

    async def candidates(self, status: Status, list_ids: set[int]) -> set[int]:
        """Those of ``list_ids`` that could hold ``status`` (a cheap narrowing, for all
        the lists streamed at once; it may keep too many, never too few)."""
        ...

    async def contains(self, account_id: int, list_id: int, status_id: int) -> bool:
        """Whether the list's timeline, as the account sees it, holds the status."""
        ...


@dataclass(eq=False)
class Subscriber:
    """One streaming connection of one user token.

    The connection's writer takes frames from ``queue``; it registers ``on_close``
    (cancelling itself), so closing wakes it even while it waits on a socket that
    takes no more bytes.
    """

    account_id: int
    token_id: int
    scopes: frozenset[str]
    queue: asyncio.Queue[Frame]
    transport: str = "websocket"
    streams: set[StreamKey] = field(default_factory=set)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = 1000
    close_reason: str = ""
    on_close: Callable[[], object] | None = None

    def offer(self, frame: Frame) -> None:
        """Queue a frame without waiting; a full queue closes the connection."""
        if self.closed.is_set():
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning(
                "streaming: %s client of account %s does not keep up (%d frames waiting); "
                "closing it",
                self.transport,
                self.account_id,
                self.queue.qsize(),
            )
            self.close(CLOSE_OVERFLOW, "the client does not read fast enough")

    def close(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code = code
            self.close_reason = reason
            self.closed.set()
            if self.on_close is not None:
                self.on_close()


Targets = list[tuple[Subscriber, StreamKey]]


@dataclass(eq=False)
class _Rendering:
    """What one status event keeps across its batches of receivers: the receivers'
    filters, and the rendering shared by those who did not interact with the post and
    none of whose filters it matches."""

    status: Status
    inner: Status | None  # the boosted post, for a boost
    filters: dict[int, filter_rules.CompiledFilters] = field(default_factory=dict)
    shared: str | None = None
    _text: str | None = None

    @property
    def proper(self) -> Status:
        """The post whose text filters match: the boosted one, for a boost."""
        return self.inner if self.inner is not None else self.status

    async def load_filters(self, viewers: set[int]) -> None:
        missing = viewers - self.filters.keys()
        if missing:
            self.filters.update(await filter_rules.active_filters_of(missing))

    def matches(self, viewer: int, context: str | None) -> list[filter_rules.FilterMatch]:
        compiled = self.filters.get(viewer)
        if not compiled:
            return []
        if self._text is None:
            self._text = filter_rules.status_text(self.proper)
        return compiled.matches(self._text, context, self.proper.id)

    def hidden(self, viewer: int, key: StreamKey) -> bool:
        """Whether a ``hide`` filter of the stream's context takes the post out."""
        context = names.filter_context(key.name)
        if context is None:
            return False
        return any(match.hides for match in self.matches(viewer, context))


class Hub:
    def __init__(
        self,
        ctx: ServerContext,
        *,
        queue_size: int = 512,
        heartbeat: float = 15.0,
        token_recheck: float = 5.0,
        list_source: ListSource | None = None,
    ) -> None:
        self.ctx = ctx
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.token_recheck = token_recheck
        self.list_source = list_source
        self.subscribers: set[Subscriber] = set()
        self._pending: asyncio.Queue[Event] = asyncio.Queue(MAX_PENDING_EVENTS)
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: bus.PostgresListener | None = None
        self._recheck_changed = asyncio.Event()
        self._signal_handlers: dict[int, Any] = {}
        # Called after each event is handled (tests and the benchmark watch progress).
        self.handled = 0

    # -- life cycle ------------------------------------------------------------------

    async def start(self, settings: Settings) -> None:
        if settings.is_sqlite:
            bus.register_local(self.receive)
        else:
            self._listener = bus.PostgresListener(settings.database_url, self.receive)
            await self._listener.start()
        self._tasks = [
            asyncio.create_task(self._consume(), name="streaming-hub"),
            asyncio.create_task(self._recheck_tokens(), name="streaming-tokens"),
        ]
        self._close_streams_on_exit_signals()

    def close_all(self, reason: str) -> None:
        for sub in list(self.subscribers):
            sub.close(CLOSE_SHUTDOWN, reason)

    def _close_streams_on_exit_signals(self) -> None:
        """Close every stream as soon as the server is told to stop.

        A server stopping gracefully waits for its responses to finish, and an event
        stream never does by itself: the server's own SIGINT/SIGTERM handler is
        wrapped so the streams end first (the server's handler still runs).
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue  # no server of ours handles it: leave the default alone

            def handler(number: int, frame: Any, previous: Any = previous) -> None:
                with contextlib.suppress(RuntimeError):  # the loop is already closed
                    loop.call_soon_threadsafe(self.close_all, "the server is shutting down")
                previous(number, frame)

            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread: signals are not ours to handle
                return
            self._signal_handlers[signum] = (handler, previous)

    def _restore_signal_handlers(self) -> None:
        for signum, (handler, previous) in self._signal_handlers.items():
            with contextlib.suppress(ValueError):
                if signal.getsignal(signum) is handler:
                    signal.signal(signum, previous)
        self._signal_handlers = {}

    async def stop(self) -> None:
        self._restore_signal_handlers()
        bus.unregister_local(self.receive)
        if self._listener is not None:
            await self._listener.stop()
        self.close_all("the server is shutting down")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def receive(self, event: Event) -> None:
        try:
            self._pending.put_nowait(event)
        except asyncio.QueueFull:
            log.error("streaming: event backlog full; dropped %s", event.kind)

    # -- connections -----------------------------------------------------------------

    def connect(
        self, account: Account, token: OAuthToken, scopes: frozenset[str], transport: str
    ) -> Subscriber:
        sub = Subscriber(
            account_id=account.id,
            token_id=token.id,
            scopes=scopes,
            queue=asyncio.Queue(self.queue_size),
            transport=transport,
        )
        self.subscribers.add(sub)
        return sub

    def disconnect(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.close(1000, "")

    async def subscribe(self, sub: Subscriber, key: StreamKey) -> None:
        """Add a subscription; :class:`StreamError` when the token may not read it."""
        if not names.allowed(sub.scopes, key.name):
            raise StreamError("Access token does not have the required scopes", 401)
        if key.list_id is not None and (
            self.list_source is None or not await self.list_source.owns(sub.account_id, key.list_id)
        ):
            raise StreamError("Not authorized to stream this list", 401)
        sub.streams.add(key)

    def unsubscribe(self, sub: Subscriber, key: StreamKey) -> None:
        sub.streams.discard(key)

    # -- events ------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            event = await self._pending.get()
            try:
                await self.handle(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("streaming: could not deliver %s", event.kind)
            self.handled += 1
            # Let the connections write before the next event is rendered.
            await asyncio.sleep(0)

    async def handle(self, event: Event) -> None:
        if not self.subscribers:
            return
        handlers: dict[Kind, Callable[[Event], Awaitable[None]]] = {
            Kind.UPDATE: self._status_event,
            Kind.STATUS_UPDATE: self._status_event,
            Kind.DELETE: self._delete_event,
            Kind.NOTIFICATION: self._notification_event,
            Kind.FILTERS_CHANGED: self._filters_event,
            Kind.ANNOUNCEMENT: self._announcement_event,
            Kind.ANNOUNCEMENT_DELETE: self._announcement_event,
        }
        await handlers[event.kind](event)

    def _subscriptions(self, wanted: Iterable[str]) -> Targets:
        wanted = set(wanted)
        return [
            (sub, key)
            for sub in list(self.subscribers)
            if not sub.closed.is_set()
            for key in sub.streams
            if key.name in wanted
        ]

    # -- new and edited statuses ------------------------------------------------------

    async def _status_event(self, event: Event) -> None:
        assert event.status_id is not None
        subs = self._subscriptions(names.ALL_STREAMS - {names.USER_NOTIFICATION})
        if not subs:
            return
        status = await Status.get_or_none(id=event.status_id)
        if status is None:
            return
        reblog_of: int | None = status.reblog_of_id  # type: ignore[attr-defined]
        inner = await Status.get_or_none(id=reblog_of) if reblog_of is not None else None
        rendering = _Rendering(status, inner)

        async def deliver(targets: Targets) -> None:
            if not targets:
                return
            await rendering.load_filters({sub.account_id for sub, _ in targets})
            targets = [
                (sub, key) for sub, key in targets if not rendering.hidden(sub.account_id, key)
            ]
            if not targets:
                return
            viewers = {sub.account_id for sub, _ in targets}
            payloads = await self._render_status(rendering, viewers)
            for sub, key in targets:
                if sub.account_id in payloads:
                    sub.offer(Frame(key.label, event.kind.value, payloads[sub.account_id]))

        # Public streams first (one check for all), then home timelines a batch at a time,
        # so the first receivers need not wait for the last.
        await deliver(await self._public_targets(status, subs))
        await deliver(await self._list_targets(status, subs))
        home = [(sub, key) for sub, key in subs if key.name == names.USER]
        if home:
            candidates = await self._home_candidates(status, {sub.account_id for sub, _ in home})
            async for sees in audience.who_sees_in_batches(timelines.home, status.id, candidates):
                await deliver([(sub, key) for sub, key in home if sub.account_id in sees])
        direct = await self._direct_targets(status, subs) if event.kind is Kind.UPDATE else []
        if direct:
            conversations = await self._render_conversation(
                status, {sub.account_id for sub, _ in direct}
            )
            for sub, key in direct:
                if sub.account_id in conversations:
                    sub.offer(Frame(key.label, "conversation", conversations[sub.account_id]))

    async def _public_targets(self, status: Status, subs: Targets) -> Targets:
        wanted = [
            (sub, key)
            for sub, key in subs
            if key.name in names.PUBLIC_STREAMS or key.name in names.HASHTAG_STREAMS
        ]
        if not wanted or status.visibility is not Visibility.PUBLIC:
            return []
        tags: set[str] | None = None
        if any(key.tag is not None for _, key in wanted):
            tags = set(await _column(StatusTag.filter(status_id=status.id), "tag__name"))
        shown: dict[tuple[bool, bool, bool], bool] = {}
        found: Targets = []
        for sub, key in wanted:
            if key.tag is not None and (tags is None or key.tag not in tags):
                continue
            option = (key.local_only, key.remote_only, key.only_media)
            if option not in shown:
                query = timelines.public(
                    None,
                    timelines.PublicFilter(
                        local=key.local_only, remote=key.remote_only, only_media=key.only_media
                    ),
                )
                shown[option] = await query.filter(id=status.id).exists()
            if shown[option]:
                found.append((sub, key))
        if not found:
            return []
        author: int = status.account_id  # type: ignore[attr-defined]
        unwanted = await _leaving_out(author, {sub.account_id for sub, _ in found})
        return [(sub, key) for sub, key in found if sub.account_id not in unwanted]

    async def _home_candidates(self, status: Status, viewers: set[int]) -> set[int]:
        """Who among ``viewers`` may have ``status`` in their home timeline: the author,
        followers of the author, mentioned accounts, members of its community. Each is
        then checked against the home timeline itself."""
        author: int = status.account_id  # type: ignore[attr-defined]
        found = {author} & viewers
        found |= set(
            await _column(
                Follow.filter(account_id__in=viewers, target_id=author, state=FollowState.ACCEPTED),
                "account_id",
            )
        )
        found |= set(
            await _column(
                StatusMention.filter(status_id=status.id, account_id__in=viewers), "account_id"
            )
        )
        audiences = {status.audience} if status.audience else set()
        reblog_of: int | None = status.reblog_of_id  # type: ignore[attr-defined]
        if reblog_of is not None:
            inner = await _column(Status.filter(id=reblog_of), "audience")
            audiences |= {value for value in inner if value}
        if audiences:
            found |= set(
                await _column(
                    Follow.filter(
                        account_id__in=viewers,
                        state=FollowState.ACCEPTED,
                        target__uri__in=list(audiences),
                        target__actor_type=ActorType.GROUP,
                    ),
                    "account_id",
                )
            )
        return {int(v) for v in found}

    async def _list_targets(self, status: Status, subs: Targets) -> Targets:
        source = self.list_source
        wanted = [(sub, key) for sub, key in subs if key.list_id is not None]
        if source is None or not wanted:
            return []
        maybe = await source.candidates(status, {key.list_id for _, key in wanted if key.list_id})
        answers: dict[tuple[int, int], bool] = {}
        found: Targets = []
        for sub, key in wanted:
            if key.list_id is None or key.list_id not in maybe:
                continue
            pair = (sub.account_id, key.list_id)
            if pair not in answers:
                answers[pair] = await source.contains(sub.account_id, key.list_id, status.id)
            if answers[pair]:
                found.append((sub, key))
        return found

    async def _direct_targets(self, status: Status, subs: Targets) -> Targets:
        wanted = [(sub, key) for sub, key in subs if key.name == names.DIRECT]
        if (
            not wanted
            or status.visibility is not Visibility.DIRECT
            or status.reblog_of_id is not None  # type: ignore[attr-defined]
        ):
            return []
        viewers = {sub.account_id for sub, _ in wanted}
        visible = await audience.who_sees(timelines.visible, status.id, viewers)
        return [(sub, key) for sub, key in wanted if sub.account_id in visible]

    # -- deletions -----------------------------------------------------------------------

    async def _delete_event(self, event: Event) -> None:
        """A deleted post's id goes to the streams that could have shown it."""
        assert event.status_id is not None
        subs = self._subscriptions(names.ALL_STREAMS - {names.USER_NOTIFICATION})
        if not subs:
            return
        status = await Status.get_or_none(id=event.status_id)
        viewers = {sub.account_id for sub, _ in subs}
        if status is None:
            # A boost removed outright: its author's followers and the author saw it.
            if event.account_id is None:
                return
            author = event.account_id
            audience = await self._followers_among(author, viewers) | ({author} & viewers)
            targets = [
                (sub, key)
                for sub, key in subs
                if key.name in (names.USER, names.LIST) and sub.account_id in audience
            ]
        else:
            targets = await self._delete_targets(status, subs, viewers)
        payload = str(event.status_id)
        for sub, key in targets:
            sub.offer(Frame(key.label, Kind.DELETE.value, payload))

    async def _followers_among(self, author: int, viewers: set[int]) -> set[int]:
        rows = await _column(
            Follow.filter(account_id__in=viewers, target_id=author, state=FollowState.ACCEPTED),
            "account_id",
        )
        return {int(v) for v in rows}

    async def _delete_targets(self, status: Status, subs: Targets, viewers: set[int]) -> Targets:
        author: int = status.account_id  # type: ignore[attr-defined]
        is_boost = status.reblog_of_id is not None  # type: ignore[attr-defined]
        mentioned = {
            int(v)
            for v in await _column(
                StatusMention.filter(status_id=status.id, account_id__in=viewers), "account_id"
            )
        }
        home = {author} & viewers | mentioned
        if status.visibility is not Visibility.DIRECT:
            home |= await self._followers_among(author, viewers)
        if status.audience:
            # Members see the community's posts, members-only ones included.
            home |= {
                int(v)
                for v in await _column(
                    Follow.filter(
                        account_id__in=viewers,
                        state=FollowState.ACCEPTED,
                        target__uri=status.audience,
                    ),
                    "account_id",
                )
            }
        public = status.visibility is Visibility.PUBLIC and not is_boost
        tags: set[str] = set()
        if public and any(key.tag is not None for _, key in subs):
            tags = set(await _column(StatusTag.filter(status_id=status.id), "tag__name"))
        targets: Targets = []
        for sub, key in subs:
            if key.name in (names.USER, names.LIST):
                ok = sub.account_id in home
            elif key.name == names.DIRECT:
                ok = status.visibility is Visibility.DIRECT and sub.account_id in home
            elif key.name in names.HASHTAG_STREAMS:
                ok = public and key.tag in tags and (status.local or not key.local_only)
            else:
                ok = (
                    public
                    and (status.local or not key.local_only)
                    and (not status.local or not key.remote_only)
                )
            if ok:
                targets.append((sub, key))
        return targets

    # -- notifications, filters, announcements -------------------------------------------

    async def _notification_event(self, event: Event) -> None:
        notification = await Notification.get_or_none(id=event.notification_id).prefetch_related(
            "account", "from_account", "status"
        )
        if notification is None:
            return
        recipient: Account = notification.account
        targets = [
            (sub, key)
            for sub, key in self._subscriptions({names.USER, names.USER_NOTIFICATION})
            if sub.account_id == recipient.id and names.allowed(sub.scopes, names.USER_NOTIFICATION)
        ]
        if not targets:
            return
        status = notification.status
        if (
            status is not None
            and not await timelines.visible(recipient).filter(id=status.id).exists()
        ):
            return
        serializer = Serializer(self.ctx, recipient)
        if status is not None:
            serializer.filters = await filter_rules.active_filters(recipient)
            if await filter_rules.hidden_ids([status], serializer.filters, "notifications"):
                return
        rendered = await serializer.notifications([notification])
        payload = _json(rendered[0])
        for sub, key in targets:
            sub.offer(Frame(key.label, Kind.NOTIFICATION.value, payload))

    async def _filters_event(self, event: Event) -> None:
        for sub, key in self._subscriptions({names.USER}):
            if sub.account_id == event.account_id:
                sub.offer(Frame(key.label, Kind.FILTERS_CHANGED.value, None))

    async def _announcement_event(self, event: Event) -> None:
        if event.kind is Kind.ANNOUNCEMENT:
            payload = _json(event.payload or {})
        else:
            payload = event.object_id or ""
        for sub, key in self._subscriptions({names.USER}):
            sub.offer(Frame(key.label, event.kind.value, payload))

    # -- rendering ---------------------------------------------------------------------

    async def _render_status(self, rendering: _Rendering, viewer_ids: set[int]) -> dict[int, str]:
        """The Status entity for each viewer, rendered once per viewer class (``rendering``
        keeps the shared one across batches). Those whose filters match the post get their
        own, with the matches in ``filtered``, as the timelines show them."""
        status = rendering.status
        ids = [status.id]
        if rendering.inner is not None:
            ids.append(rendering.inner.id)
        await rendering.load_filters(viewer_ids)
        special = await _interacted(viewer_ids, ids)
        special |= {v for v in viewer_ids if rendering.matches(v, None)}
        ordinary = sorted(viewer_ids - special)
        needed = special | (set(ordinary[:1]) if rendering.shared is None else set())
        accounts = {a.id: a for a in await Account.filter(id__in=needed)}
        payloads: dict[int, str] = {}
        if ordinary and rendering.shared is None and ordinary[0] in accounts:
            serializer = Serializer(self.ctx, accounts[ordinary[0]])
            serializer.filters = filter_rules.CompiledFilters()  # none of theirs matches
            rendering.shared = _json(await serializer.status(status))
        if ordinary and rendering.shared is not None:
            payloads.update(dict.fromkeys(ordinary, rendering.shared))
        for account_id in special:
            if account_id in accounts:
                serializer = Serializer(self.ctx, accounts[account_id])
                serializer.filters = rendering.filters.get(account_id)
                payloads[account_id] = _json(await serializer.status(status))
        return payloads

    async def _render_conversation(self, status: Status, viewer_ids: set[int]) -> dict[int, str]:
        """The Conversation entity of a direct post for each participant watching.

        Where conversations are stored (``models.Conversation``), each viewer's row gives
        the id, the other participants and ``unread``; otherwise the conversation is
        known by the first post of its reply chain.
        """
        author: int = status.account_id  # type: ignore[attr-defined]
        mentioned = await _column(StatusMention.filter(status_id=status.id), "account_id")
        participant_ids = {author, *(int(v) for v in mentioned)}
        participants = {a.id: a for a in await Account.filter(id__in=participant_ids)}
        rows = await _conversation_rows(status, viewer_ids)
        if rows is None and status.audience:
            return {}  # a members-only post of a community, not a conversation
        root = str(await conversation_root(status)) if rows is None else ""
        result: dict[int, str] = {}
        for viewer_id in viewer_ids:
            viewer = participants.get(viewer_id)
            if viewer is None:
                continue
            others = [a for i, a in sorted(participants.items()) if i != viewer_id]
            conversation_id, unread = root, viewer_id != author
            if rows is not None:
                if viewer_id not in rows:
                    continue
                conversation_id, unread = rows[viewer_id]
            ser = Serializer(self.ctx, viewer)
            data = {
                "id": conversation_id,
                "unread": unread,
                "accounts": await ser.accounts(others),
                "last_status": await ser.status(status),
            }
            result[viewer_id] = _json(data)
        return result

    # -- tokens ------------------------------------------------------------------------

    def configure(
        self,
        *,
        heartbeat: float | None = None,
        token_recheck: float | None = None,
        queue_size: int | None = None,
    ) -> None:
        """Change the intervals and the queue size (new connections get the new size)."""
        if heartbeat is not None:
            self.heartbeat = heartbeat
        if queue_size is not None:
            self.queue_size = queue_size
        if token_recheck is not None:
            self.token_recheck = token_recheck
            self._recheck_changed.set()

    async def _recheck_tokens(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recheck_changed.wait(), timeout=self.token_recheck)
            self._recheck_changed.clear()
            try:
                await self.check_tokens()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("streaming: token check failed")

    async def check_tokens(self) -> None:
        """Close the streams whose token was revoked or expired, or whose user is gone."""
        subs = [sub for sub in self.subscribers if not sub.closed.is_set()]
        if not subs:
            return
        token_ids = {sub.token_id for sub in subs}
        live = set(
            await _column(
                OAuthToken.filter(
                    Q(expires_at=None) | Q(expires_at__gt=utcnow()),
                    id__in=token_ids,
                    revoked_at=None,
                    account__suspended_at=None,
                    account__deleted_at=None,
                ),
                "id",
            )
        )
        for sub in subs:
            if sub.token_id not in live:
                log.info("streaming: closing a stream of account %s: token revoked", sub.account_id)
                sub.close(CLOSE_REVOKED, "the access token was revoked")


@contextlib.asynccontextmanager
async def running(ctx: ServerContext, **options: Any) -> AsyncIterator[Hub]:
    """A hub serving this process's streams for the duration of the block (with the lists
    of :mod:`fediverse_cop.services.lists` unless ``list_source`` says otherwise)."""
    options.setdefault("list_source", lists.ListTimelines())
    hub = Hub(ctx, **options)
    await hub.start(ctx.settings)
    try:
        yield hub
    finally:
        await hub.stop()


async def _leaving_out(author: int, viewer_ids: set[int]) -> set[int]:
    """Those of ``viewer_ids`` whose public timelines leave out ``author``'s posts
    (:func:`fediverse_cop.services.timelines.unwanted_left_out`): they block the author,
    mute them (a mute not yet expired) or block their domain. One query for all."""
    if not viewer_ids:
        return set()
    blocking = AccountBlock.filter(target_id=author).values("account_id")
    muting = Mute.filter(Q(expires_at=None) | Q(expires_at__gt=utcnow()), target_id=author)
    domain = Subquery(Account.filter(id=author).values("domain"))
    blocking_domain = UserDomainBlock.filter(domain__in=domain).values("account_id")
    query = Account.filter(
        Q(id__in=Subquery(blocking))
        | Q(id__in=Subquery(muting.values("account_id")))
        | Q(id__in=Subquery(blocking_domain)),
        id__in=list(viewer_ids),
    )
    return {int(v) for v in await _column(query, "id")}


async def _interacted(viewer_ids: set[int], status_ids: list[int]) -> set[int]:
    """Viewers whose rendering of these statuses differs from a stranger's: they
    favourited, boosted, bookmarked, pinned one, or voted in its poll."""
    if not viewer_ids:
        return set()
    viewers = list(viewer_ids)
    found: set[int] = set()
    queries: list[Any] = [
        Favourite.filter(account_id__in=viewers, status_id__in=status_ids),
        Status.filter(account_id__in=viewers, reblog_of_id__in=status_ids, deleted_at=None),
        Bookmark.filter(account_id__in=viewers, status_id__in=status_ids),
        StatusPin.filter(account_id__in=viewers, status_id__in=status_ids),
        PollVote.filter(account_id__in=viewers, poll__status_id__in=status_ids),
    ]
    for query in queries:
        found |= {int(v) for v in await _column(query, "account_id")}
    return found


async def _conversation_rows(
    status: Status, viewer_ids: set[int]
) -> dict[int, tuple[str, bool]] | None:
    """Each viewer's stored conversation of this post (id, unread); None where conversations
    are not stored."""
    model: Any = getattr(models, "Conversation", None)
    if model is None:
        return None
    rows = await model.filter(account_id__in=list(viewer_ids), last_status_id=status.id).values(
        "id", "account_id", "unread"
    )
    return {int(r["account_id"]): (str(r["id"]), bool(r["unread"])) for r in rows}


async def conversation_root(status: Status) -> int:
    """The id a direct conversation is known by: the first post of its reply chain."""
    current: int = status.id
    parent: int | None = status.in_reply_to_id  # type: ignore[attr-defined]
    seen = {current}
    for _ in range(MAX_THREAD_WALK):
        if parent is None or parent in seen:
            break
        seen.add(parent)
        above = await _column(Status.filter(id=parent), "in_reply_to_id")
        if not above:
            break
        current = parent
        parent = above[0]
    return current


async def _column(query: Any, name: str) -> list[Any]:
    """One column of a query's rows."""
    return list(await query.values_list(name, flat=True))


def _json(data: Any) -> str:
    return orjson.dumps(data).decode()
