"""OAuth 2: the authorization page scripted like a person, the token endpoint, revoke, metadata."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fediverse_cop.app import create_app
from fediverse_cop.models import OAuthCode, OAuthToken
from fediverse_cop.services import accounts, oauth
from fediverse_cop.services.context import utcnow
from fediverse_cop.settings import Settings
from tests.api.conftest import BASE, PASSWORD, Api, User

CALLBACK = "https://app.example/callback"
IVORY = "com.tapbots.Ivory.10217:/request_token"


# -- a person with a browser --------------------------------------------------------------


class FormReader(HTMLParser):
    """The first form of a page: its action and the name/value of every input and button."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self.text: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
            self._in_form = True
        elif self._in_form and tag == "input" and "name" in values:
            self.inputs[values["name"]] = values.get("value", "")
        elif self._in_form and tag == "button" and "name" in values:
            self.buttons[values.get("value", "")] = values["name"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def with_inputs(form: FormReader, **changes: str) -> FormReader:
    changed = FormReader()
    changed.action, changed.buttons = form.action, form.buttons
    changed.inputs = {**form.inputs, **changes}
    return changed


def read_page(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


@dataclasses.dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str


async def register(
    api: Api, redirect_uris: list[str] | None = None, scopes: str = "read write follow"
) -> Client:
    uris = redirect_uris or [CALLBACK]
    response = await api.post(
        "/api/v1/apps",
        json={"client_name": "Phanpy", "redirect_uris": uris, "scopes": scopes},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Client(body["client_id"], body["client_secret"], uris[0])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_query(client: Client, **extra: str) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "scope": "read write",
        **extra,
    }


async def open_page(api: Api, query: dict[str, str], path: str = "/oauth/authorize") -> FormReader:
    page = await api.get(path, params=query)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    form = read_page(page.text)
    assert form.action == "/oauth/authorize"
    return form


async def sign_in(
    api: Api,
    form: FormReader,
    username: str,
    password: str = PASSWORD,
    decision: str = "approve",
) -> httpx.Response:
    fields = {**form.inputs, "username": username, "password": password}
    fields[form.buttons[decision]] = decision
    assert form.action is not None
    return await api.post(form.action, data=fields)


def redirected_with(response: httpx.Response, redirect_uri: str) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(api: Api, client: Client, code: str, **extra: str) -> httpx.Response:
    return await api.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uri": client.redirect_uri,
            "code": code,
            **extra,
        },
    )


async def approved_code(api: Api, client: Client, user: str, **extra: str) -> str:
    form = await open_page(api, authorize_query(client, **extra))
    return redirected_with(await sign_in(api, form, user), client.redirect_uri)["code"]


# -- the authorization code flow ----------------------------------------------------------


async def test_a_person_authorizes_an_app_with_pkce_and_the_app_gets_a_token(api: Api) -> None:
    alice = await api.user("alice")
    client = await register(api)
    verifier, challenge = pkce()
    query = authorize_query(
        client, state="xyz 1", code_challenge=challenge, code_challenge_method="S256"
    )
    form = await open_page(api, query)
    text = " ".join(form.text)
    assert "Phanpy" in text
    assert "read" in text
    assert "write" in text
    assert {"username", "password", "authenticity_token", "state"} <= set(form.inputs)
    assert form.buttons == {"approve": "decision", "deny": "decision"}
    assert "cop_oauth_csrf" in api.client.cookies

    params = redirected_with(await sign_in(api, form, "alice"), CALLBACK)
    assert params["state"] == "xyz 1"
    stored = await OAuthCode.get(account=alice.account)
    assert stored.digest == oauth.digest(params["code"])
    assert stored.expires_at - utcnow() <= timedelta(minutes=10)

    token = await exchange(api, client, params["code"], code_verifier=verifier)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert isinstance(body["created_at"], int)
    assert token.headers["cache-control"] == "no-store"
    issued = await oauth.find_token(body["access_token"])
    assert issued is not None
    assert issued.account.id == alice.account.id  # type: ignore[union-attr]
    me = await api.get("/oauth/userinfo", token=body["access_token"])
    assert me.status_code == 200
    assert me.json()["preferred_username"] == "alice"


