"""Carrying events from where things change to every web process's streams.

:func:`publish` is what services call. On PostgreSQL it sends ``NOTIFY`` on the
connection of the caller's transaction, so the event leaves only when (and if) the
transaction commits, and it reaches every process listening on the database,
this one included, through :class:`PostgresListener` (one asyncpg connection per
web process). On SQLite there is one process: the event goes straight to the hubs
registered here. Their database reads wait for the SQLite connection lock, which
the writing transaction holds until it commits, so they see what was written.

Without a database connection (or with no hub on SQLite) publishing does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from tortoise.connection import connections

from fediverse_cop.streaming.events import Event, Kind

log = logging.getLogger(__name__)

CHANNEL = "cop_streaming"
# NOTIFY payloads are limited to 8000 bytes; events are ids, announcements are small.
MAX_PAYLOAD = 7900

Receiver = Callable[[Event], None]
_local: set[Receiver] = set()


def register_local(receiver: Receiver) -> None:
    _local.add(receiver)


def unregister_local(receiver: Receiver) -> None:
    _local.discard(receiver)


def _dialect(connection: Any) -> str:
    capabilities = getattr(connection, "capabilities", None)
    return str(getattr(capabilities, "dialect", ""))


async def publish(event: Event) -> None:
    """Send ``event`` to every stream of every web process (see the module docstring)."""
    try:
        connection = connections.get("default")
    except Exception:  # not connected (some CLI paths, unit tests of services)
        return
    if _dialect(connection) == "postgres":
        text = event.to_json()
        if len(text.encode()) > MAX_PAYLOAD:
            log.warning("streaming event %s too large to publish (%d bytes)", event.kind, len(text))
            return
        await connection.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, text])
        return
    for receiver in list(_local):
        receiver(event)


async def publish_status(status_id: int) -> None:
    await publish(Event(Kind.UPDATE, status_id=status_id))


async def publish_status_update(status_id: int) -> None:
    await publish(Event(Kind.STATUS_UPDATE, status_id=status_id))


async def publish_delete(status_id: int, *, account_id: int | None = None) -> None:
    """``account_id``: the author, for a boost whose row is removed rather than marked."""
    await publish(Event(Kind.DELETE, status_id=status_id, account_id=account_id))


async def publish_notification(notification_id: int) -> None:
    await publish(Event(Kind.NOTIFICATION, notification_id=notification_id))


async def publish_filters_changed(account_id: int) -> None:
    await publish(Event(Kind.FILTERS_CHANGED, account_id=account_id))


async def publish_announcement(announcement: dict[str, Any]) -> None:
    """An Announcement entity, rendered by its owner, for every ``user`` stream."""
    await publish(Event(Kind.ANNOUNCEMENT, payload=announcement))


async def publish_announcement_delete(announcement_id: str) -> None:
    await publish(Event(Kind.ANNOUNCEMENT_DELETE, object_id=announcement_id))


def asyncpg_dsn(database_url: str) -> str:
    """The asyncpg form of a Tortoise PostgreSQL URL (``postgres://``, ``asyncpg://``…)."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        return database_url
    return f"postgresql://{rest}" if scheme != "postgresql" else database_url


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


class PostgresListener:
    """``LISTEN`` on one connection of its own; reconnects when the connection is lost."""

    def __init__(self, database_url: str, receive: Receiver, *, retry: float = 1.0) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.receive = receive
        self.retry = retry
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self.ready = asyncio.Event()

    def _on_notify(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            event = Event.from_json(payload)
        except ValueError:
            log.warning("ignored a malformed streaming notification")
            return
        self.receive(event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="streaming-listener")
        # Start serving once listening (or after a short wait if the database is slow).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout=10)

    async def _run(self) -> None:
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self.dsn, timeout=10)
                connection.add_termination_listener(_setter(lost))
                await connection.add_listener(CHANNEL, self._on_notify)
                self._connection = connection
                self.ready.set()
                log.info("streaming: listening for events on PostgreSQL")
                while not lost.is_set() and not connection.is_closed():
                    # A dead peer is noticed by a query failing, not by waiting.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=15)
                    if not lost.is_set():
                        await connection.fetchval("SELECT 1", timeout=10)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused, lost, timed out
                log.warning("streaming: PostgreSQL listener lost (%s); reconnecting", exc)
            finally:
                await self._close_connection()
            await asyncio.sleep(self.retry)

    async def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_connection()
