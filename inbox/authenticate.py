"""Authenticating a signed request: which remote actor sent it, proven by its key.

Shared by the inbox (POST) and by fetches of non-public objects (GET). The key
comes from the cached account when its id matches; otherwise its owner is
resolved and fetched through the guarded client. A failed verification with a
cached key refetches the actor once, in case the key was rotated, but not when
the actor was fetched (or a refetch was tried) less than ``REFETCH_AFTER`` ago:
a flood of badly signed requests naming one actor's key costs its server at most
one fetch per window, whichever process or worker gets them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from tortoise.expressions import Q

from activitypub.actors import KeyRefusal, resolve_key_owner
from activitypub.domains import InvalidDomain
from activitypub.errors import FetchError
from activitypub.signatures import (
    ParsedSignature,
    Reason,
    RequestParts,
    VerificationResult,
    parse_signature,
    verify,
)
from fediverse_cop.models import Account
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.services.remote import Federation, fetch_actor, host_of, is_suspended_domain

# A cached key that fails is refetched only if the actor was last fetched longer ago.
REFETCH_AFTER = timedelta(minutes=5)


class Authenticator:
    def __init__(self, fed: Federation, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.fed = fed
        self.clock = clock

    async def authenticate(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Account | None:
        """The remote actor whose valid signature the request carries, else None.

        Used for GETs: nothing is stored, and a request from a suspended domain is
        treated as unsigned.
        """
        parsed = parse_signature(headers)
        if isinstance(parsed, VerificationResult):
            return None
        try:
            if await is_suspended_domain(host_of(parsed.key_id)):
                return None
        except InvalidDomain:
            return None
        account, result = await self.verify(
            parsed, RequestParts.build(method, target, headers, body)
        )
        return account if result.verified else None

    async def verify(
        self, parsed: ParsedSignature, request: RequestParts
    ) -> tuple[Account | None, VerificationResult]:
        settings = self.fed.ctx.settings
        cached = await Account.get_or_none(public_key_id=parsed.key_id, local=False)
        if cached is not None and cached.public_key_pem:
            result = verify(
                parsed,
                request,
                cached.public_key_pem,
                expected_host=settings.domain,
                scheme=settings.scheme,
            )
            if result.verified or result.reason is not Reason.BAD_SIGNATURE:
                return cached, result
            if not await self._may_refetch(cached):
                return cached, result
            owner: str | KeyRefusal = cached.uri  # the key may have rotated: refetch once
        else:
            try:
                owner = await resolve_key_owner(self.fed.http, parsed.key_id)
            except FetchError as exc:
                return None, VerificationResult.fail(Reason.UNKNOWN_KEY, str(exc), parsed.key_id)
        if isinstance(owner, KeyRefusal):
            return None, VerificationResult.fail(Reason.UNKNOWN_KEY, owner.reason, parsed.key_id)
        try:
            if await is_suspended_domain(host_of(owner)):
                return None, VerificationResult.fail(
                    Reason.UNKNOWN_KEY, "key owner is blocked", parsed.key_id
                )
            account = await fetch_actor(self.fed, owner, refresh=True)
        except (ServiceError, InvalidDomain) as exc:
            return None, VerificationResult.fail(Reason.UNKNOWN_KEY, str(exc), parsed.key_id)
        if account.public_key_id != parsed.key_id or not account.public_key_pem:
            return None, VerificationResult.fail(
                Reason.UNKNOWN_KEY, "the actor does not list this key", parsed.key_id
            )
        return account, verify(
            parsed,
            request,
            account.public_key_pem,
            expected_host=settings.domain,
            scheme=settings.scheme,
        )

    async def _may_refetch(self, account: Account) -> bool:
        """Claim the one refetch of ``account`` allowed per ``REFETCH_AFTER``.

        The claim is a conditional update of ``last_fetched_at``, so that of many
        requests at once, in any number of processes, one wins. A refetch that then
        fails still counts: a failing server is not asked again before the window ends.
        """
        now = self.clock()
        due = Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lte=now - REFETCH_AFTER)
        claimed = await Account.filter(due, id=account.id).update(last_fetched_at=now)
        return claimed > 0
