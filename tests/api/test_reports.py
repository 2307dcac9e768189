"""Reports: stored for moderators; about a remote account and asked to, forwarded as a Flag
from the instance actor (delivered to a simulated remote server)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from activitypub.http import SafeHttpClient
from fediverse_cop.models import Account, FanoutJob, Report, Status, Visibility
from fediverse_cop.services import instance, lookup, oauth, statuses
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from outbox.worker import DeliveryWorker
from tests.api.conftest import Api, User
from tests.inbox.conftest import Peer
from tests.sink import Sink

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def post(api: Api, user: User, text: str, **extra: Any) -> Status:
    return await statuses.post(api.fed, user.account, Draft(text=text, **extra))


async def flag_jobs() -> list[FanoutJob]:
    return [job for job in await FanoutJob.all() if job.activity.get("type") == "Flag"]


async def remote_post(api: Api, sink: Sink, sink_http: SafeHttpClient) -> tuple[Peer, Status]:
    """A remote account and one of its public posts, fetched from the sink like a lookup does."""
    peer = Peer(sink, "remote.sink.test", "spammer")
    note: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.uri}/statuses/1",
        "type": "Note",
        "attributedTo": peer.uri,
        "content": "<p>buy now</p>",
        "published": "2024-03-05T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{peer.uri}/followers"],
    }
    sink.serve(peer.host, urlsplit(note["id"]).path, note)
    found = await lookup.lookup(Federation(api.ctx, sink_http), note["id"])
    assert isinstance(found, Status)
    return peer, found


# -- local reports -------------------------------------------------------------------------------


async def test_a_report_about_a_local_account_is_stored(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    rude = await post(api, bob, "something rude")
    response = await api.post(
        "/api/v1/reports",
        as_=alice,
        json={
            "account_id": bob.id,
            "status_ids": [str(rude.id)],
            "comment": "not nice",
            "category": "spam",
            "forward": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["target_account"]["id"] == bob.id
    assert (body["category"], body["comment"], body["status_ids"]) == (
        "spam",
        "not nice",
        [str(rude.id)],
    )
    assert (body["forwarded"], body["action_taken"], body["rule_ids"]) == (False, False, None)

    report = await Report.get(id=int(body["id"])).select_related("reporter", "target")
    assert (report.reporter.id, report.target.id) == (alice.account.id, bob.account.id)
    assert (report.status_uris, report.comment, report.uri) == ([rude.uri], "not nice", None)
    # A local account's report stays here, whatever ``forward`` says.
    assert await flag_jobs() == []


async def test_form_bodies_and_the_default_category(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    first, second = await post(api, bob, "one"), await post(api, bob, "two")
    response = await api.post(
        "/api/v1/reports",
        as_=alice,
        data={"account_id": bob.id, "status_ids[]": [str(second.id), str(first.id)]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["category"], body["comment"]) == ("other", "")
    assert body["status_ids"] == [str(second.id), str(first.id)]
    assert (await Report.get(id=int(body["id"]))).status_uris == [second.uri, first.uri]


# -- remote reports ------------------------------------------------------------------------------


async def test_a_forwarded_report_sends_a_flag_from_the_instance_actor(
    api: Api, sink: Sink, sink_http: SafeHttpClient
) -> None:
    alice = await api.user("alice")
    peer, spam = await remote_post(api, sink, sink_http)
    target = await Account.get(uri=peer.uri)
    response = await api.post(
        "/api/v1/reports",
        as_=alice,
        json={
            "account_id": str(target.id),
            "status_ids": [str(spam.id)],
            "comment": "selling things",
            "forward": "true",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["forwarded"] is True

    site = await instance.get_instance()
    assert site is not None
    actor = site.actor
    assert actor is not None
    [job] = await flag_jobs()
    assert job.sender_id == actor.id  # type: ignore[attr-defined]
    assert job.recipients == [peer.uri]
    report = await Report.get(id=int(response.json()["id"]))
    assert report.uri == job.activity["id"]

    assert actor.public_key_id is not None
    sink.keys[actor.public_key_id] = actor.public_key_pem
    await DeliveryWorker(sink_http, local_domain=api.ctx.domain).run_once()
    [delivered] = [r for r in sink.posts(peer.host) if b'"Flag"' in r.body]
    assert delivered.signature.verified
    flag = orjson.loads(delivered.body)
    assert (flag["type"], flag["actor"]) == ("Flag", actor.uri)
    assert flag["object"] == [peer.uri, spam.uri]
    assert flag["content"] == "selling things"
    assert alice.account.uri not in delivered.body.decode()


async def test_a_remote_report_is_not_forwarded_unless_asked(
    api: Api, sink: Sink, sink_http: SafeHttpClient
) -> None:
    alice = await api.user("alice")
    peer, _ = await remote_post(api, sink, sink_http)
    target = await Account.get(uri=peer.uri)
    response = await api.post("/api/v1/reports", as_=alice, json={"account_id": str(target.id)})
    assert response.status_code == 200, response.text
    assert response.json()["forwarded"] is False
    assert response.json()["status_ids"] is None
    assert await flag_jobs() == []


# -- bad input -----------------------------------------------------------------------------------


async def test_what_cannot_be_reported(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    carols = await post(api, carol, "carol's post")
    hidden = await post(api, bob, "followers only", visibility=Visibility.PRIVATE)

    async def report(**fields: Any) -> tuple[int, Any]:
        response = await api.post("/api/v1/reports", as_=alice, json=fields)
        return response.status_code, response.json()

    not_found = (404, {"error": "Record not found"})
    assert await report() == not_found
    assert await report(account_id="123") == not_found
    assert await report(account_id="abc") == not_found
    # A post of someone else, one the reporter cannot see, or no post at all.
    assert await report(account_id=bob.id, status_ids=[str(carols.id)]) == not_found
    assert await report(account_id=bob.id, status_ids=[str(hidden.id)]) == not_found
    assert await report(account_id=bob.id, status_ids=["nope"]) == not_found

    status, body = await report(account_id=bob.id, comment="x" * 1001)
    assert (status, body["error"]) == (
        422,
        "Validation failed: Comment is too long (maximum is 1000 characters)",
    )
    assert (await report(account_id=bob.id, category="rude"))[0] == 422
    assert (await report(account_id=bob.id, rule_ids=["1"]))[0] == 422
    assert (await report(account_id=alice.id))[0] == 422
    assert await Report.all().count() == 0


# -- authorization -------------------------------------------------------------------------------


async def test_a_user_token_with_the_reports_scope_is_required(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    body = {"account_id": bob.id}
    nobody = await api.post("/api/v1/reports", json=body)
    assert (nobody.status_code, nobody.json()) == (401, {"error": "The access token is invalid"})
    reader = await api.token(alice.account, "read")
    assert (await api.post("/api/v1/reports", token=reader, json=body)).status_code == 403
    app_token = await api.token(None, "write")
    assert (await api.post("/api/v1/reports", token=app_token, json=body)).status_code == 401
    reporter = await api.token(alice.account, "write:reports")
    assert (await api.post("/api/v1/reports", token=reporter, json=body)).status_code == 200
    await oauth.revoke_account_tokens(alice.account)
    assert (await api.post("/api/v1/reports", token=reporter, json=body)).status_code == 401
    assert await Report.all().count() == 1
