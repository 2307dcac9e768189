"""Announcements through the API: what is shown when, read marks, dismissing, reactions,
and the operator's command reaching members' apps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fediverse_cop.models import Announcement, AnnouncementRead
from fediverse_cop.services import announcements
from fediverse_cop.services.announcements import Draft
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid
from fediverse_cop.settings import Settings
from fediverse_cop.streaming import bus
from fediverse_cop.streaming.events import Event, Kind
from tests.api.conftest import Api, User
from tests.conftest import Cli

PATH = "/api/v1/announcements"


async def shown(api: Api, user: User) -> list[dict[str, Any]]:
    response = await api.get(PATH, as_=user)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def announce(api: Api, text: str, **times: Any) -> Announcement:
    return await announcements.create(api.ctx, Draft(text, **times))


def days(n: float) -> timedelta:
    return timedelta(days=n)


async def test_only_active_announcements_are_listed_in_start_order(api: Api) -> None:
    alice = await api.user("alice")
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    plain = await announce(api, "Library hours change")
    running = await announce(api, "Exam week", starts_at=now - days(2), ends_at=now + days(1))
    await announce(api, "Upcoming", starts_at=now + days(1))
    await announce(api, "Over", starts_at=now - days(3), ends_at=now - days(1))
    all_day = await announce(api, "Open day", starts_at=today, ends_at=today, all_day=True)
    await announce(
        api, "Yesterday", starts_at=today - days(1), ends_at=today - days(1), all_day=True
    )

    listed = await shown(api, alice)
    assert [a["id"] for a in listed] == [str(running.id), str(all_day.id), str(plain.id)]
    first = listed[0]
    assert first["content"] == "<p>Exam week</p>"
    assert first["all_day"] is False
    assert first["read"] is False
    assert first["starts_at"] is not None
    assert first["ends_at"] is not None
    assert listed[1]["all_day"] is True
    assert listed[2]["starts_at"] is None
    assert listed[2]["ends_at"] is None
    assert all(a[key] == [] for a in listed for key in ("mentions", "statuses", "reactions"))


async def test_an_announcement_disappears_when_its_window_closes(api: Api) -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    notice = await announcements.create(
        api.ctx, Draft("Maintenance", starts_at=now, ends_at=now + timedelta(hours=2)), now=now
    )
    assert [a.id for a in await announcements.active(now)] == [notice.id]
    assert await announcements.active(now - timedelta(seconds=1)) == []
    assert await announcements.active(now + timedelta(hours=2)) == []
    whole_day = await announcements.create(
        api.ctx, Draft("Holiday", starts_at=now, ends_at=now, all_day=True), now=now
    )
    assert whole_day in await announcements.active(now.replace(hour=23, minute=59))
    assert whole_day not in await announcements.active(now + timedelta(days=1))


async def test_text_is_escaped_and_links_and_hashtags_are_linked(api: Api) -> None:
    alice = await api.user("alice")
    await announce(api, "Read https://uni-a.edu/news <b>now</b> #Campus\n\nThanks")
    [entity] = await shown(api, alice)
    assert '<a href="https://uni-a.edu/news"' in entity["content"]
    assert "&lt;b&gt;now&lt;/b&gt;" in entity["content"]
    assert "<b>" not in entity["content"]
    assert "http://cop.test/tags/campus" in entity["content"]
    assert entity["content"].endswith("<p>Thanks</p>")
    assert entity["tags"] == [{"name": "campus", "url": "http://cop.test/tags/campus"}]


async def test_dismissing_marks_it_read_for_that_user_only(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    notice = await announce(api, "New cafeteria menu")

    response = await api.post(f"{PATH}/{notice.id}/dismiss", as_=alice)
    assert response.status_code == 200
    assert response.json() == {}
    again = await api.post(f"{PATH}/{notice.id}/dismiss", as_=alice)
    assert again.status_code == 200
    assert await AnnouncementRead.all().count() == 1

    [for_alice] = await shown(api, alice)
    [for_bob] = await shown(api, bob)
    assert for_alice["read"] is True
    assert for_bob["read"] is False


async def test_dismissing_what_is_not_shown_answers_404(api: Api) -> None:
    alice = await api.user("alice")
    upcoming = await announce(api, "Later", starts_at=utcnow() + days(3))
    for target in (str(upcoming.id), "12345", "abc"):
        response = await api.post(f"{PATH}/{target}/dismiss", as_=alice)
        assert response.status_code == 404
        assert response.json() == {"error": "Record not found"}
    assert await AnnouncementRead.all().count() == 0


async def test_announcements_need_a_user_token_with_the_right_scope(api: Api) -> None:
    notice = await announce(api, "Members only")
    assert (await api.get(PATH)).status_code == 401
    assert (await api.get(PATH, token="wrong")).status_code == 401
    app_token = await api.token(None, "read write")
    assert (await api.get(PATH, token=app_token)).status_code == 401

    write_only = await api.user("writer", scopes="write")
    assert (await api.get(PATH, as_=write_only)).status_code == 403
    assert (await api.post(f"{PATH}/{notice.id}/dismiss", as_=write_only)).status_code == 200

    read_only = await api.user("reader", scopes="read")
    assert len(await shown(api, read_only)) == 1
    denied = await api.post(f"{PATH}/{notice.id}/dismiss", as_=read_only)
    assert denied.status_code == 403
    assert (await api.post(f"{PATH}/{notice.id}/dismiss")).status_code == 401
    granular = await api.user("granular", scopes="read:statuses write:accounts")
    assert (await api.post(f"{PATH}/{notice.id}/dismiss", as_=granular)).status_code == 200


async def test_reactions_are_refused(api: Api) -> None:
    alice = await api.user("alice")
    notice = await announce(api, "React to me")
    for method in ("PUT", "DELETE"):
        response = await api.request(method, f"{PATH}/{notice.id}/reactions/👍", as_=alice)
        assert response.status_code == 422
        assert response.json()["error"] == "reactions are not supported"
        missing = await api.request(method, f"{PATH}/999/reactions/👍", as_=alice)
        assert missing.status_code == 404
        assert (await api.request(method, f"{PATH}/{notice.id}/reactions/x")).status_code == 401
    reader = await api.user("reader", scopes="read")
    forbidden = await api.put(f"{PATH}/{notice.id}/reactions/x", as_=reader)
    assert forbidden.status_code == 403
    [entity] = await shown(api, alice)
    assert entity["reactions"] == []


async def test_bad_announcements_are_refused(api: Api) -> None:
    now = utcnow()
    with pytest.raises(Invalid, match="blank"):
        await announce(api, "   ")
    with pytest.raises(Invalid, match="before the start"):
        await announce(api, "Backwards", starts_at=now, ends_at=now - days(1))
    with pytest.raises(Invalid, match="needs a start and an end"):
        await announce(api, "Which day?", all_day=True)
    with pytest.raises(Invalid, match="longer than"):
        await announce(api, "x" * (announcements.MAX_TEXT + 1))
    assert await Announcement.all().count() == 0


async def test_creating_and_deleting_reach_the_streams(api: Api, settings: Settings) -> None:
    events: list[Event] = []
    arrived = asyncio.Event()

    def receive(event: Event) -> None:
        if event.kind in (Kind.ANNOUNCEMENT, Kind.ANNOUNCEMENT_DELETE):
            events.append(event)
            arrived.set()

    listener: bus.PostgresListener | None = None
    if settings.is_sqlite:
        bus.register_local(receive)
    else:
        listener = bus.PostgresListener(settings.database_url, receive)
        await listener.start()
    try:
        await announce(api, "Not yet", starts_at=utcnow() + days(1))
        notice = await announce(api, "Live now")
        async with asyncio.timeout(10):
            await arrived.wait()
        arrived.clear()
        await announcements.delete(notice.id)
        async with asyncio.timeout(10):
            await arrived.wait()
    finally:
        if listener is not None:
            await listener.stop()
        else:
            bus.unregister_local(receive)

    created, deleted = events
    assert created.kind is Kind.ANNOUNCEMENT
    assert created.payload is not None
    assert created.payload["id"] == str(notice.id)
    assert created.payload["content"] == "<p>Live now</p>"
    assert "read" not in created.payload
    assert deleted.kind is Kind.ANNOUNCEMENT_DELETE
    assert deleted.object_id == str(notice.id)


async def test_the_operator_command_reaches_members(api: Api, console_script: Cli) -> None:
    alice = await api.user("alice")
    created = await asyncio.to_thread(
        console_script.ok, "announcement", "create", "Campus closed on Friday", "--json"
    )
    announcement_id = created.json()["id"]
    [entity] = await shown(api, alice)
    assert entity["id"] == announcement_id
    assert entity["content"] == "<p>Campus closed on Friday</p>"

    await asyncio.to_thread(console_script.ok, "announcement", "delete", announcement_id)
    assert await shown(api, alice) == []
