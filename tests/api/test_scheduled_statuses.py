"""Scheduled posts: made by ``POST /api/v1/statuses`` with ``scheduled_at``, listed, read,
moved and deleted by their owner, and published when due (the publishing step is called
with a clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fediverse_cop import runtime
from fediverse_cop.models import (
    FanoutJob,
    MediaAttachment,
    MediaType,
    Poll,
    ScheduledStatus,
    Status,
    Visibility,
)
from fediverse_cop.services import scheduled, statuses
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.statuses import Draft
from tests.api.conftest import Api, User


def at(delta: timedelta) -> str:
    return (utcnow() + delta).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def schedule(api: Api, user: User, delta: timedelta, **body: Any) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/statuses",
        as_=user,
        json={"status": "later", "scheduled_at": at(delta), **body},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def media(user: User) -> MediaAttachment:
    return await MediaAttachment.create(
        account=user.account,
        type=MediaType.IMAGE,
        content_type="image/png",
        file_name=f"{'b' * 32}.png",
        thumbnail_name=f"{'b' * 32}-small.png",
        description="a chart",
        meta={"original": {"width": 640, "height": 480}},
    )


async def test_scheduling_answers_a_scheduled_status_and_posts_nothing(api: Api) -> None:
    alice = await api.user("alice")
    upload = await media(alice)
    body = await schedule(
        api,
        alice,
        timedelta(hours=1),
        status="slides for tomorrow",
        visibility="unlisted",
        spoiler_text="course",
        language="en",
        media_ids=[str(upload.id)],
    )
    assert body["params"]["text"] == "slides for tomorrow"
    assert body["params"]["visibility"] == "unlisted"
    assert body["params"]["spoiler_text"] == "course"
    assert body["params"]["media_ids"] == [str(upload.id)]
    assert body["params"]["poll"] is None
    assert [m["id"] for m in body["media_attachments"]] == [str(upload.id)]
    assert datetime.fromisoformat(body["scheduled_at"]) > utcnow() + timedelta(minutes=59)
    assert await Status.all().count() == 0
    assert await FanoutJob.all().count() == 0


async def test_the_time_must_be_at_least_five_minutes_ahead(api: Api) -> None:
    alice = await api.user("alice")
    for when in (at(timedelta(minutes=4)), at(-timedelta(hours=1)), "tomorrow", "2024-13-45"):
        response = await api.post(
            "/api/v1/statuses", as_=alice, json={"status": "x", "scheduled_at": when}
        )
        assert response.status_code == 422, (when, response.text)
        assert isinstance(response.json()["error"], str)
    assert await ScheduledStatus.all().count() == 0
    assert await Status.all().count() == 0


async def test_the_post_is_checked_when_scheduled(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    bobs = await media(bob)
    for body in (
        {"status": "   "},
        {"status": "x" * (statuses.MAX_TEXT + 1)},
        {"status": "x", "media_ids": [str(bobs.id)]},
        {"status": "x", "poll": {"options": ["one"], "expires_in": 3600}},
        {"status": "x", "visibility": "everyone"},
    ):
        response = await api.post(
            "/api/v1/statuses",
            as_=alice,
            json={**body, "scheduled_at": at(timedelta(hours=1))},
        )
        assert response.status_code == 422, (body, response.text)
    assert await ScheduledStatus.all().count() == 0


async def test_daily_limit(api: Api) -> None:
    alice = await api.user("alice")
    day = (utcnow() + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    for index in range(scheduled.MAX_DAILY):
        await scheduled.schedule(alice.account, Draft(text=f"{index}"), day)
    response = await api.post(
        "/api/v1/statuses",
        as_=alice,
        json={"status": "one too many", "scheduled_at": (day + timedelta(hours=3)).isoformat()},
    )
    assert response.status_code == 422
    assert response.json()["error"] == scheduled.OVER_DAILY
    # Another day is fine.
    next_day = (day + timedelta(days=1)).isoformat()
    ok = await api.post(
        "/api/v1/statuses", as_=alice, json={"status": "fine", "scheduled_at": next_day}
    )
    assert ok.status_code == 200


async def test_list_get_move_and_delete(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    made = [await schedule(api, alice, timedelta(hours=h)) for h in (1, 2, 3)]

    listed = await api.get("/api/v1/scheduled_statuses", as_=alice)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [s["id"] for s in reversed(made)]
    page = await api.get("/api/v1/scheduled_statuses?limit=2", as_=alice)
    assert len(page.json()) == 2
    assert f'max_id={made[1]["id"]}>; rel="next"' in page.headers["link"]
    older = await api.get(f"/api/v1/scheduled_statuses?max_id={made[1]['id']}", as_=alice)
    assert [s["id"] for s in older.json()] == [made[0]["id"]]
    assert (await api.get("/api/v1/scheduled_statuses", as_=bob)).json() == []

    path = f"/api/v1/scheduled_statuses/{made[0]['id']}"
    got = await api.get(path, as_=alice)
    assert got.status_code == 200
    assert got.json() == made[0]
    assert (await api.get(path, as_=bob)).status_code == 404

    new_time = at(timedelta(days=1))
    moved = await api.put(path, as_=alice, json={"scheduled_at": new_time})
    assert moved.status_code == 200, moved.text
    assert moved.json()["scheduled_at"] == new_time
    too_soon = await api.put(path, as_=alice, json={"scheduled_at": at(timedelta(minutes=1))})
    assert too_soon.status_code == 422
    blank = await api.put(path, as_=alice, json={})
    assert blank.status_code == 422
    assert (await api.put(path, as_=bob, json={"scheduled_at": new_time})).status_code == 404

    assert (await api.delete(path, as_=bob)).status_code == 404
    deleted = await api.delete(path, as_=alice)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert (await api.get(path, as_=alice)).status_code == 404
    assert await ScheduledStatus.all().count() == 2


async def test_authorization(api: Api) -> None:
    alice = await api.user("alice")
    made = await schedule(api, alice, timedelta(hours=1))
    path = f"/api/v1/scheduled_statuses/{made['id']}"
    assert (await api.get("/api/v1/scheduled_statuses")).status_code == 401
    assert (await api.get(path, token="wrong")).status_code == 401
    writer = await api.token(alice.account, "write")
    assert (await api.get(path, token=writer)).status_code == 403
    reader = await api.token(alice.account, "read")
    assert (await api.delete(path, token=reader)).status_code == 403
    body = {"scheduled_at": at(timedelta(hours=2))}
    assert (await api.put(path, token=reader, json=body)).status_code == 403
    later = {"status": "x", "scheduled_at": at(timedelta(hours=1))}
    assert (await api.post("/api/v1/statuses", token=reader, json=later)).status_code == 403
    assert (await api.get("/api/v1/scheduled_statuses/not-an-id", as_=alice)).status_code == 404
    assert await ScheduledStatus.all().count() == 1


async def test_due_posts_are_published_once(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    upload = await media(alice)
    parent = await statuses.post(api.fed, bob.account, Draft(text="question"))
    first = await schedule(
        api,
        alice,
        timedelta(minutes=10),
        status="@bob here is the answer",
        media_ids=[str(upload.id)],
        visibility="private",
        in_reply_to_id=str(parent.id),
    )
    await schedule(
        api,
        alice,
        timedelta(minutes=20),
        status="vote!",
        poll={"options": ["yes", "no"], "expires_in": 3600},
    )
    await schedule(api, alice, timedelta(days=1), status="much later")

    assert await scheduled.publish_due(api.fed, utcnow()) == []
    clock = utcnow() + timedelta(minutes=30)
    published = await scheduled.publish_due(api.fed, clock)
    assert [s.text for s in published] == ["@bob here is the answer", "vote!"]
    answer, vote = published
    assert answer.visibility is Visibility.PRIVATE
    assert answer.in_reply_to_id == parent.id  # type: ignore[attr-defined]
    assert await MediaAttachment.filter(status_id=answer.id).count() == 1
    assert await Poll.filter(status_id=vote.id).exists()
    assert await scheduled.publish_due(api.fed, clock) == []
    remaining = await ScheduledStatus.all()
    assert [r.params["text"] for r in remaining] == ["much later"]
    assert str(remaining[0].id) != first["id"]

    shown = await api.get(f"/api/v1/statuses/{answer.id}", as_=alice)
    assert shown.json()["media_attachments"][0]["id"] == str(upload.id)


async def test_a_post_that_can_no_longer_be_made_is_dropped(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    parent = await statuses.post(api.fed, bob.account, Draft(text="soon gone"))
    await schedule(api, alice, timedelta(minutes=10), in_reply_to_id=str(parent.id))
    await statuses.delete(api.fed, bob.account, parent)
    published = await scheduled.publish_due(api.fed, datetime.now(UTC) + timedelta(hours=1))
    assert published == []
    assert await ScheduledStatus.all().count() == 0
    assert await Status.filter(account_id=alice.account.id).count() == 0


async def test_the_workers_periodic_step_publishes_what_is_due(api: Api) -> None:
    alice = await api.user("alice")
    row = await scheduled.schedule(
        alice.account, Draft(text="on time"), utcnow() + timedelta(minutes=10)
    )
    await ScheduledStatus.filter(id=row.id).update(scheduled_at=utcnow() - timedelta(seconds=1))
    await runtime.periodic_step(api.fed)
    assert [s.text for s in await Status.filter(account_id=alice.account.id)] == ["on time"]
    assert await ScheduledStatus.all().count() == 0
