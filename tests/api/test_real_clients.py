"""Real client libraries from PyPI (Mastodon.py and toot) against two real instances.

Each logs in the way a person does — the authorization page is fetched, its form
filled in and submitted like a browser would, the out-of-band code copied into the
client, which exchanges it at the token endpoint — then posts with media, reads
timelines, follows a user and joins a community on the other instance over real
HTTP, and sees the community's posts and its notifications.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser

import httpx
import pytest
import toot
import toot.api
import toot.auth
from mastodon import Mastodon
from PIL import Image

from fediverse_cop.models import Account, Status
from fediverse_cop.services import statuses
from fediverse_cop.services.remote import Federation, resolve
from fediverse_cop.services.statuses import Draft
from tests.federation.conftest import Instance, eventually, instances  # noqa: F401

pytestmark = pytest.mark.federation

PASSWORD = "a long enough test password"
OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow"]


class _Form(HTMLParser):
    """The sign-in form of the authorization page: its action and its fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.submit: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("value") == "approve":
            self.submit = (a["name"], a["value"])


def sign_in_like_a_person(authorize_url: str, username: str, password: str) -> str:
    """Open the authorization page, fill in the form, approve; return the code shown."""
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        form = _Form()
        form.feed(page.text)
        assert form.submit is not None, "the page has no approve button"
        assert {"username", "password"} <= form.fields.keys()
        form.fields.update({"username": username, "password": password})
        name, value = form.submit
        answer = browser.post(
            httpx.URL(str(page.url)).join(form.action), data={**form.fields, name: value}
        )
        assert answer.status_code == 200, answer.text
        found = re.search(r'id="authorization-code">([^<]+)<', answer.text)
        assert found, answer.text
        return unescape(found.group(1))


def create_user(instance: Instance, name: str) -> None:
    instance.cli.ok(
        "user",
        "create",
        name,
        "--email",
        f"{name}@{instance.host}.edu",
        "--password-stdin",
        input=PASSWORD + "\n",
    )


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def wait_until(instance: Instance, check: Callable[[Federation], object]) -> None:
    async def body(fed: Federation) -> None:
        async def holds() -> bool:
            return bool(await check(fed))  # type: ignore[misc]

        await eventually(holds)

    instance.call(body)


def test_mastodon_py_and_toot_use_the_server_across_two_instances(
    instances: Callable[[int], list[Instance]],  # noqa: F811 (the fixture imported above)
) -> None:
    a, b = instances(2)
    create_user(a, "alice")
    create_user(a, "amir")
    create_user(b, "bob")
    b.cli.ok("community", "create", "chem101", "--name", "Chemistry 101", "--owner", "bob")

    # -- Mastodon.py: register, sign in through the page, exchange the code ------------
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py test", api_base_url=a.base, redirect_uris=OOB, scopes=SCOPES
    )
    alice = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=a.base)
    code = sign_in_like_a_person(
        alice.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True), "alice", PASSWORD
    )
    alice.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    me = alice.account_verify_credentials()
    assert me["acct"] == "alice"

    # Post with media, read it back in the home timeline.
    media = alice.media_post(png(), mime_type="image/png", description="a red square")
    assert media["type"] == "image"
    posted = alice.status_post("Titration notes, with a picture", media_ids=[media])
    assert posted["media_attachments"][0]["description"] == "a red square"
    assert posted["id"] in [s["id"] for s in alice.timeline_home()]

    # Follow bob on B (resolved through search) and join B's community.
    bob_on_a = alice.search_v2(f"@bob@{b.domain}", resolve=True)["accounts"][0]
    group = alice.search_v2(f"@chem101@{b.domain}", resolve=True)["accounts"][0]
    assert group["group"] is True
    alice.account_follow(bob_on_a)
    alice.account_follow(group)

    def following_both() -> bool:
        rels = alice.account_relationships([bob_on_a, group])
        return all(r["following"] for r in rels)

    _poll(following_both)

    # bob (on B) posts into the community and mentions alice.
    async def bob_posts(fed: Federation) -> Status:
        bob = await Account.get(acct_key="bob")
        community = await Account.get(acct_key="chem101")
        await statuses.post(
            fed, bob, Draft(text="@chem101 Lab 3 is moved to Thursday", community=community)
        )
        alice_there = await resolve(fed, a.handle("alice"))
        return await statuses.post(fed, bob, Draft(text=f"@{alice_there.handle} see you there"))

    b.call(bob_posts)

    def sees_community_post() -> bool:
        return any("Lab 3 is moved" in s["content"] for s in alice.account_statuses(group["id"]))

    _poll(sees_community_post)
    home = alice.timeline_home()
    assert any("Lab 3 is moved" in (s["reblog"] or s)["content"] for s in home)

    def mentioned() -> bool:
        return any(
            n["type"] == "mention" and "see you there" in n["status"]["content"]
            for n in alice.notifications()
        )

    _poll(mentioned)

    # -- toot: the same sign-in, then post with media and read the timeline -------------
    # What `toot login` does first: read the instance into toot's own entity.
    assert toot.auth.find_instance(a.base).uri
    registered = toot.api.create_app(a.base)
    app = toot.App(a.domain, a.base, registered["client_id"], registered["client_secret"])
    code = sign_in_like_a_person(toot.api.get_browser_login_url(app), "amir", PASSWORD)
    token = toot.api.request_access_token(app, code)["access_token"]
    amir = toot.User(a.domain, "amir", token)
    uploaded = toot.api.upload_media(app, amir, io.BytesIO(png()), description="square").json()
    status = toot.api.post_status(app, amir, "Posted from toot", media_ids=[uploaded["id"]]).json()
    assert status["media_attachments"][0]["id"] == uploaded["id"]
    first_page = next(toot.api.home_timeline_generator(app, amir, limit=5))
    assert status["id"] in [s["id"] for s in first_page]
    # amir follows alice (same instance): alice is notified.
    toot.api.follow(app, amir, me["id"])
    assert any(
        n["type"] == "follow" and n["account"]["acct"] == "amir" for n in alice.notifications()
    )


def _poll(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{check.__name__} did not become true in {seconds} s")
        time.sleep(0.2)
