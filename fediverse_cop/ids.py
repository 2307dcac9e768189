"""Time-ordered 64-bit ids, exposed to clients as strings (as Mastodon does).

An id is the Unix time in milliseconds shifted left by 16 bits, plus a 16-bit
counter that starts at a random value each millisecond. Ids made later sort
higher; within one process they are strictly increasing. Two processes that mint
an id in the same millisecond differ in the random low bits (a collision needs
the same millisecond and the same 16-bit draw, and is then refused by the
primary key).
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

_lock = threading.Lock()
_last = 0


def new_id(now_ms: int | None = None) -> int:
    """Return a new id for now, or for the moment ``now_ms`` (a remote post's publication).

    Ids for now are strictly increasing within the process; an id for a given moment
    has random low bits instead, so it sorts where that moment belongs.
    """
    global _last
    if now_ms is not None:
        return (now_ms << 16) | secrets.randbelow(1 << 16)
    candidate = (int(time.time() * 1000) << 16) | secrets.randbelow(1 << 15)
    with _lock:
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
    return candidate


def id_time(value: int) -> datetime:
    """The moment an id was made."""
    return datetime.fromtimestamp((value >> 16) / 1000, tz=UTC)


def id_floor(moment: datetime) -> int:
    """The smallest id made at ``moment`` (for ``max_id``/``since_id`` given as times)."""
    return int(moment.timestamp() * 1000) << 16
