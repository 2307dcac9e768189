"""A failure that may pass (a timeout, a 5xx) is retried later, never turned into a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from activitypub.errors import FetchError
from activitypub.http import ApDocument, SafeHttpClient
from activitypub.vocab import ASObject
from fediverse_cop.services import incoming
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.remote import Federation, RemoteUnavailable, fetch_actor
from tests.inbox.conftest import Peer
from tests.sink import Sink

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class TimingOut:
    """The real client, except that one URL times out (a remote server that is slow today)."""

    def __init__(self, http: SafeHttpClient, slow_url: str) -> None:
        self._http = http
        self._slow_url = slow_url

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    async def fetch_ap(self, url: str, **options: Any) -> ApDocument:
        if url == self._slow_url:
            raise FetchError("timed out", url=url, retryable=True)
        return await self._http.fetch_ap(url, **options)


async def test_a_timeout_fetching_the_author_of_a_boosted_post_is_retryable(
    database: ServerContext, sink: Sink, sink_http: SafeHttpClient
) -> None:
    peer = Peer(sink, "remote.sink.test", "bob")
    bob = await fetch_actor(Federation(database, sink_http), peer.uri)
    author = f"{peer.base}/users/carol"
    note = {
        "id": f"{peer.base}/notes/1",
        "type": "Note",
        "attributedTo": author,
        "content": "hi",
        "to": [PUBLIC],
    }
    announce = ASObject(
        {
            "id": f"{peer.base}/a/1",
            "type": "Announce",
            "actor": bob.uri,
            "object": note,
            "to": [PUBLIC],
        }
    )
    fed = Federation(database, TimingOut(sink_http, author))  # type: ignore[arg-type]
    with pytest.raises(RemoteUnavailable) as caught:
        await incoming.announce_post(fed, bob, announce)
    assert caught.value.retryable
