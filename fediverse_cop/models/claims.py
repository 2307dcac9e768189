"""Claiming queue rows with expiring leases, the same way for every queue.

A row is *ready* when the caller's condition holds and it has no live lease.
Candidates are chosen in a transaction with ``SELECT … FOR UPDATE SKIP LOCKED``
(PostgreSQL; SQLite serializes writers and ignores the clause), then taken with a
conditional ``UPDATE`` that sets the lease and a random token only where no live
lease exists; the caller reads its rows back by token. Two workers never hold the
same row; a crashed worker's rows come back when the lease expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

M = TypeVar("M", bound=Model)


def no_live_lease(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


async def claim(
    model: type[M],
    ready: Q,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    order: Sequence[str] = ("id",),
    update: dict[str, Any] | None = None,
) -> list[M]:
    """Lease up to ``limit`` ready rows of ``model`` (which has ``lease_until``,
    ``claim_token`` and ``attempts``) and return them, ``attempts`` already counted."""
    token = secrets.token_hex(16)
    async with in_transaction():
        ids = (
            await model.filter(ready)
            .filter(no_live_lease(now))
            .order_by(*order)
            .limit(limit)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        if not ids:
            return []
        await (
            model.filter(id__in=list(ids))
            .filter(no_live_lease(now))
            .update(
                lease_until=now + lease,
                claim_token=token,
                attempts=F("attempts") + 1,
                **(update or {}),
            )
        )
    return await model.filter(claim_token=token).order_by(*order)
