"""Web Push: subscriptions of access tokens, and notifications sent to push services.

A client registers one subscription per access token (``POST /api/v1/push/subscription``):
the push service's endpoint URL, the browser-style P-256 public key (``p256dh``) and
auth secret, which notification types it wants (``alerts``) and from whom (``policy``:
``all``, ``followed`` — accounts the user follows —, ``follower`` or ``none``).

Delivery never runs in the request that caused the notification: :func:`enqueue` puts
the notification's id in this process's :class:`Pusher` queue, and the pusher (started
with the background workers, :func:`running`) sends one request per matching
subscription through the SSRF-guarded outbound client:

* the body is the JSON payload Mastodon sends, encrypted with a fresh ECDH key per
  message (``http_ece``): as RFC 8291 ``aes128gcm`` for subscriptions made with
  ``standard=true``, else as the ``aesgcm`` draft Mastodon sent before 4.4 (what apps
  that do not ask for ``standard`` decrypt), with ``Encryption: salt=…`` and
  ``Crypto-Key: dh=…;p256ecdsa=<VAPID key>`` headers;
* an ES256 JWT signed with the instance's VAPID key, ``aud`` the endpoint's origin,
  ``exp`` 12 hours ahead, ``sub`` the contact e-mail (``mailto:``) or the instance
  URL: ``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292), or
  ``Authorization: WebPush <JWT>`` for the drafts;
* ``TTL``, ``Urgency`` and ``Content-Encoding`` headers.

A 404 or 410 from the push service means the subscription is gone: it is deleted.
Timeouts, 429 and 5xx answers are retried twice after a pause; anything else is
logged and dropped. The queue lives in memory: a notification still queued when the
process stops gets no push (it is still in the notification list).

The VAPID key pair (P-256) is made once and kept in the instance row
(:func:`ensure_vapid_keys`): the private key as PEM, the public key as the
uncompressed point in unpadded base64url, which is what clients and browsers
expect as ``server_key`` / ``applicationServerKey``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

import http_ece
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from tortoise.transactions import in_transaction

from activitypub.errors import FetchError
from activitypub.html import html_to_text
from activitypub.http import SafeHttpClient
from activitypub.netguard import AddressPolicy, AddressRefused, literal_address
from fediverse_cop.models import (
    INSTANCE_ROW_ID,
    Account,
    Follow,
    FollowState,
    Instance,
    Notification,
    NotificationType,
    OAuthToken,
    PushSubscription,
)
from fediverse_cop.models.accounts import URI_LENGTH
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound

log = logging.getLogger(__name__)

ALERT_TYPES: Final = tuple(kind.value for kind in NotificationType)
# How long a push service keeps a message for an offline device (Mastodon: 48 hours).
TTL_SECONDS: Final = 48 * 3600
# RFC 8292 allows at most 24 hours.
JWT_LIFETIME: Final = timedelta(hours=12)
AUTH_SECRET_LENGTH: Final = 16
# Mastodon cuts the body of a push at 140 characters; titles are bounded likewise.
MAX_BODY: Final = 140
MAX_TITLE: Final = 100
MAX_PENDING: Final = 10_000
CONCURRENCY: Final = 8
# Waiting for the transaction that stored the notification to commit.
VISIBILITY_WAITS: Final = (0.05, 0.2, 0.5, 1.0, 2.0)
# Pauses before the second and third attempt after a transient failure.
RETRY_DELAYS: Final = (5.0, 30.0)
GONE: Final = frozenset({404, 410})
# The default avatar the client API serves (api.entities.DEFAULT_AVATAR_PATH).
DEFAULT_ICON_PATH: Final = "/static/avatar.png"


class Policy(StrEnum):
    ALL = "all"
    FOLLOWED = "followed"
    FOLLOWER = "follower"
    NONE = "none"


# -- encodings ---------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515), as Web Push and JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_decode(text: str) -> bytes:
    """Base64 as clients send it: url-safe or standard alphabet, padded or not."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


# -- VAPID (RFC 8292) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    # The uncompressed point, unpadded base64url.
    public_key: str


