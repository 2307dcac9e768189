"""Instance metadata (v1, v2), peers, activity, preferences and the start-up stubs."""

from __future__ import annotations

import re

import pytest

from fediverse_cop import __version__
from fediverse_cop.models import DomainBlock, DomainBlockSeverity, InstanceRole
from fediverse_cop.services import instance, statuses
from fediverse_cop.services.statuses import MAX_TEXT, Draft
from fediverse_cop.settings import RegistrationMode
from tests.api.conftest import Api
from tests.api.test_accounts import remote_account
from tests.conftest import TEST_DOMAIN


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
async def test_instance_v1(api: Api, path: str) -> None:
    owner = await api.user("owner", role=InstanceRole.OWNER)
    response = await api.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["uri"] == TEST_DOMAIN
    assert re.match(r"^4\.\d+\.\d+ ", body["version"])
    assert f"fediverse-cop {__version__}" in body["version"]
    assert body["urls"]["streaming_api"] == f"ws://{TEST_DOMAIN}"
    assert body["configuration"]["statuses"]["max_characters"] == MAX_TEXT
    assert body["configuration"]["statuses"]["max_media_attachments"] == 4
    assert body["configuration"]["statuses"]["characters_reserved_per_url"] == 23
    media = body["configuration"]["media_attachments"]
    assert media["image_size_limit"] == api.ctx.settings.max_media_body
    assert "image/png" in media["supported_mime_types"]
    assert body["contact_account"]["id"] == owner.id
    assert body["stats"]["user_count"] == 1
    # The default registration mode is approval.
    assert body["registrations"] is True
    assert body["approval_required"] is True


async def test_instance_v2(api: Api) -> None:
    response = await api.get("/api/v2/instance")
    assert response.status_code == 200
    body = response.json()
    assert body["domain"] == TEST_DOMAIN
    assert body["api_versions"] == {"mastodon": 2}
    assert body["configuration"]["urls"]["streaming"] == f"ws://{TEST_DOMAIN}"
    assert body["configuration"]["polls"]["max_options"] == 4
    assert body["registrations"]["enabled"] is True
    assert body["contact"]["account"] is None
    assert body["rules"] == []


async def test_registrations_follow_the_instance_row(api: Api) -> None:
    await instance.set_registrations(api.ctx, RegistrationMode.CLOSED)
    v1 = (await api.get("/api/v1/instance")).json()
    assert v1["registrations"] is False
    v2 = (await api.get("/api/v2/instance")).json()
    assert v2["registrations"]["enabled"] is False
    await instance.set_registrations(api.ctx, RegistrationMode.INVITE)
    assert (await api.get("/api/v1/instance")).json()["invites_enabled"] is True


async def test_usage_counts_active_local_posters(api: Api) -> None:
    alice = await api.user("alice")
    await api.user("bob")
    await statuses.post(api.fed, alice.account, Draft(text="hello"))
    body = (await api.get("/api/v2/instance")).json()
    assert body["usage"]["users"]["active_month"] == 1


async def test_peers_leave_out_suspended_domains(api: Api) -> None:
    await remote_account("a", "one.example")
    await remote_account("b", "two.example")
    await remote_account("c", "sub.bad.example")
    await DomainBlock.create(domain="bad.example", severity=DomainBlockSeverity.SUSPEND)
    response = await api.get("/api/v1/instance/peers")
    assert response.json() == ["one.example", "two.example"]


async def test_weekly_activity(api: Api) -> None:
    alice = await api.user("alice")
    await statuses.post(api.fed, alice.account, Draft(text="hello"))
    weeks = (await api.get("/api/v1/instance/activity")).json()
    assert len(weeks) == 12
    assert weeks[0]["statuses"] == "1"
    assert weeks[0]["registrations"] == "1"
    assert weeks[0]["logins"] == "1"
    assert int(weeks[0]["week"]) > int(weeks[1]["week"])


async def test_extended_description_rules_and_emojis(api: Api) -> None:
    row, _ = await instance.ensure_instance(api.ctx)
    row.description = "Staff & students\n\nWelcome"
    await row.save()
    description = (await api.get("/api/v1/instance/extended_description")).json()
    assert description["content"] == "<p>Staff &amp; students</p><p>Welcome</p>"
    assert (await api.get("/api/v1/instance/rules")).json() == []
    assert (await api.get("/api/v1/custom_emojis")).json() == []
    for kind in ("", "/tags", "/statuses", "/links"):
        assert (await api.get(f"/api/v1/trends{kind}")).json() == []


async def test_preferences(api: Api) -> None:
    alice = await api.user("alice")
    await api.patch(
        "/api/v1/accounts/update_credentials",
        as_=alice,
        data={"source[privacy]": "private", "source[language]": "fr"},
    )
    response = await api.get("/api/v1/preferences", as_=alice)
    assert response.status_code == 200
    body = response.json()
    assert body["posting:default:visibility"] == "private"
    assert body["posting:default:language"] == "fr"
    assert body["posting:default:sensitive"] is False
    assert (await api.get("/api/v1/preferences")).status_code == 401
    writer = await api.token(alice.account, "write")
    assert (await api.get("/api/v1/preferences", token=writer)).status_code == 403


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        ("/api/v1/lists", []),
        ("/api/v2/filters", []),
        ("/api/v1/announcements", []),
        ("/api/v2/suggestions", []),
        ("/api/v1/markers", {}),
    ],
)
async def test_stubs_for_users(api: Api, path: str, empty: object) -> None:
    alice = await api.user("alice")
    response = await api.get(path, as_=alice)
    assert response.status_code == 200
    assert response.json() == empty
    assert (await api.get(path)).status_code == 401
    push_only = await api.token(alice.account, "push")
    assert (await api.get(path, token=push_only)).status_code == 403


async def test_v1_filters_is_an_empty_list(api: Api) -> None:
    """Mastodon answers a list of V1::Filter. The OpenAPI description's schema for this
    path names a single V1Filter (its own description says "List of"), so this one
    response is checked here instead of by the schema."""
    alice = await api.user("alice")
    path = "/api/v1/filters"
    response = await api.client.get(path, headers={"Authorization": f"Bearer {alice.token}"})
    assert response.status_code == 200
    assert response.json() == []
    assert (await api.get(path)).status_code == 401
    push_only = await api.token(alice.account, "push")
    assert (await api.get(path, token=push_only)).status_code == 403
