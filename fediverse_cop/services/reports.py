"""Reports by local users about an account and some of its posts, forwarded as ``Flag``.

A report is kept for this instance's moderators. When the reported account is
remote and the reporter asks to forward it, a ``Flag`` goes to that account's
server from the instance actor (never from the reporter, as Mastodon does), with
the account's and the posts' URIs as ``object`` and the comment as ``content``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tortoise.transactions import in_transaction

from activitypub import vocab
from fediverse_cop.models import Account, Report, Status
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.instance import ensure_instance
from fediverse_cop.services.visibility import can_view
from outbox.enqueue import enqueue

MAX_COMMENT: Final = 1000
MAX_STATUSES: Final = 100
CATEGORIES: Final = ("spam", "legal", "violation", "other")
# Instance rules are not configurable yet, so no rule id is valid.
RULE_IDS: Final[frozenset[str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Filed:
    """A stored report and what the client asked for with it."""

    report: Report
    target: Account
    statuses: list[Status]
    category: str
    rule_ids: list[str]
    forwarded: bool


async def file_report(
    ctx: ServerContext,
    reporter: Account,
    target: Account,
    status_ids: Sequence[int],
    *,
    comment: str = "",
    category: str | None = None,
    rule_ids: Sequence[str] = (),
    forward: bool = False,
) -> Filed:
    """Store ``reporter``'s report about ``target`` and, if asked, forward it as a Flag.

    Every reported post must be ``target``'s and visible to the reporter, else
    NotFound (as if it did not exist).
    """
    if target.id == reporter.id:
        raise Invalid("Validation failed: you cannot report yourself")
    if len(comment) > MAX_COMMENT:
        raise Invalid(
            f"Validation failed: Comment is too long (maximum is {MAX_COMMENT} characters)"
        )
    unknown_rules = [rule for rule in rule_ids if rule not in RULE_IDS]
    if unknown_rules:
        raise Invalid(f"Validation failed: no rule {unknown_rules[0]!r}")
    kind = "violation" if rule_ids else (category or "other")
    if kind not in CATEGORIES:
        raise Invalid(f"Validation failed: category must be one of {', '.join(CATEGORIES)}")
    wanted = list(dict.fromkeys(status_ids))
    if len(wanted) > MAX_STATUSES:
        raise Invalid(f"Validation failed: at most {MAX_STATUSES} posts per report")
    statuses = await Status.filter(id__in=wanted, account_id=target.id, reblog_of_id=None)
    if len(statuses) != len(wanted):
        raise NotFound("Record not found")
    for status in statuses:
        if not await can_view(status, reporter):
            raise NotFound("Record not found")
    statuses.sort(key=lambda s: wanted.index(s.id))
    forwarded = forward and not target.local
    async with in_transaction():
        report = await Report.create(
            reporter=reporter,
            target=target,
            status_uris=[s.uri for s in statuses],
            comment=comment,
            category=kind,
            rule_ids=list(rule_ids),
            forwarded=forwarded,
        )
        if forwarded:
            report.uri = await _send_flag(ctx, target, statuses, comment)
            await report.save(update_fields=["uri"])
    return Filed(report, target, statuses, kind, list(rule_ids), forwarded)


async def _send_flag(
    ctx: ServerContext, target: Account, statuses: Sequence[Status], comment: str
) -> str:
    instance, _ = await ensure_instance(ctx)
    await instance.fetch_related("actor")
    sender = instance.actor
    if sender is None:
        raise RuntimeError("the instance has no actor to send reports from")
    flag = vocab.flag(
        id=activity_uri(ctx),
        actor=sender.uri,
        object=[target.uri, *(s.uri for s in statuses)],
        content=comment or None,
    )
    await enqueue(flag, sender, [target.uri], ordering_key=str(flag["id"]))
    return str(flag["id"])
