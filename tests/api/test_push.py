"""Web Push: subscriptions through the API, and notifications that reach a push service.

The push service is a real HTTP server on loopback (uvicorn in a thread). For each
request it checks the VAPID JWT signature with the instance's public key and
decrypts the body with the subscriber's private key and auth secret, made in the
test as a browser makes them. The app's own SSRF-guarded client sends the pushes
(these tests allow loopback, as an operator would allow a private network).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import http_ece
import orjson
import pytest
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fediverse_cop import runtime
from fediverse_cop.models import INSTANCE_ROW_ID, Instance, PushSubscription
from fediverse_cop.services import oauth, push
from fediverse_cop.services.errors import Invalid
from fediverse_cop.settings import Settings, load_settings
from tests.api.conftest import Api, User

PATH = "/api/v1/push/subscription"
LOOPBACK = "127.0.0.0/8,::1/128"


# -- the test push service -------------------------------------------------------------------


@dataclass
class Pushed:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    port: int = 0
    received: list[Pushed] = field(default_factory=list)
    delay: float = 0.0
    statuses: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://localhost:{self.port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        with self.lock:
            self.statuses[path].extend(statuses)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.statuses.clear()
            self.delay = 0.0

    def at(self, path: str) -> list[Pushed]:
        with self.lock:
            return [p for p in self.received if p.path == path]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        with self.lock:
            self.received.append(Pushed(request.url.path, dict(request.headers), body))
            queue = self.statuses.get(request.url.path)
            status = queue.popleft() if queue else 201
            delay = self.delay
        if delay:
            await asyncio.sleep(delay)
        await Response(b"", status_code=status)(scope, receive, send)


@pytest.fixture(scope="module")
def push_server() -> Iterator[PushService]:
    service = PushService()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        service.port = sock.getsockname()[1]
    config = uvicorn.Config(
        service, host="127.0.0.1", port=service.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the push service did not start"
        time.sleep(0.01)
    yield service
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def service(push_server: PushService) -> Iterator[PushService]:
    push_server.reset()
    yield push_server
    push_server.reset()


@pytest.fixture
def settings(cop_env: dict[str, str]) -> Settings:
    """Loopback is allowed (so http endpoints are accepted, as on a private network)."""
    return load_settings(environ={**cop_env, "COP_ALLOWED_PRIVATE_NETWORKS": LOOPBACK})


@pytest.fixture
async def pusher(api: Api) -> AsyncIterator[push.Pusher]:
    """The pusher as the background workers run it, with the app's outbound client."""
    async with push.running(api.ctx, api.fed.http, retry_delays=(0.05,)) as running:
        yield running


async def drained(pusher: push.Pusher) -> None:
    async with asyncio.timeout(15):
        await pusher.drain()


# -- a subscriber, as a browser makes one ------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str
    standard: bool | None = True  # None: the app does not say (Mastodon's default: drafts)

    @classmethod
    def make(
        cls, service: PushService, path: str = "/push/alice", standard: bool | None = True
    ) -> Subscriber:
        return cls(
            ec.generate_private_key(ec.SECP256R1()), os.urandom(16), service.url(path), standard
        )

    @property
    def p256dh(self) -> str:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def body(self, alerts: dict[str, Any] | None = None, policy: str | None = None) -> Any:
        data: dict[str, Any] = {"alerts": alerts if alerts is not None else {"mention": True}}
        if policy is not None:
            data["policy"] = policy
        subscription: dict[str, Any] = {
            "endpoint": self.endpoint,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }
        if self.standard is not None:
            subscription["standard"] = self.standard
        return {"subscription": subscription, "data": data}

    def decrypt(self, pushed: Pushed) -> dict[str, Any]:
        """Decrypt as a push client does: RFC 8291, or the aesgcm draft with the salt and
        the sender's key taken from the headers."""
        if pushed.headers["content-encoding"] == "aes128gcm":
            plain = http_ece.decrypt(
                pushed.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
            )
        else:
            assert pushed.headers["content-encoding"] == "aesgcm"
            salt = pushed.headers["encryption"].removeprefix("salt=")
            crypto_key = dict(
                item.split("=", 1) for item in pushed.headers["crypto-key"].split(";")
            )
            plain = http_ece.decrypt(
                pushed.body,
                salt=unb64url(salt),
                dh=unb64url(crypto_key["dh"]),
                private_key=self.key,
                auth_secret=self.auth,
                version="aesgcm",
            )
        result: dict[str, Any] = orjson.loads(plain)
        return result


