"""POST /api/v1/apps and GET /api/v1/apps/verify_credentials."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fediverse_cop.models import OAuthApp
from fediverse_cop.services import oauth
from tests.api.conftest import Api

IVORY = "com.tapbots.Ivory.10217:/request_token"


async def test_register_with_a_form_returns_the_credential_application(api: Api) -> None:
    response = await api.post(
        "/api/v1/apps",
        data={
            "client_name": "Tusky",
            "redirect_uris": "oauth2redirect://com.keylesspalace.tusky/",
            "scopes": "read write follow push",
            "website": "https://tusky.app",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Tusky"
    assert body["website"] == "https://tusky.app"
    assert sorted(body["scopes"]) == ["follow", "push", "read", "write"]
    assert body["redirect_uris"] == ["oauth2redirect://com.keylesspalace.tusky/"]
    assert body["redirect_uri"] == "oauth2redirect://com.keylesspalace.tusky/"
    assert body["client_secret_expires_at"] == 0
    assert "vapid_key" in body
    stored = await OAuthApp.get(client_id=body["client_id"])
    assert str(stored.id) == body["id"]
    # Only the secret's digest is kept.
    assert stored.client_secret_digest == oauth.digest(body["client_secret"])
    assert body["client_secret"] not in stored.client_secret_digest


async def test_register_with_json_and_an_array_of_redirect_uris(api: Api) -> None:
    uris = ["https://elk.zone/api/cop.test/oauth", IVORY, "urn:ietf:wg:oauth:2.0:oob"]
    response = await api.post(
        "/api/v1/apps", json={"client_name": "Elk", "redirect_uris": uris, "scopes": "read"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["redirect_uris"] == uris
    assert response.json()["redirect_uri"] == "\n".join(uris)


async def test_register_with_the_query_string_and_newline_separated_uris(api: Api) -> None:
    response = await api.post(
        "/api/v1/apps",
        params={
            "client_name": "Ice Cubes",
            "redirect_uris": "icecubesapp://\nhttp://127.0.0.1:8765/callback",
            "scopes": "read write follow push",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["redirect_uris"] == [
        "icecubesapp://",
        "http://127.0.0.1:8765/callback",
    ]


async def test_register_with_multipart_and_bracket_arrays(api: Api) -> None:
    response = await api.post(
        "/api/v1/apps",
        files={
            "client_name": (None, "Ivory"),
            "redirect_uris[]": (None, IVORY),
            "scopes": (None, "read:statuses write:statuses"),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["redirect_uris"] == [IVORY]
    assert response.json()["scopes"] == ["read:statuses", "write:statuses"]


async def test_scopes_default_to_read(api: Api) -> None:
    response = await api.post(
        "/api/v1/apps", data={"client_name": "toot", "redirect_uris": oauth.OOB_REDIRECT}
    )
    assert response.status_code == 200
    assert response.json()["scopes"] == ["read"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "http://attacker.example/callback",
        "https://app.example/callback#fragment",
        "/relative/callback",
        "app.example/callback",
        "https:///no-host",
        "https://user:pass@app.example/",
        "myapp:",
        "",
    ],
)
async def test_unsafe_or_malformed_redirect_uris_are_refused(api: Api, redirect_uri: str) -> None:
    response = await api.post(
        "/api/v1/apps", data={"client_name": "Bad", "redirect_uris": redirect_uri}
    )
    assert response.status_code == 422, redirect_uri
    assert response.json()["error"].startswith("Validation failed: Redirect URI")
    assert await OAuthApp.all().count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"redirect_uris": oauth.OOB_REDIRECT}, "Application name can't be blank"),
        ({"client_name": "x" * 61, "redirect_uris": oauth.OOB_REDIRECT}, "longer than 60"),
        (
            {"client_name": "A", "redirect_uris": oauth.OOB_REDIRECT, "scopes": "read bogus"},
            "bogus",
        ),
        (
            {"client_name": "A", "redirect_uris": oauth.OOB_REDIRECT, "website": "javascript:x"},
            "Website",
        ),
        ({"client_name": "A"}, "Redirect URI can't be blank"),
    ],
)
async def test_bad_registrations_answer_422(api: Api, fields: dict[str, Any], message: str) -> None:
    response = await api.post("/api/v1/apps", data=fields)
    assert response.status_code == 422
    assert message in response.json()["error"]


async def test_a_json_body_that_is_not_an_object_is_refused(api: Api) -> None:
    response = await api.post(
        "/api/v1/apps",
        content=json.dumps(["client_name"]),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422


async def test_verify_credentials_with_an_app_token_and_a_user_token(api: Api) -> None:
    registered = await api.post(
        "/api/v1/apps",
        json={"client_name": "Bot", "redirect_uris": oauth.OOB_REDIRECT, "scopes": "read write"},
    )
    credentials = registered.json()
    token = await api.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
    )
    app_token = token.json()["access_token"]
    response = await api.get("/api/v1/apps/verify_credentials", token=app_token)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Bot"
    assert body["id"] == credentials["id"]
    assert body["scopes"] == ["read", "write"]
    assert "client_secret" not in body
    # A user's token shows the app it was issued to.
    alice = await api.user("alice", scopes="read:statuses")
    mine = await api.get("/api/v1/apps/verify_credentials", as_=alice)
    assert mine.status_code == 200
    assert mine.json()["name"] == "Test client"


async def test_verify_credentials_refuses_no_token_a_bad_one_and_a_revoked_one(api: Api) -> None:
    assert (await api.get("/api/v1/apps/verify_credentials")).status_code == 401
    assert (await api.get("/api/v1/apps/verify_credentials", token="nope")).status_code == 401
    alice = await api.user("alice")
    await oauth.revoke_account_tokens(alice.account)
    revoked = await api.get("/api/v1/apps/verify_credentials", as_=alice)
    assert revoked.status_code == 401
    assert revoked.json() == {"error": "The access token is invalid"}
