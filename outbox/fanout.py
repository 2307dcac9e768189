"""Expanding a fan-out job into one delivery per distinct inbox.

Recipients are resolved in batches: actor URIs with one query per batch, a local
actor's followers collection by keyset pagination over its accepted follows, so
memory stays flat however large the audience. Each batch is written with
``INSERT … ON CONFLICT DO NOTHING`` against the unique (job, inbox) key, which
dedupes shared inboxes across batches and makes re-expanding a job after a crash
harmless.

Skipped: public addressing, our own domain (local recipients are handled without
HTTP), domains we suspend (and their subdomains), domains marked unavailable,
collections that are not a local actor's followers, and actor URIs we do not
know (fetching unknown actors belongs to the federation layer, which can pass a
``resolve_actor`` callback).

A local followers collection with a peer-kind fragment (``…/followers#group-aware``,
``…/followers#microblog``, see :func:`followers_of_kind`) expands to the followers
on servers of that kind only, as ``peer_software`` records them (a server not
recorded there counts as ``microblog``). A community uses it to send each kind of
server the ``Announce`` it understands.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from activitypub.domains import InvalidDomain, domain_matches, origin_of
from fediverse_cop.models import (
    Account,
    Delivery,
    DomainBlock,
    DomainBlockSeverity,
    FanoutJob,
    Follow,
    FollowState,
    PeerSoftware,
)
from outbox.health import unavailable_domains

log = logging.getLogger(__name__)

PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
BATCH = 500
PEER_KINDS = ("group-aware", "microblog")
# What a server not recorded in ``peer_software`` is taken to be.
DEFAULT_PEER_KIND = "microblog"


def followers_of_kind(followers_uri: str, kind: str) -> str:
    """The recipient for the followers of a local actor on servers of ``kind`` only."""
    if kind not in PEER_KINDS:
        raise ValueError(f"unknown peer kind {kind!r}")
    return f"{followers_uri}#{kind}"


def _split_kind(recipient: str) -> tuple[str, str | None]:
    base, _, fragment = recipient.partition("#")
    return (base, fragment) if fragment in PEER_KINDS else (recipient, None)


ActorResolver = Callable[[str], Awaitable[Account | None]]


@dataclass(slots=True)
class ExpansionStats:
    inboxes: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True, slots=True)
class Target:
    """Where one recipient's copy goes: its shared inbox when it has one.

    ``domain`` is the inbox's host with its port when not the default one (the key
    of per-domain health, comparable with our own ``domain`` setting); ``host`` is
    the bare host, which domain blocks are matched against.
    """

    inbox: str
    domain: str
    host: str
    account_domain: str | None


def domain_key(url: str) -> tuple[str, str] | None:
    """``(host[:port], host)`` of an http(s) URL, or None when it has no usable host."""
    try:
        origin = origin_of(url)
    except InvalidDomain:
        return None
    default = 443 if origin.scheme == "https" else 80
    key = origin.host if origin.port == default else f"{origin.host}:{origin.port}"
    return key, origin.host


class Expander:
    def __init__(
        self,
        local_domain: str,
        *,
        resolve_actor: ActorResolver | None = None,
        batch: int = BATCH,
    ) -> None:
        self.local_domain = local_domain
        self.resolve_actor = resolve_actor
        self.batch = batch

    async def expand(self, job: FanoutJob, now: datetime) -> ExpansionStats:
        stats = ExpansionStats()
        suspended = [
            b.domain
            for b in await DomainBlock.filter(severity=DomainBlockSeverity.SUSPEND).only("domain")
        ]
        unavailable = await unavailable_domains()

        def allowed(target: Target) -> bool:
            if target.domain == self.local_domain:
                stats.skip("local")
                return False
            for domain in (target.host, target.account_domain):
                if domain and any(domain_matches(domain, b) for b in suspended):
                    stats.skip("suspended")
                    return False
            if target.domain in unavailable:
                stats.skip("unavailable")
                return False
            return True

        actor_uris: list[str] = []
        bases = {_split_kind(recipient)[0] for recipient in job.recipients}
        collections = {
            account.followers_uri: account
            for account in await Account.filter(followers_uri__in=bases, local=True)
        }
        for recipient in job.recipients:
            if recipient in PUBLIC:
                continue
            base, kind = _split_kind(recipient)
            follower_of = collections.get(base)
            if follower_of is not None:
                async for targets in self._followers(follower_of):
                    if kind is not None:
                        targets = await _of_kind(targets, kind, stats)
                    await self._write(job, [t for t in targets if allowed(t)], now, stats)
                continue
            actor_uris.append(recipient)

        for start in range(0, len(actor_uris), self.batch):
            chunk = actor_uris[start : start + self.batch]
            accounts = {a.uri: a for a in await Account.filter(uri__in=chunk)}
            targets = []
            for uri in chunk:
                account = accounts.get(uri)
                if account is None and self.resolve_actor is not None:
                    account = await self.resolve_actor(uri)
                if account is None:
                    stats.skip("unknown recipient")
                    continue
                if account.local:
                    stats.skip("local")
                    continue
                target = _target(account.inbox_uri, account.shared_inbox_uri, account.domain)
                if target is None:
                    stats.skip("no inbox")
                    continue
                targets.append(target)
            await self._write(job, [t for t in targets if allowed(t)], now, stats)
        return stats

    def _followers(self, account: Account) -> _FollowerPages:
        return _FollowerPages(account.id, self.batch)

    async def _write(
        self, job: FanoutJob, targets: Iterable[Target], now: datetime, stats: ExpansionStats
    ) -> None:
        unique = {t.inbox: t for t in targets}
        if not unique:
            return
        rows = [
            Delivery(
                job_id=job.id,
                inbox=t.inbox,
                domain=t.domain,
                ordering_key=job.ordering_key,
                next_attempt_at=now,
            )
            for t in unique.values()
        ]
        await Delivery.bulk_create(rows, ignore_conflicts=True)
        stats.inboxes += len(rows)


class _FollowerPages:
    """Accepted followers of one account, a page of targets at a time (keyset on id)."""

    def __init__(self, account_id: int, batch: int) -> None:
        self.account_id = account_id
        self.batch = batch

    def __aiter__(self) -> _FollowerPages:
        self._after = 0
        self._done = False
        return self

    async def __anext__(self) -> list[Target]:
        if self._done:
            raise StopAsyncIteration
        rows = (
            await Follow.filter(
                target_id=self.account_id, state=FollowState.ACCEPTED, id__gt=self._after
            )
            .order_by("id")
            .limit(self.batch)
            .values_list("id", "account__inbox_uri", "account__shared_inbox_uri", "account__domain")
        )
        if len(rows) < self.batch:
            self._done = True
        if not rows:
            raise StopAsyncIteration
        self._after = rows[-1][0]
        targets = []
        for _, inbox, shared, domain in rows:
            target = _target(inbox, shared, domain)
            if target is not None:
                targets.append(target)
        return targets


async def _of_kind(targets: list[Target], kind: str, stats: ExpansionStats) -> list[Target]:
    """The targets on servers of ``kind`` (one query per page of followers)."""
    known = dict(
        await PeerSoftware.filter(domain__in={t.domain for t in targets}).values_list(
            "domain", "kind"
        )
    )
    chosen = [t for t in targets if known.get(t.domain, DEFAULT_PEER_KIND) == kind]
    for _ in range(len(targets) - len(chosen)):
        stats.skip("other peer kind")
    return chosen


def _target(inbox: str | None, shared: str | None, account_domain: str | None) -> Target | None:
    chosen = shared or inbox
    if not chosen:
        return None
    key = domain_key(chosen)
    if key is None:
        return None
    return Target(chosen, key[0], key[1], account_domain)
