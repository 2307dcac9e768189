"""The one call the rest of the server makes to send an activity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fediverse_cop import wakeup
from fediverse_cop.models import Account, FanoutJob


async def enqueue(
    activity: dict[str, Any],
    sender: Account,
    recipients: Sequence[str],
    *,
    ordering_key: str | None = None,
) -> FanoutJob:
    """Record one fan-out job and return at once; workers do the rest.

    ``recipients`` are actor URIs and collection URIs (a local actor's followers
    collection is expanded when the job runs, so followers gained in between are
    included). ``ordering_key`` (default: the activity's object id) keeps
    deliveries about the same object to the same inbox in order.
    """
    if not sender.local or not sender.private_key_pem:
        raise ValueError("only local actors with a key can send activities")
    key = ordering_key if ordering_key is not None else _object_id(activity)
    job = await FanoutJob.create(
        sender=sender,
        activity=activity,
        recipients=list(dict.fromkeys(recipients)),
        ordering_key=key,
    )
    wakeup.DELIVERIES.notify()
    return job


def _object_id(activity: dict[str, Any]) -> str:
    obj = activity.get("object")
    if isinstance(obj, dict):
        obj = obj.get("id")
    if isinstance(obj, str):
        return obj
    identifier = activity.get("id")
    return identifier if isinstance(identifier, str) else ""
