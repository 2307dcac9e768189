"""A simulated remote server (documents on the loopback sink) that signs what it sends us."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from activitypub.http import SafeHttpClient
from activitypub.keys import generate_rsa_keypair, load_private_key_pem
from activitypub.signatures import HttpSignatureAuth
from fediverse_cop.app import create_app
from fediverse_cop.models import Account
from fediverse_cop.services import accounts
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.remote import Federation
from inbox.receive import InboxReceiver
from inbox.worker import InboxWorker
from tests.conftest import Clock
from tests.sink import Sink

AS2 = "application/activity+json"
JRD = "application/jrd+json"


@dataclass
class Peer:
    """One remote actor served by the sink at ``http://{host}:{port}/users/{name}``."""

    sink: Sink
    host: str
    name: str
    private_pem: str = ""
    public_pem: str = ""
    counter: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.private_pem, self.public_pem = generate_rsa_keypair()
        self.publish()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.sink.port}"

    @property
    def uri(self) -> str:
        return f"{self.base}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.uri}/inbox"

    def document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.name.title(),
            "inbox": self.inbox,
            "outbox": f"{self.uri}/outbox",
            "followers": f"{self.uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": self.public_pem},
            **self.extra,
        }

    def publish(self) -> None:
        self.sink.serve(self.host, f"/users/{self.name}", self.document())
        domain = f"{self.host}:{self.sink.port}"
        self.sink.serve(
            self.host,
            "/.well-known/webfinger",
            {
                "subject": f"acct:{self.name}@{domain}",
                "links": [{"rel": "self", "type": AS2, "href": self.uri}],
            },
            content_type=JRD,
        )

    def rotate_key(self) -> str:
        """A new key pair, published; returns the old private key."""
        old = self.private_pem
        self.private_pem, self.public_pem = generate_rsa_keypair()
        self.publish()
        return old

    def activity(self, kind: str, obj: object, **extra: Any) -> dict[str, Any]:
        self.counter += 1
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.uri}/activities/{self.counter}",
            "type": kind,
            "actor": self.uri,
            "object": obj,
            **extra,
        }


@dataclass
class Local:
    """Our app, in process, with its inbox receiver and workers wired to the test client."""

    app: Any
    fed: Federation
    client: httpx.AsyncClient
    worker: InboxWorker

    async def post(
        self,
        path: str,
        activity: object,
        *,
        peer: Peer | None = None,
        key_id: str | None = None,
        private_pem: str | None = None,
        content_type: str = AS2,
        body: bytes | None = None,
    ) -> httpx.Response:
        auth = httpx.Auth()  # the base class sends the request unsigned
        if peer is not None:
            auth = HttpSignatureAuth(
                key_id or peer.key_id, load_private_key_pem(private_pem or peer.private_pem)
            )
        content = body if body is not None else orjson.dumps(activity)
        return await self.client.post(
            path, content=content, headers={"Content-Type": content_type}, auth=auth
        )


@pytest.fixture
async def local(
    database: ServerContext, sink_http: SafeHttpClient, clock: Clock
) -> AsyncIterator[Local]:
    app = create_app(database.settings)
    fed = Federation(database, sink_http)
    app.state.fed = fed
    app.state.inbox = InboxReceiver(fed, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cop.test") as client:
        yield Local(app, fed, client, InboxWorker(fed, clock=clock))


@pytest.fixture
def peer(sink: Sink) -> Peer:
    return Peer(sink, "remote.sink.test", "bob")


@pytest.fixture
async def alice(database: ServerContext) -> Account:
    return await accounts.create_user(
        database, "alice", email="alice@uni-a.edu", password="long enough"
    )