def generate_vapid_keys() -> tuple[str, str]:
    """A new P-256 key pair: (private key PEM, public key as unpadded base64url)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return pem, _public_point(key)


def _public_point(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _load(pem: str) -> VapidKeys:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the stored VAPID key is not an EC key")
    return VapidKeys(key, _public_point(key))


async def ensure_vapid_keys() -> VapidKeys:
    """The instance's VAPID keys, made and stored on first use (once, whoever asks first)."""
    row = await Instance.get_or_none(id=INSTANCE_ROW_ID)
    if row is None:
        raise NotFound("the instance is not initialized")
    if not row.vapid_private_key:
        pem, public = generate_vapid_keys()
        # Only where none is stored yet: a concurrent process may have won; use its keys.
        await Instance.filter(id=INSTANCE_ROW_ID, vapid_private_key="").update(
            vapid_private_key=pem, vapid_public_key=public
        )
        row = await Instance.get(id=INSTANCE_ROW_ID)
    return _load(row.vapid_private_key)


async def vapid_public_key() -> str:
    """The public key clients need (``server_key``, ``vapid_key``, the instance's ``vapid``)."""
    return (await ensure_vapid_keys()).public_key


def endpoint_origin(endpoint: str) -> str:
    """The JWT audience: the endpoint's scheme, host and non-default port."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def vapid_jwt(keys: VapidKeys, endpoint: str, subject: str, now: datetime) -> str:
    header = b64url(orjson.dumps({"typ": "JWT", "alg": "ES256"}))
    claims = b64url(
        orjson.dumps(
            {
                "aud": endpoint_origin(endpoint),
                "exp": int((now + JWT_LIFETIME).timestamp()),
                "sub": subject,
            }
        )
    )
    signing_input = f"{header}.{claims}".encode("ascii")
    r, s = decode_dss_signature(keys.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{header}.{claims}.{b64url(signature)}"


def vapid_authorization(keys: VapidKeys, endpoint: str, subject: str, now: datetime) -> str:
    return f"vapid t={vapid_jwt(keys, endpoint, subject, now)}, k={keys.public_key}"


def encrypt(payload: bytes, p256dh: str, auth: str) -> bytes:
    """RFC 8291 ``aes128gcm``: one record, a fresh ECDH key and salt for every message."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    body: bytes = http_ece.encrypt(
        payload,
        salt=os.urandom(16),
        private_key=ephemeral,
        dh=b64_decode(p256dh),
        auth_secret=b64_decode(auth),
        version="aes128gcm",
    )
    return body


@dataclass(frozen=True, slots=True)
class LegacyMessage:
    """A draft ``aesgcm`` body and the salt and sender key its headers carry."""

    body: bytes
    salt: str
    dh: str


def encrypt_legacy(payload: bytes, p256dh: str, auth: str) -> LegacyMessage:
    """The ``aesgcm`` drafts Mastodon followed before 4.4 (draft-ietf-webpush-encryption-04):
    the salt and the sender's public key travel in the ``Encryption`` and ``Crypto-Key``
    headers instead of the body."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(16)
    body: bytes = http_ece.encrypt(
        payload,
        salt=salt,
        private_key=ephemeral,
        dh=b64_decode(p256dh),
        auth_secret=b64_decode(auth),
        version="aesgcm",
    )
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return LegacyMessage(body, b64url(salt), b64url(point))


# -- subscriptions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionInput:
    endpoint: str
    p256dh: str
    auth: str
    standard: bool = False  # RFC 8291/8292; else the drafts (Mastodon's default)


def check_endpoint(endpoint: str, *, allowed_networks: tuple[Any, ...] = ()) -> str:
    """An https URL (http too when the operator allows private networks, as tests do),
    without credentials, whose host is a name or an address the outbound client accepts."""
    text = endpoint.strip()
    if not text or len(text) > URI_LENGTH:
        raise Invalid("Validation failed: Endpoint is not a valid URL")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise Invalid("Validation failed: Endpoint is not a valid URL") from None
    schemes = ("https", "http") if allowed_networks else ("https",)
    if parts.scheme.lower() not in schemes:
        raise Invalid("Validation failed: Endpoint must be an https URL")
    if not host or parts.username is not None or parts.password is not None:
        raise Invalid("Validation failed: Endpoint is not a valid URL")
    try:
        address = literal_address(host)
        if address is not None:
            AddressPolicy(allowed_networks).check(host, address)
    except AddressRefused:
        raise Invalid("Validation failed: Endpoint is not a public address") from None
    return text


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The subscriber's keys, normalised to unpadded base64url; 422 unless they are a P-256
    point and a 16-byte secret."""
    try:
        point = b64_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise Invalid("Validation failed: Keys p256dh is not a P-256 public key") from None
    try:
        secret = b64_decode(auth)
    except ValueError:
        secret = b""
    if len(secret) != AUTH_SECRET_LENGTH:
        raise Invalid("Validation failed: Keys auth must be 16 bytes in base64") from None
    return b64url(point), b64url(secret)


