"""``POST /inbox``: authenticate, then store. Nothing else happens in the request.

Order of checks (each refusal leaves no row, no job, no dedupe key, and fetches
nothing but the signing key):

1. the body limit (middleware, 413) and the content type (415);
2. JSON with a depth limit, an object with an http(s) ``id`` and an ``actor`` (400);
3. a parsable HTTP signature (401);
4. suspended domains, of the key and of the actor, before any fetch (403);
5. the key: from the cached account, else fetched through the guarded client;
   a failed verification with a cached key refetches the actor once (rotation);
6. the signature itself (401), that ``actor`` owns the key (401), that the
   activity id has the actor's origin (403);
7. store an inbox item keyed by the activity id (a repeat is a no-op) → 202.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from activitypub.domains import InvalidDomain, origin_of
from activitypub.jsonparse import InvalidJSON, parse_json
from activitypub.signatures import (
    RequestParts,
    VerificationResult,
    parse_signature,
)
from fediverse_cop import wakeup
from fediverse_cop.models import Account, InboxItem
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.remote import Federation, host_of, is_suspended_domain
from inbox.authenticate import Authenticator
from outbox.health import record_success

log = logging.getLogger(__name__)

ACCEPTED_TYPES = ("application/activity+json", "application/ld+json", "application/json")
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Received:
    status: int
    message: str

    @property
    def accepted(self) -> bool:
        return self.status == 202


def _refuse(status: int, message: str, detail: str = "") -> Received:
    log.info("inbox refused (%d): %s%s", status, message, f" [{detail}]" if detail else "")
    return Received(status, message)


class InboxReceiver:
    def __init__(self, fed: Federation, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.fed = fed
        self.clock = clock
        self.authenticator = Authenticator(fed)

    async def receive(
        self,
        *,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        recipient: Account | None = None,
    ) -> Received:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if content_type.split(";")[0].strip().lower() not in ACCEPTED_TYPES:
            return _refuse(415, "unsupported content type", content_type[:100])
        try:
            activity = parse_json(body, MAX_DEPTH)
        except InvalidJSON as exc:
            return _refuse(400, "invalid JSON", str(exc))
        if not isinstance(activity, dict):
            return _refuse(400, "an activity must be a JSON object")
        activity_id = activity.get("id")
        actor_value = activity.get("actor")
        actor_id = actor_value.get("id") if isinstance(actor_value, dict) else actor_value
        if not isinstance(activity_id, str) or not isinstance(actor_id, str):
            return _refuse(400, "an activity needs an id and an actor")
        try:
            activity_origin = origin_of(activity_id)
            actor_origin = origin_of(actor_id)
            actor_host = host_of(actor_id)
        except InvalidDomain:
            return _refuse(400, "id and actor must be http(s) URLs")

        parsed = parse_signature(headers)
        if isinstance(parsed, VerificationResult):
            return _refuse(401, "a valid HTTP signature is required", parsed.detail)
        try:
            key_host = host_of(parsed.key_id)
        except InvalidDomain:
            return _refuse(401, "the signature's keyId is not an http(s) URL")
        if await is_suspended_domain(key_host) or await is_suspended_domain(actor_host):
            return _refuse(403, "this domain is blocked", actor_host)
        if self.fed.ctx.uris.parse(actor_id) is not None or key_host == self.fed.ctx.domain:
            return _refuse(401, "activities of local actors are not accepted from outside")

        request = RequestParts.build(method, target, headers, body)
        account, result = await self.authenticator.verify(parsed, request)
        if account is None or not result.verified:
            return _refuse(401, "signature verification failed", result.detail)
        if account.uri != actor_id:
            return _refuse(401, "the activity's actor does not own the signing key", actor_id)
        if activity_origin != actor_origin:
            return _refuse(403, "the activity id is not on the actor's origin", activity_id)

        try:
            await InboxItem.create(
                activity_id=activity_id,
                activity=activity,
                actor=account,
                recipient=recipient,
                next_attempt_at=self.clock(),
            )
            wakeup.INBOX.notify()
        except IntegrityError:
            log.debug("activity %s seen before; ignored", activity_id)
        await record_success([actor_host], self.clock())
        return Received(202, "accepted")