async def test_the_trailing_slash_path_and_an_e_mail_address_sign_in(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    form = await open_page(api, authorize_query(client), path="/oauth/authorize/")
    params = redirected_with(await sign_in(api, form, "alice@uni-a.edu"), CALLBACK)
    token = await exchange(api, client, params["code"])
    assert token.status_code == 200


async def test_the_out_of_band_uri_shows_the_code(api: Api) -> None:
    await api.user("bob")
    client = await register(api, [oauth.OOB_REDIRECT])
    form = await open_page(api, authorize_query(client))
    page = await sign_in(api, form, "@bob")
    assert page.status_code == 200
    marker = '<code id="authorization-code">'
    code = page.text.split(marker, 1)[1].split("</code>", 1)[0]
    token = await exchange(api, client, code)
    assert token.status_code == 200, token.text


async def test_a_custom_scheme_redirect_keeps_its_spelling(api: Api) -> None:
    await api.user("carol")
    client = await register(api, [IVORY])
    form = await open_page(api, authorize_query(client, state="s"))
    params = redirected_with(await sign_in(api, form, "carol"), IVORY)
    assert params["state"] == "s"


async def test_a_wrong_or_missing_pkce_verifier_is_refused(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    verifier, challenge = pkce()
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"}
    wrong = await exchange(
        api, client, await approved_code(api, client, "alice", **extra), code_verifier=pkce()[0]
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = await exchange(api, client, await approved_code(api, client, "alice", **extra))
    assert missing.json()["error"] == "invalid_grant"
    # A code made without PKCE is not redeemed with a verifier either.
    unexpected = await exchange(
        api, client, await approved_code(api, client, "alice"), code_verifier=verifier
    )
    assert unexpected.json()["error"] == "invalid_grant"
    assert (
        await OAuthToken.filter(account__username="alice", app__client_id=client.client_id).count()
        == 0
    )


async def test_plain_pkce_is_refused_at_the_authorization_step(api: Api) -> None:
    client = await register(api)
    response = await api.get(
        "/oauth/authorize",
        params=authorize_query(client, code_challenge="a" * 43, code_challenge_method="plain"),
    )
    params = redirected_with(response, CALLBACK)
    assert params["error"] == "invalid_request"


async def test_a_reused_code_is_refused_and_revokes_the_token_it_gave(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    code = await approved_code(api, client, "alice")
    first = await exchange(api, client, code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert (await oauth.find_token(access)) is not None
    again = await exchange(api, client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert (await oauth.find_token(access)) is None


async def test_an_expired_code_is_refused(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    code = await approved_code(api, client, "alice")
    await OAuthCode.filter(digest=oauth.digest(code)).update(
        expires_at=utcnow() - timedelta(seconds=1)
    )
    response = await exchange(api, client, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_works_only_for_its_own_client_and_redirect_uri(api: Api) -> None:
    await api.user("alice")
    client = await register(api, [CALLBACK, "https://app.example/other"])
    other_app = await register(api)
    code = await approved_code(api, client, "alice")
    stolen = await exchange(api, other_app, code)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    moved = await exchange(api, client, code, redirect_uri="https://app.example/other")
    assert moved.json()["error"] == "invalid_grant"


async def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(api: Api) -> None:
    client = await register(api)
    response = await api.get(
        "/oauth/authorize",
        params=authorize_query(client, redirect_uri="https://attacker.example/callback"),
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri" in response.text
    unknown = await api.get(
        "/oauth/authorize", params={**authorize_query(client), "client_id": "nope"}
    )
    assert unknown.status_code == 400
    assert "location" not in unknown.headers


async def test_scopes_wider_than_the_apps_are_refused(api: Api) -> None:
    client = await register(api, scopes="read")
    response = await api.get(
        "/oauth/authorize", params=authorize_query(client, scope="read write", state="s")
    )
    params = redirected_with(response, CALLBACK)
    assert params["error"] == "invalid_scope"
    assert params["state"] == "s"
    # Granular scopes within a registered top-level one are fine.
    narrow = await api.get(
        "/oauth/authorize", params=authorize_query(client, scope="read:statuses")
    )
    assert narrow.status_code == 200
    token = await api.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "scope": "write",
        },
    )
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_scope"


async def test_other_response_types_are_refused(api: Api) -> None:
    client = await register(api)
    response = await api.get(
        "/oauth/authorize", params=authorize_query(client, response_type="token")
    )
    assert redirected_with(response, CALLBACK)["error"] == "unsupported_response_type"


async def test_denying_redirects_with_access_denied(api: Api) -> None:
    client = await register(api)
    form = await open_page(api, authorize_query(client, state="s"))
    params = redirected_with(await sign_in(api, form, "", "", decision="deny"), CALLBACK)
    assert params == {
        "error": "access_denied",
        "error_description": "The user denied the request.",
        "state": "s",
    }
    assert await OAuthCode.all().count() == 0


async def test_a_wrong_password_shows_the_form_again_with_an_error(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    form = await open_page(api, authorize_query(client))
    wrong = await sign_in(api, form, "alice", "wrong password")
    assert wrong.status_code == 401
    again = read_page(wrong.text)
    assert again.inputs["username"] == "alice"
    assert "Invalid username or password." in wrong.text
    unknown = await sign_in(api, form, "nobody", "wrong password")
    assert unknown.status_code == 401
    assert "Invalid username or password." in unknown.text
    assert await OAuthCode.all().count() == 0
    # The form shown again works.
    redirected_with(await sign_in(api, again, "alice"), CALLBACK)


async def test_a_missing_or_forged_csrf_token_is_refused(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    form = await open_page(api, authorize_query(client))
    issued, _, mac = form.inputs["authenticity_token"].partition(".")
    forged = with_inputs(form, authenticity_token=f"{issued}.{'0' * len(mac)}")
    assert (await sign_in(api, forged, "alice")).status_code == 403
    superscript = with_inputs(form, authenticity_token=f"\u00b9\u00b2.{mac}")
    assert (await sign_in(api, superscript, "alice")).status_code == 403
    assert (
        await sign_in(api, with_inputs(form, authenticity_token=""), "alice")
    ).status_code == 403
    # A token made for other parameters (here a wider scope) does not carry over.
    swapped = with_inputs(form, scope="read write follow")
    assert (await sign_in(api, swapped, "alice")).status_code == 403
    # Without the cookie (another browser, or a forged cross-site post) the token is worthless.
    api.client.cookies.clear()
    no_cookie = await sign_in(api, form, "alice")
    assert no_cookie.status_code == 403
    assert "expired" in no_cookie.text
    assert await OAuthCode.all().count() == 0


async def test_suspended_and_unapproved_users_cannot_sign_in(api: Api) -> None:
    await api.user("mallory")
    await api.user("newbie")
    await accounts.suspend("mallory")
    newbie = await accounts.get_local_user("newbie")
    newbie.approved = False
    await newbie.save()
    client = await register(api)
    form = await open_page(api, authorize_query(client))
    suspended = await sign_in(api, form, "mallory")
    assert suspended.status_code == 401
    assert "suspended" in suspended.text
    waiting = await sign_in(api, form, "newbie")
    assert waiting.status_code == 401
    assert "approval" in waiting.text
    assert await OAuthCode.all().count() == 0


async def test_a_code_of_a_user_suspended_since_is_refused(api: Api) -> None:
    await api.user("mallory")
    client = await register(api)
    code = await approved_code(api, client, "mallory")
    await accounts.suspend("mallory")
    response = await exchange(api, client, code)
    assert response.json()["error"] == "invalid_grant"


async def test_the_sign_in_form_is_rate_limited(api: Api) -> None:
    client = await register(api)
    fields = {**authorize_query(client), "username": "x", "password": "y"}
    statuses = [(await api.post("/oauth/authorize", data=fields)).status_code for _ in range(31)]
    assert statuses[:30] == [403] * 30
    assert statuses[30] == 429


async def test_the_app_name_is_escaped_on_the_page(api: Api) -> None:
    response = await api.post(
        "/api/v1/apps",
        data={"client_name": "<script>alert(1)</script>", "redirect_uris": CALLBACK},
    )
    client = Client(response.json()["client_id"], "", CALLBACK)
    query = authorize_query(client, state='"><b>', scope="read")
    page = await api.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert '"><b>' not in page.text


# -- the token endpoint -------------------------------------------------------------------


async def test_client_credentials_give_an_app_token_without_a_user(api: Api) -> None:
    client = await register(api)
    response = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "read"
    token = await oauth.find_token(response.json()["access_token"])
    assert token is not None
    assert token.account is None
    userinfo = await api.get("/oauth/userinfo", token=response.json()["access_token"])
    assert userinfo.status_code == 401


async def test_client_authentication_with_basic_and_wrong_secrets(api: Api) -> None:
    client = await register(api)
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    good = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert good.status_code == 200
    wrong = await api.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": "wrong",
        },
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    missing = await api.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert missing.status_code == 401


async def test_unknown_grants_and_missing_codes(api: Api) -> None:
    client = await register(api)
    creds = {"client_id": client.client_id, "client_secret": client.client_secret}
    unknown = await api.post("/oauth/token", data={"grant_type": "implicit", **creds})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unsupported_grant_type"
    no_code = await api.post("/oauth/token", data={"grant_type": "authorization_code", **creds})
    assert no_code.json()["error"] == "invalid_request"
    bogus = await exchange(api, client, "not-a-code")
    assert bogus.json()["error"] == "invalid_grant"


async def test_the_password_grant_is_off_by_default(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    response = await api.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "username": "alice",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    metadata = (await api.get("/.well-known/oauth-authorization-server")).json()
    assert "password" not in metadata["grant_types_supported"]


@pytest.fixture
async def password_api(settings: Settings) -> AsyncIterator[Api]:
    """The app of an operator who enabled the password grant."""
    current = dataclasses.replace(settings, in_process_workers=False, oauth_password_grant=True)
    app = create_app(current)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(app.state.ctx, client, app.state.fed)


async def test_the_password_grant_when_the_operator_enables_it(password_api: Api) -> None:
    api = password_api
    await api.user("alice")
    await api.user("mallory")
    await accounts.suspend("mallory")
    client = await register(api)

    async def grant(username: str, password: str, scope: str = "read write") -> httpx.Response:
        return await api.post(
            "/oauth/token",
            json={
                "grant_type": "password",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "username": username,
                "password": password,
                "scope": scope,
            },
        )

    by_name = await grant("alice", PASSWORD)
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["scope"] == "read write"
    by_email = await grant("alice@uni-a.edu", PASSWORD)
    assert by_email.status_code == 200
    wrong = await grant("alice", "wrong password")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert (await grant("mallory", PASSWORD)).json()["error"] == "invalid_grant"
    assert (await grant("alice", PASSWORD, scope="push")).json()["error"] == "invalid_scope"
    metadata = (await api.get("/.well-known/oauth-authorization-server")).json()
    assert "password" in metadata["grant_types_supported"]


# -- revocation ---------------------------------------------------------------------------


async def test_revoke_a_token(api: Api) -> None:
    await api.user("alice")
    client = await register(api)
    access = (await exchange(api, client, await approved_code(api, client, "alice"))).json()[
        "access_token"
    ]
    other = await register(api)
    creds = {"client_id": client.client_id, "client_secret": client.client_secret}
    refused = await api.post(
        "/oauth/revoke",
        data={"token": access, "client_id": other.client_id, "client_secret": other.client_secret},
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "unauthorized_client"
    wrong_secret = await api.post(
        "/oauth/revoke", data={"token": access, "client_id": client.client_id, "client_secret": "x"}
    )
    assert wrong_secret.status_code == 401
    assert (await oauth.find_token(access)) is not None

    done = await api.post("/oauth/revoke", data={"token": access, **creds})
    assert done.status_code == 200
    assert done.json() == {}
    assert (await api.get("/api/v1/apps/verify_credentials", token=access)).status_code == 401
    # Revoking an unknown or already revoked token also answers {} (RFC 7009 §2.2).
    assert (await api.post("/oauth/revoke", data={"token": access, **creds})).json() == {}
    assert (await api.post("/oauth/revoke", data={"token": "unknown", **creds})).json() == {}


async def test_resetting_a_password_or_suspending_revokes_tokens(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    other: User = await api.user("carol")
    await accounts.reset_password("alice", "a brand new password")
    await accounts.suspend("bob")
    assert (await api.get("/api/v1/apps/verify_credentials", as_=alice)).status_code == 401
    assert (await api.get("/api/v1/apps/verify_credentials", as_=bob)).status_code == 401
    assert (await api.get("/api/v1/apps/verify_credentials", as_=other)).status_code == 200
    stored = await OAuthToken.get(account=alice.account)
    assert stored.revoked_at is not None
    # Unsuspending does not bring the old tokens back.
    await accounts.unsuspend("bob")
    assert (await api.get("/api/v1/apps/verify_credentials", as_=bob)).status_code == 401


# -- discovery and userinfo ---------------------------------------------------------------


async def test_authorization_server_metadata(api: Api) -> None:
    response = await api.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["issuer"] == f"{BASE}/"
    assert body["authorization_endpoint"] == f"{BASE}/oauth/authorize"
    assert body["token_endpoint"] == f"{BASE}/oauth/token"
    assert body["revocation_endpoint"] == f"{BASE}/oauth/revoke"
    assert body["app_registration_endpoint"] == f"{BASE}/api/v1/apps"
    assert body["response_types_supported"] == ["code"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["grant_types_supported"] == ["authorization_code", "client_credentials"]
    assert {"read", "write:statuses", "profile", "follow", "push"} <= set(body["scopes_supported"])
    assert "client_secret_post" in body["token_endpoint_auth_methods_supported"]
    assert response.headers["access-control-allow-origin"] == "*"


async def test_userinfo_needs_the_profile_scope(api: Api) -> None:
    profile = await api.user("alice", scopes="profile")
    response = await api.get("/oauth/userinfo", as_=profile)
    assert response.status_code == 200
    claims = response.json()
    assert claims["preferred_username"] == "alice"
    assert claims["sub"] == profile.account.uri
    writer = await api.user("bob", scopes="write")
    assert (await api.get("/oauth/userinfo", as_=writer)).status_code == 403
    assert (await api.get("/oauth/userinfo")).status_code == 401