def parse_alerts(raw: Mapping[str, Any], to_bool: Callable[[Any], bool]) -> dict[str, bool]:
    """Every known notification type with a boolean (unknown keys are ignored)."""
    return {kind: to_bool(raw.get(kind)) for kind in ALERT_TYPES}


def parse_policy(raw: str | None, default: Policy = Policy.ALL) -> Policy:
    if raw is None or raw == "":
        return default
    try:
        return Policy(raw)
    except ValueError:
        raise Invalid("Validation failed: Policy must be all, followed, follower or none") from None


async def subscribe(
    token: OAuthToken,
    account: Account,
    subscription: SubscriptionInput,
    alerts: dict[str, bool],
    policy: Policy,
) -> PushSubscription:
    """The token's new subscription (replacing the one it had, as Mastodon does)."""
    async with in_transaction():
        await PushSubscription.filter(token_id=token.id).delete()
        return await PushSubscription.create(
            token=token,
            account=account,
            endpoint=subscription.endpoint,
            p256dh=subscription.p256dh,
            auth=subscription.auth,
            alerts=alerts,
            policy=policy.value,
            standard=subscription.standard,
        )


async def subscription_of(token: OAuthToken) -> PushSubscription:
    found = await PushSubscription.filter(token_id=token.id).order_by("-id").first()
    if found is None:
        raise NotFound("Record not found")
    return found


async def update(
    token: OAuthToken, alerts: dict[str, bool] | None, policy: Policy | None
) -> PushSubscription:
    """Change what the subscription receives; what is not given stays as it was."""
    found = await subscription_of(token)
    if alerts is not None:
        found.alerts = alerts
    if policy is not None:
        found.policy = policy.value
    await found.save(update_fields=["alerts", "policy"])
    return found


async def unsubscribe(token: OAuthToken) -> None:
    await PushSubscription.filter(token_id=token.id).delete()


def alerts_of(subscription: PushSubscription) -> dict[str, bool]:
    stored = subscription.alerts if isinstance(subscription.alerts, dict) else {}
    return {kind: bool(stored.get(kind, False)) for kind in ALERT_TYPES}


# -- what is pushed ----------------------------------------------------------------------

TITLES: Final[dict[str, str]] = {
    NotificationType.MENTION: "You were mentioned by {name}",
    NotificationType.STATUS: "New post by {name}",
    NotificationType.REBLOG: "{name} boosted your post",
    NotificationType.FOLLOW: "{name} is now following you",
    NotificationType.FOLLOW_REQUEST: "Pending follower: {name}",
    NotificationType.FAVOURITE: "{name} favourited your post",
    NotificationType.POLL: "A poll has ended",
    NotificationType.UPDATE: "{name} edited a post",
    NotificationType.ADMIN_SIGN_UP: "{name} signed up",
    NotificationType.ADMIN_REPORT: "New report from {name}",
}


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def payload(
    ctx: ServerContext, notification: Notification, recipient: Account, actor: Account
) -> dict[str, Any]:
    """Mastodon's push payload (``Web::NotificationSerializer``).

    ``access_token`` is empty: tokens are kept only as digests, and the apps that
    receive pushes hold their own token.
    """
    status = notification.status
    name = actor.display_name.strip() or actor.username
    if status is not None:
        source = status.summary or status.text or html_to_text(status.content)
    else:
        source = actor.note if actor.local else html_to_text(actor.note)
    return {
        "access_token": "",
        "preferred_locale": recipient.default_language or "en",
        "notification_id": notification.id,
        "notification_type": notification.type.value,
        "icon": actor.avatar_uri or f"{ctx.settings.base_url}{DEFAULT_ICON_PATH}",
        "title": _cut(TITLES.get(notification.type, "{name}").format(name=name), MAX_TITLE),
        "body": _cut(source, MAX_BODY),
    }


