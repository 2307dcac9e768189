"""What travels between the code that changes things and the streams: small, typed events.

An event names what happened and the ids involved, never rendered entities: each
web process loads the rows and renders them for each of its receivers (see
:mod:`.hub`). On PostgreSQL the JSON form is the payload of a ``NOTIFY``, which
must stay under 8000 bytes; only announcements carry a rendered payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


class Kind(StrEnum):
    UPDATE = "update"  # a new status (or boost) was stored: status_id
    STATUS_UPDATE = "status.update"  # a status was edited: status_id
    DELETE = "delete"  # a status (or boost) was deleted: status_id
    NOTIFICATION = "notification"  # a notification was created: notification_id
    FILTERS_CHANGED = "filters_changed"  # an account's filters changed: account_id
    ANNOUNCEMENT = "announcement"  # an announcement was published: payload
    ANNOUNCEMENT_DELETE = "announcement.delete"  # an announcement was withdrawn: object_id


@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    status_id: int | None = None
    notification_id: int | None = None
    account_id: int | None = None
    object_id: str | None = None
    payload: dict[str, Any] | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"k": self.kind.value}
        for key, value in (
            ("s", self.status_id),
            ("n", self.notification_id),
            ("a", self.account_id),
            ("o", self.object_id),
            ("p", self.payload),
        ):
            if value is not None:
                data[key] = value
        return orjson.dumps(data).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        """The event in ``text``; ValueError when it is not one."""
        try:
            data = orjson.loads(text)
            kind = Kind(data["k"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a streaming event: {text!r:.200}") from exc

        def number(key: str) -> int | None:
            value = data.get(key)
            return int(value) if value is not None else None

        payload = data.get("p")
        return cls(
            kind=kind,
            status_id=number("s"),
            notification_id=number("n"),
            account_id=number("a"),
            object_id=str(data["o"]) if data.get("o") is not None else None,
            payload=payload if isinstance(payload, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class Frame:
    """One event as a receiver gets it: the stream it matched, the event name, the payload
    (a JSON string, a bare id for deletes, or None for ``filters_changed``)."""

    stream: tuple[str, ...]
    event: str
    payload: str | None

    def websocket_text(self) -> str:
        data: dict[str, Any] = {"stream": list(self.stream), "event": self.event}
        if self.payload is not None:
            data["payload"] = self.payload
        return orjson.dumps(data).decode()

    def sse_text(self) -> str:
        payload = self.payload if self.payload is not None else "undefined"
        return f"event: {self.event}\ndata: {payload}\n\n"