def verify_vapid(pushed: Pushed, server_key: str, audience: str) -> dict[str, Any]:
    """Check ``Authorization: vapid t=…, k=…`` as a push service does (RFC 8292), or the
    drafts' ``Authorization: WebPush <JWT>`` with the key in ``Crypto-Key: p256ecdsa=``."""
    scheme, _, rest = pushed.headers["authorization"].partition(" ")
    if scheme == "WebPush":
        crypto_key = dict(item.split("=", 1) for item in pushed.headers["crypto-key"].split(";"))
        assert crypto_key["p256ecdsa"] == server_key
        token = rest
    else:
        assert scheme == "vapid"
        parts = dict(item.strip().split("=", 1) for item in rest.split(","))
        assert parts["k"] == server_key
        token = parts["t"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    assert orjson.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    signature = unb64url(signature_b64)
    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = orjson.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


async def subscribe(api: Api, user: User, subscriber: Subscriber, **body: Any) -> dict[str, Any]:
    response = await api.post(PATH, as_=user, json=subscriber.body(**body))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def mention(api: Api, author: User, text: str) -> dict[str, Any]:
    response = await api.post("/api/v1/statuses", as_=author, json={"status": text})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def follow(api: Api, follower: User, target: User) -> None:
    response = await api.post(f"/api/v1/accounts/{target.id}/follow", as_=follower)
    assert response.status_code == 200, response.text


# -- delivery --------------------------------------------------------------------------------


async def test_a_mention_arrives_at_the_push_service_signed_and_decryptable(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob", display_name="Bob Builder")
    subscriber = Subscriber.make(service)
    entity = await subscribe(api, alice, subscriber)

    status = await mention(api, bob, "@alice the seminar moved to room 4")
    await drained(pusher)

    [pushed] = service.at("/push/alice")
    assert pushed.headers["content-encoding"] == "aes128gcm"
    assert pushed.headers["content-type"] == "application/octet-stream"
    assert pushed.headers["ttl"] == str(push.TTL_SECONDS)
    assert pushed.headers["urgency"] == "high"
    instance = (await api.get("/api/v2/instance")).json()
    server_key = instance["configuration"]["vapid"]["public_key"]
    assert entity["server_key"] == server_key
    claims = verify_vapid(pushed, server_key, f"http://localhost:{service.port}")
    assert claims["sub"] == "http://cop.test"

    message = subscriber.decrypt(pushed)
    [notification] = (await api.get("/api/v1/notifications", as_=alice)).json()
    assert notification["status"]["id"] == status["id"]
    assert message["notification_id"] == int(notification["id"])
    assert message["notification_type"] == "mention"
    assert message["title"] == "You were mentioned by Bob Builder"
    assert message["body"] == "@alice the seminar moved to room 4"
    assert message["preferred_locale"] == "en"
    assert message["access_token"] == ""
    assert set(message) == {
        "access_token",
        "preferred_locale",
        "notification_id",
        "notification_type",
        "icon",
        "title",
        "body",
    }
    # The default avatar is the icon, and the app serves it.
    icon = await api.client.get(message["icon"])
    assert icon.status_code == 200


async def test_an_app_that_does_not_ask_for_standard_gets_the_drafts_mastodon_sent(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    # Apps written for Mastodon before 4.4 subscribe without "standard" and decrypt
    # the aesgcm draft.
    alice = await api.user("alice")
    bob = await api.user("bob")
    silent = Subscriber.make(service, standard=None)
    entity = await subscribe(api, alice, silent)
    assert entity["standard"] is False
    await mention(api, bob, "@alice old app")
    await drained(pusher)
    [pushed] = service.at("/push/alice")
    assert pushed.headers["content-encoding"] == "aesgcm"
    assert pushed.headers["encryption"].startswith("salt=")
    server_key = (await api.get("/api/v2/instance")).json()["configuration"]["vapid"]["public_key"]
    claims = verify_vapid(pushed, server_key, f"http://localhost:{service.port}")
    assert claims["sub"] == "http://cop.test"
    message = silent.decrypt(pushed)
    assert (message["notification_type"], message["body"]) == ("mention", "@alice old app")
    # A wrong receiving key cannot read it.
    with pytest.raises(http_ece.ECEException):
        Subscriber.make(service, standard=None).decrypt(pushed)


async def test_the_subject_is_the_contact_email_when_there_is_one(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    await Instance.filter(id=INSTANCE_ROW_ID).update(contact_email="it@uni-a.edu")
    alice, bob = await api.user("alice"), await api.user("bob")
    subscriber = Subscriber.make(service)
    entity = await subscribe(api, alice, subscriber)

    await mention(api, bob, "@alice hello")
    await drained(pusher)

    [pushed] = service.at("/push/alice")
    claims = verify_vapid(pushed, entity["server_key"], f"http://localhost:{service.port}")
    assert claims["sub"] == "mailto:it@uni-a.edu"


async def test_a_forged_signature_does_not_verify(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    """The receiver's check is real: a signature from another key is refused."""
    alice, bob = await api.user("alice"), await api.user("bob")
    subscriber = Subscriber.make(service)
    await subscribe(api, alice, subscriber)
    await mention(api, bob, "@alice hello")
    await drained(pusher)
    [pushed] = service.at("/push/alice")

    other = push.b64url(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    forged = dataclasses.replace(
        pushed,
        headers={
            **pushed.headers,
            "authorization": pushed.headers["authorization"].rsplit("k=", 1)[0] + f"k={other}",
        },
    )
    with pytest.raises(InvalidSignature):
        verify_vapid(forged, other, f"http://localhost:{service.port}")
    # And another subscriber's key cannot read the message.
    with pytest.raises(http_ece.ECEException):
        Subscriber.make(service).decrypt(pushed)


async def test_only_the_alerts_the_subscription_enables_are_pushed(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    subscriber = Subscriber.make(service)
    await subscribe(api, alice, subscriber, alerts={"follow": True, "mention": False})

    await mention(api, bob, "@alice not pushed")
    await drained(pusher)
    assert service.at("/push/alice") == []

    await follow(api, bob, alice)
    await drained(pusher)
    [pushed] = service.at("/push/alice")
    message = subscriber.decrypt(pushed)
    assert message["notification_type"] == "follow"
    assert message["title"] == "bob is now following you"


async def test_favourites_and_boosts_are_pushed_with_their_alerts(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    subscriber = Subscriber.make(service)
    await subscribe(api, alice, subscriber, alerts={"favourite": True, "reblog": True})
    own = await mention(api, alice, "A post worth a star")

    await api.post(f"/api/v1/statuses/{own['id']}/favourite", as_=bob)
    await drained(pusher)
    await api.post(f"/api/v1/statuses/{own['id']}/reblog", as_=bob)
    await drained(pusher)

    messages = [subscriber.decrypt(p) for p in service.at("/push/alice")]
    assert [(m["notification_type"], m["body"]) for m in messages] == [
        ("favourite", "A post worth a star"),
        ("reblog", "A post worth a star"),
    ]
    assert messages[0]["title"] == "bob favourited your post"


@pytest.mark.parametrize(
    ("policy", "alice_follows_bob", "bob_follows_alice", "pushed"),
    [
        ("all", False, False, True),
        ("none", True, True, False),
        ("followed", False, True, False),
        ("followed", True, False, True),
        ("follower", True, False, False),
        ("follower", False, True, True),
    ],
)
async def test_the_policy_decides_whose_notifications_are_pushed(
    api: Api,
    service: PushService,
    pusher: push.Pusher,
    policy: str,
    alice_follows_bob: bool,
    bob_follows_alice: bool,
    pushed: bool,
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    if alice_follows_bob:
        await follow(api, alice, bob)
    if bob_follows_alice:
        await follow(api, bob, alice)
    subscriber = Subscriber.make(service)
    await subscribe(api, alice, subscriber, policy=policy)

    await mention(api, bob, "@alice policy check")
    await drained(pusher)

    arrived = [subscriber.decrypt(p)["notification_type"] for p in service.at("/push/alice")]
    assert arrived == (["mention"] if pushed else [])


async def test_a_gone_subscription_is_deleted(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    subscriber = Subscriber.make(service)
    await subscribe(api, alice, subscriber)
    service.answer("/push/alice", 410)

    await mention(api, bob, "@alice are you there?")
    await drained(pusher)

    assert len(service.at("/push/alice")) == 1
    assert await PushSubscription.all().count() == 0
    assert (await api.get(PATH, as_=alice)).status_code == 404
    await mention(api, bob, "@alice hello again")
    await drained(pusher)
    assert len(service.at("/push/alice")) == 1


async def test_a_server_error_is_retried_and_the_subscription_kept(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    subscriber = Subscriber.make(service)
    await subscribe(api, alice, subscriber)
    service.answer("/push/alice", 503)

    await mention(api, bob, "@alice second time lucky")
    await drained(pusher)

    first, second = service.at("/push/alice")
    assert subscriber.decrypt(first) == subscriber.decrypt(second)
    assert await PushSubscription.all().count() == 1


async def test_a_revoked_token_gets_no_push(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await subscribe(api, alice, Subscriber.make(service))
    token = await oauth.find_token(alice.token)
    assert token is not None
    await oauth.revoke_token(token)

    await mention(api, bob, "@alice nobody is listening")
    await drained(pusher)
    assert service.at("/push/alice") == []


async def test_every_subscription_of_the_user_gets_the_push(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    phone, laptop = Subscriber.make(service, "/push/phone"), Subscriber.make(service, "/push/pc")
    await subscribe(api, alice, phone)
    second_token = User(alice.account, await api.token(alice.account))
    await subscribe(api, second_token, laptop)

    await mention(api, bob, "@alice two devices")
    await drained(pusher)

    assert phone.decrypt(service.at("/push/phone")[0])["body"] == "@alice two devices"
    assert laptop.decrypt(service.at("/push/pc")[0])["body"] == "@alice two devices"


async def test_pushing_does_not_hold_up_the_request(
    api: Api, service: PushService, pusher: push.Pusher
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await subscribe(api, alice, Subscriber.make(service))
    service.delay = 3.0

    started = time.monotonic()
    await mention(api, bob, "@alice quick")
    assert time.monotonic() - started < 2.0
    await drained(pusher)
    assert len(service.at("/push/alice")) == 1


async def test_a_web_process_without_workers_pushes_its_own_notifications(
    api: Api, service: PushService
) -> None:
    """``serve --no-workers``: the web process runs its own pusher (the fixture's app has no
    in-process workers), so notifications its requests make are still pushed."""
    lifespan_pusher = push.active()
    assert lifespan_pusher is not None
    alice, bob = await api.user("alice"), await api.user("bob")
    await subscribe(api, alice, Subscriber.make(service))
    await mention(api, bob, "@alice pushed by the web process")
    for _ in range(500):
        if service.at("/push/alice"):
            break
        await asyncio.sleep(0.01)
    assert len(service.at("/push/alice")) == 1


async def test_the_background_workers_run_a_pusher(api: Api) -> None:
    before = push.active()
    async with runtime.background_workers(api.fed):
        for _ in range(500):
            if push.active() is not before:
                break
            await asyncio.sleep(0.01)
        running = push.active()
        assert running is not None
        assert running is not before
        assert running.http is api.fed.http
    assert push.active() is before


# -- VAPID keys -------------------------------------------------------------------------------


async def test_the_vapid_key_is_made_once_and_shown_everywhere(api: Api) -> None:
    first = await push.ensure_vapid_keys()
    second = await push.ensure_vapid_keys()
    assert first.public_key == second.public_key
    row = await Instance.get(id=INSTANCE_ROW_ID)
    assert row.vapid_public_key == first.public_key
    assert row.vapid_private_key.startswith("-----BEGIN PRIVATE KEY-----")
    point = unb64url(first.public_key)
    assert len(point) == 65
    assert point[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)

    alice = await api.user("alice")
    v2 = (await api.get("/api/v2/instance")).json()
    assert v2["configuration"]["vapid"]["public_key"] == first.public_key
    app = (await api.get("/api/v1/apps/verify_credentials", as_=alice)).json()
    assert app["vapid_key"] == first.public_key
    registered = await api.post(
        "/api/v1/apps",
        json={"client_name": "Pushy", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
    )
    assert registered.json()["vapid_key"] == first.public_key


# -- the subscription API ---------------------------------------------------------------------


async def test_create_show_update_and_delete_a_subscription(api: Api, service: PushService) -> None:
    alice = await api.user("alice")
    subscriber = Subscriber.make(service)

    created = await subscribe(
        api, alice, subscriber, alerts={"mention": True, "admin.sign_up": "1"}, policy="follower"
    )
    assert created["endpoint"] == subscriber.endpoint
    assert created["policy"] == "follower"
    assert created["standard"] is True
    assert created["alerts"] == {
        kind: kind in ("mention", "admin.sign_up") for kind in push.ALERT_TYPES
    }
    assert (await api.get(PATH, as_=alice)).json() == created

    updated = await api.put(
        PATH, as_=alice, json={"data": {"alerts": {"favourite": True}, "policy": "none"}}
    )
    assert updated.status_code == 200
    assert updated.json()["alerts"]["favourite"] is True
    assert updated.json()["alerts"]["mention"] is False
    assert updated.json()["policy"] == "none"
    # What PUT leaves out stays.
    policy_only = await api.put(PATH, as_=alice, json={"policy": "followed"})
    assert policy_only.json()["policy"] == "followed"
    assert policy_only.json()["alerts"]["favourite"] is True

    deleted = await api.delete(PATH, as_=alice)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert (await api.get(PATH, as_=alice)).json() == {"error": "Record not found"}
    assert (await api.put(PATH, as_=alice, json={"policy": "all"})).status_code == 404
    assert (await api.delete(PATH, as_=alice)).status_code == 200


async def test_a_form_body_subscribes_as_rails_brackets(api: Api, service: PushService) -> None:
    alice = await api.user("alice")
    subscriber = Subscriber.make(service)
    response = await api.post(
        PATH,
        as_=alice,
        data={
            "subscription[endpoint]": subscriber.endpoint,
            "subscription[keys][p256dh]": subscriber.p256dh,
            # Standard, padded base64 is accepted too.
            "subscription[keys][auth]": base64.b64encode(subscriber.auth).decode(),
            "data[alerts][follow]": "true",
            "data[alerts][poll]": "0",
            "data[policy]": "all",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["alerts"]["follow"] is True
    assert response.json()["alerts"]["poll"] is False
    row = await PushSubscription.get()
    assert row.auth == b64url(subscriber.auth)


async def test_one_subscription_per_token(api: Api, service: PushService) -> None:
    alice = await api.user("alice")
    first = await subscribe(api, alice, Subscriber.make(service, "/push/one"))
    second = await subscribe(api, alice, Subscriber.make(service, "/push/two"))
    assert first["id"] != second["id"]
    assert await PushSubscription.all().count() == 1
    assert (await api.get(PATH, as_=alice)).json()["endpoint"].endswith("/push/two")

    other_token = User(alice.account, await api.token(alice.account))
    assert (await api.get(PATH, as_=other_token)).status_code == 404
    await api.delete(PATH, as_=other_token)
    assert (await api.get(PATH, as_=alice)).status_code == 200


async def test_subscriptions_need_a_user_token_with_the_push_scope(
    api: Api, service: PushService
) -> None:
    body = Subscriber.make(service).body()
    assert (await api.post(PATH, json=body)).status_code == 401
    assert (await api.get(PATH)).status_code == 401
    assert (await api.get(PATH, token="not-a-token")).status_code == 401
    no_push = await api.user("carol", scopes="read write follow")
    for method in ("GET", "PUT", "DELETE"):
        assert (await api.request(method, PATH, as_=no_push)).status_code == 403
    assert (await api.post(PATH, as_=no_push, json=body)).status_code == 403
    app_token = await api.token(None, "push")
    forbidden = await api.post(PATH, token=app_token, json=body)
    assert forbidden.status_code == 401
    assert await PushSubscription.all().count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"endpoint": None}, "Endpoint can't be blank"),
        ({"endpoint": "not a url"}, "Endpoint must be an https URL"),
        ({"endpoint": "ftp://push.example/x"}, "Endpoint must be an https URL"),
        ({"endpoint": "https://user:pw@push.example/x"}, "Endpoint is not a valid URL"),
        ({"endpoint": "https://10.1.2.3/push"}, "Endpoint is not a public address"),
        ({"endpoint": "https://[fe80::1]/push"}, "Endpoint is not a public address"),
        ({"endpoint": "https://push.example/" + "x" * 2100}, "Endpoint is not a valid URL"),
        ({"p256dh": None}, "Keys p256dh can't be blank"),
        ({"p256dh": "not base64!"}, "Keys p256dh is not a P-256 public key"),
        ({"p256dh": b64url(b"\x04" + b"\x01" * 64)}, "Keys p256dh is not a P-256 public key"),
        ({"auth": b64url(b"short")}, "Keys auth must be 16 bytes"),
        ({"auth": ""}, "Keys auth can't be blank"),
    ],
)
async def test_bad_subscriptions_are_refused(
    api: Api, service: PushService, change: dict[str, Any], message: str
) -> None:
    alice = await api.user("alice")
    body = Subscriber.make(service).body()
    subscription = body["subscription"]
    if "endpoint" in change:
        subscription["endpoint"] = change["endpoint"]
    for key in ("p256dh", "auth"):
        if key in change:
            subscription["keys"][key] = change[key]
    response = await api.post(PATH, as_=alice, json=body)
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert await PushSubscription.all().count() == 0


async def test_bad_alerts_and_policies_are_refused(api: Api, service: PushService) -> None:
    alice = await api.user("alice")
    subscriber = Subscriber.make(service)
    bad_policy = await api.post(PATH, as_=alice, json=subscriber.body(policy="friends"))
    assert bad_policy.status_code == 422
    bad_alert = await api.post(PATH, as_=alice, json=subscriber.body(alerts={"mention": "maybe"}))
    assert bad_alert.status_code == 422
    await subscribe(api, alice, subscriber)
    assert (await api.put(PATH, as_=alice, json={"data": {"alerts": [1]}})).status_code == 422
    assert (await api.put(PATH, as_=alice, json={"data": {"policy": 3}})).status_code == 422


def test_plain_http_endpoints_need_an_allowed_private_network() -> None:
    with pytest.raises(Invalid, match="https"):
        push.check_endpoint("http://push.example/x")
    assert push.check_endpoint("https://push.example/x") == "https://push.example/x"
    assert push.check_endpoint("http://localhost/x", allowed_networks=("127.0.0.0/8",))


def test_the_audience_is_the_origin_of_the_endpoint() -> None:
    assert push.endpoint_origin("https://FCM.googleapis.com/fcm/send/abc") == (
        "https://fcm.googleapis.com"
    )
    assert push.endpoint_origin("https://push.example:443/x") == "https://push.example"
    assert push.endpoint_origin("https://push.example:8443/x") == "https://push.example:8443"
