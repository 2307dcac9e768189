"""Markers: where a user stopped reading home and notifications, saved and read back."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_saving_and_reading_markers(api: Api) -> None:
    alice = await api.user("alice")
    empty = await api.get("/api/v1/markers?timeline[]=home&timeline[]=notifications", as_=alice)
    assert empty.status_code == 200
    assert empty.json() == {}

    saved = await api.post(
        "/api/v1/markers",
        as_=alice,
        data={"home[last_read_id]": "103194548672408537", "notifications[last_read_id]": "42"},
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["home"]["last_read_id"] == "103194548672408537"
    assert body["home"]["version"] == 1
    assert body["notifications"]["last_read_id"] == "42"

    home_only = await api.get("/api/v1/markers?timeline[]=home", as_=alice)
    assert set(home_only.json()) == {"home"}
    both = await api.get("/api/v1/markers?timeline[]=home&timeline[]=notifications", as_=alice)
    assert both.json() == body
    # A single plain value works too; unknown timelines are left out.
    assert set((await api.get("/api/v1/markers?timeline=notifications", as_=alice)).json()) == {
        "notifications"
    }
    assert (await api.get("/api/v1/markers?timeline[]=public", as_=alice)).json() == {}


async def test_each_save_increments_the_version(api: Api) -> None:
    alice = await api.user("alice")
    versions = []
    for last_read in ("10", "20", "30"):
        response = await api.post(
            "/api/v1/markers", as_=alice, json={"home": {"last_read_id": last_read}}
        )
        assert response.status_code == 200
        assert set(response.json()) == {"home"}
        versions.append(response.json()["home"]["version"])
    assert versions == [1, 2, 3]
    read = (await api.get("/api/v1/markers?timeline[]=home", as_=alice)).json()
    assert read["home"]["last_read_id"] == "30"
    assert read["home"]["version"] == 3


async def test_markers_are_per_user(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await api.post("/api/v1/markers", as_=alice, json={"home": {"last_read_id": "5"}})
    assert (await api.get("/api/v1/markers?timeline[]=home", as_=bob)).json() == {}


async def test_bad_input_and_authorization(api: Api) -> None:
    alice = await api.user("alice")
    bad = await api.post("/api/v1/markers", as_=alice, json={"home": {"last_read_id": "abc"}})
    assert bad.status_code == 422
    assert "last_read_id" in bad.json()["error"]
    nothing = await api.post("/api/v1/markers", as_=alice, json={})
    assert nothing.status_code == 200
    assert nothing.json() == {}

    path = "/api/v1/markers?timeline[]=home"
    assert (await api.get(path)).status_code == 401
    assert (await api.get(path, token="wrong")).status_code == 401
    writer = await api.token(alice.account, "write")
    assert (await api.get(path, token=writer)).status_code == 403
    reader = await api.token(alice.account, "read")
    body = {"home": {"last_read_id": "1"}}
    assert (await api.post("/api/v1/markers", token=reader, json=body)).status_code == 403
    assert (await api.post("/api/v1/markers", json=body)).status_code == 401
    app_only = await api.token(None, "read write")
    assert (await api.get(path, token=app_only)).status_code == 401