async def _policy_allows(policy: str, recipient_id: int, actor_id: int) -> bool:
    if policy in ("", Policy.ALL):
        return True
    if policy == Policy.FOLLOWED:
        return await Follow.exists(
            account_id=recipient_id, target_id=actor_id, state=FollowState.ACCEPTED
        )
    if policy == Policy.FOLLOWER:
        return await Follow.exists(
            account_id=actor_id, target_id=recipient_id, state=FollowState.ACCEPTED
        )
    return False


async def subscriptions_for(notification: Notification, now: datetime) -> list[PushSubscription]:
    """The live subscriptions of the recipient that want this notification."""
    rows = await PushSubscription.filter(
        account_id=notification.account_id,  # type: ignore[attr-defined]
        token__revoked_at__isnull=True,
    ).prefetch_related("token")
    wanted = []
    for row in rows:
        expires = row.token.expires_at
        if expires is not None and expires <= now:
            continue
        if not alerts_of(row).get(notification.type.value, False):
            continue
        actor_id: int = notification.from_account_id  # type: ignore[attr-defined]
        if not await _policy_allows(row.policy, row.account_id, actor_id):  # type: ignore[attr-defined]
            continue
        wanted.append(row)
    return wanted


# -- delivery --------------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"  # the subscription was deleted
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One encrypted push, ready to send (built from the rows, then sent without them)."""

    subscription_id: int
    endpoint: str
    body: bytes
    headers: dict[str, str]


def _subject(ctx: ServerContext, row: Instance) -> str:
    email = (row.contact_email or "").strip()
    return f"mailto:{email}" if email else ctx.settings.base_url


def build_message(
    subscription: PushSubscription,
    content: dict[str, Any],
    keys: VapidKeys,
    subject: str,
    now: datetime,
    urgency: str = "normal",
) -> PushMessage:
    payload = orjson.dumps(content)
    headers = {
        "Content-Type": "application/octet-stream",
        "TTL": str(TTL_SECONDS),
        "Urgency": urgency,
    }
    if subscription.standard:
        body = encrypt(payload, subscription.p256dh, subscription.auth)
        headers["Content-Encoding"] = "aes128gcm"
        headers["Authorization"] = vapid_authorization(keys, subscription.endpoint, subject, now)
    else:
        legacy = encrypt_legacy(payload, subscription.p256dh, subscription.auth)
        body = legacy.body
        headers["Content-Encoding"] = "aesgcm"
        headers["Encryption"] = f"salt={legacy.salt}"
        headers["Crypto-Key"] = f"dh={legacy.dh};p256ecdsa={keys.public_key}"
        jwt = vapid_jwt(keys, subscription.endpoint, subject, now)
        headers["Authorization"] = f"WebPush {jwt}"
    return PushMessage(subscription.id, subscription.endpoint, body, headers)


async def send(http: SafeHttpClient, message: PushMessage) -> Outcome:
    """POST one message; a push service answering 404/410 loses the subscription."""
    try:
        response = await http.request(
            "POST",
            message.endpoint,
            headers=message.headers,
            content=message.body,
            truncate_body=True,
        )
    except FetchError as exc:
        log.warning("push to subscription %d failed: %s", message.subscription_id, exc)
        return Outcome.RETRY if exc.retryable else Outcome.FAILED
    if 200 <= response.status < 300:
        return Outcome.DELIVERED
    if response.status in GONE:
        await PushSubscription.filter(id=message.subscription_id).delete()
        log.info(
            "push subscription %d removed: the push service answered %d",
            message.subscription_id,
            response.status,
        )
        return Outcome.GONE
    log.warning("push to subscription %d answered %d", message.subscription_id, response.status)
    if response.status == 429 or response.status >= 500:
        return Outcome.RETRY
    return Outcome.FAILED


async def _visible_notification(notification_id: int) -> Notification | None:
    """The notification once its transaction committed (None if it never does)."""
    for pause in VISIBILITY_WAITS:
        await asyncio.sleep(pause)
        found = await Notification.get_or_none(id=notification_id).prefetch_related(
            "account", "from_account", "status"
        )
        if found is not None:
            return found
    return None


async def messages_for(
    ctx: ServerContext, notification: Notification, now: datetime
) -> list[PushMessage]:
    subscriptions = await subscriptions_for(notification, now)
    if not subscriptions:
        return []
    keys = await ensure_vapid_keys()
    row = await Instance.get(id=INSTANCE_ROW_ID)
    subject = _subject(ctx, row)
    content = payload(ctx, notification, notification.account, notification.from_account)
    urgency = "high" if notification.type is NotificationType.MENTION else "normal"
    return [build_message(s, content, keys, subject, now, urgency) for s in subscriptions]


class Pusher:
    """This process's push queue and the task draining it.

    ``clock`` gives the time the JWTs are signed at; ``retry_delays`` are the pauses
    before each new attempt after a transient failure.
    """

    def __init__(
        self,
        ctx: ServerContext,
        http: SafeHttpClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = CONCURRENCY,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.ctx = ctx
        self.http = http
        self.clock = clock
        self.retry_delays = retry_delays
        self.queue: asyncio.Queue[int] = asyncio.Queue(maxsize=MAX_PENDING)
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        # Set while nothing is queued or being pushed.
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending = 0

    def enqueue(self, notification_id: int) -> bool:
        try:
            self.queue.put_nowait(notification_id)
        except asyncio.QueueFull:
            log.warning("push queue full; notification %d is not pushed", notification_id)
            return False
        self._pending += 1
        self._idle.clear()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                getting = asyncio.ensure_future(self.queue.get())
                await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not getting.done():
                    getting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getting
                    break
                self._spawn(getting.result())
        finally:
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping

    def _spawn(self, notification_id: int) -> None:
        task = asyncio.create_task(self._push(notification_id), name="web-push")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, notification_id: int) -> None:
        try:
            notification = await _visible_notification(notification_id)
            if notification is None:
                return
            messages = await messages_for(self.ctx, notification, self.clock())
            await asyncio.gather(*(self._send_with_retries(m) for m in messages))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("push of notification %d failed", notification_id)
        finally:
            self._pending -= 1
            if self._pending <= 0:
                self._idle.set()

    async def _send_with_retries(self, message: PushMessage) -> Outcome:
        outcome = Outcome.FAILED
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                await asyncio.sleep(self.retry_delays[attempt - 1])
            async with self._slots:
                outcome = await send(self.http, message)
            if outcome is not Outcome.RETRY:
                return outcome
        return outcome

    async def drain(self) -> None:
        """Wait until everything queued so far has been sent or given up (wrap it in
        ``asyncio.timeout``)."""
        await self._idle.wait()

    async def close(self, grace: float = 0.0) -> None:
        """Let pushes in flight finish for ``grace`` seconds, then cancel them; what is
        still queued is dropped."""
        if self._tasks and grace > 0:
            await asyncio.wait(set(self._tasks), timeout=grace)
        if not self.queue.empty():
            log.info("push queue stopped with %d notification(s) unsent", self.queue.qsize())
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


_active: list[Pusher] = []


def enqueue(notification_id: int) -> bool:
    """Hand a stored notification to this process's pusher (no pusher here: no push)."""
    if not _active:
        return False
    return _active[-1].enqueue(notification_id)


def active() -> Pusher | None:
    return _active[-1] if _active else None


@contextlib.asynccontextmanager
async def running(
    ctx: ServerContext, http: SafeHttpClient, **options: Any
) -> AsyncIterator[Pusher]:
    """Run a pusher for the duration of the block; pushes in flight at the end are dropped
    after a short grace period."""
    pusher = Pusher(ctx, http, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(pusher.run(stop), name="web-push-queue")
    _active.append(pusher)
    try:
        yield pusher
    finally:
        _active.remove(pusher)
        stop.set()
        await task
        await pusher.close(grace=2.0)
