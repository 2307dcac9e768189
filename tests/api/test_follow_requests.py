"""Follow requests, and the join requests of communities their moderators answer."""

from __future__ import annotations

from fediverse_cop.models import (
    Account,
    CommunityRole,
    CommunityRoleKind,
    FanoutJob,
    Follow,
    FollowState,
    Notification,
    NotificationType,
)
from fediverse_cop.services import communities
from tests.api.conftest import Api, User
from tests.api.test_accounts import community, remote_account


async def locked_user(api: Api, name: str) -> User:
    user = await api.user(name)
    user.account.manually_approves_followers = True
    await user.account.save()
    return user


async def test_own_requests_and_community_joins_are_listed(api: Api) -> None:
    alice = await locked_user(api, "alice")
    bob = await api.user("bob")
    carol = await api.user("carol")
    group = await community(api, "chem", alice, approval=True)
    await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=bob)
    await api.post(f"/api/v1/accounts/{group.id}/follow", as_=carol)
    response = await api.get("/api/v1/follow_requests", as_=alice)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [carol.id, bob.id]
    # A member who does not moderate sees nothing of the community's requests.
    assert (await api.get("/api/v1/follow_requests", as_=bob)).json() == []
    page = await api.get("/api/v1/follow_requests?limit=1", as_=alice)
    assert [a["id"] for a in page.json()] == [carol.id]
    assert 'rel="next"' in page.headers["link"]


async def test_authorize_a_follow_request(api: Api) -> None:
    alice = await locked_user(api, "alice")
    bob = await api.user("bob")
    await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=bob)
    response = await api.post(f"/api/v1/follow_requests/{bob.id}/authorize", as_=alice)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == bob.id
    assert body["followed_by"] is True
    assert body["requested_by"] is False
    assert (await Follow.get(account=bob.account)).state is FollowState.ACCEPTED
    assert not await Notification.exists(
        account=alice.account, type=NotificationType.FOLLOW_REQUEST
    )
    assert await Notification.exists(account=alice.account, type=NotificationType.FOLLOW)
    again = await api.post(f"/api/v1/follow_requests/{bob.id}/authorize", as_=alice)
    assert again.status_code == 404


async def test_reject_a_follow_request(api: Api) -> None:
    alice = await locked_user(api, "alice")
    bob = await api.user("bob")
    await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=bob)
    response = await api.post(f"/api/v1/follow_requests/{bob.id}/reject", as_=alice)
    assert response.status_code == 200
    assert response.json()["followed_by"] is False
    assert not await Follow.exists(account=bob.account)


async def test_authorizing_a_remote_request_sends_accept(api: Api) -> None:
    alice = await locked_user(api, "alice")
    carol = await remote_account("carol")
    await Follow.create(
        account=carol,
        target=alice.account,
        state=FollowState.PENDING,
        uri="https://remote.example/follows/1",
    )
    await api.post(f"/api/v1/follow_requests/{carol.id}/authorize", as_=alice)
    [job] = await FanoutJob.filter(sender=alice.account)
    assert job.activity["type"] == "Accept"
    assert job.activity["object"]["id"] == "https://remote.example/follows/1"
    assert job.recipients == [carol.uri]


async def test_a_moderator_answers_join_requests(api: Api) -> None:
    owner = await api.user("owner")
    mod = await api.user("mod")
    outsider = await api.user("outsider")
    bob = await api.user("bob")
    carol = await api.user("carol")
    group = await community(api, "chem", owner, approval=True)
    await communities.add_role("chem", "mod", CommunityRoleKind.MODERATOR)
    await api.post(f"/api/v1/accounts/{group.id}/follow", as_=bob)
    await api.post(f"/api/v1/accounts/{group.id}/follow", as_=carol)
    assert [a["id"] for a in (await api.get("/api/v1/follow_requests", as_=mod)).json()] == [
        carol.id,
        bob.id,
    ]
    refused = await api.post(f"/api/v1/follow_requests/{bob.id}/authorize", as_=outsider)
    assert refused.status_code == 404
    accepted = await api.post(f"/api/v1/follow_requests/{bob.id}/authorize", as_=mod)
    assert accepted.status_code == 200
    assert (await Follow.get(account=bob.account, target=group)).state is FollowState.ACCEPTED
    rejected = await api.post(f"/api/v1/follow_requests/{carol.id}/reject", as_=mod)
    assert rejected.status_code == 200
    assert not await Follow.exists(account=carol.account, target=group)
    assert (await api.get("/api/v1/follow_requests", as_=owner)).json() == []
    assert not await Notification.exists(
        account=owner.account, type=NotificationType.FOLLOW_REQUEST
    )


async def test_a_banned_requester_cannot_be_authorized(api: Api) -> None:
    owner = await api.user("owner")
    bob = await api.user("bob")
    group = await community(api, "chem", owner, approval=True)
    await api.post(f"/api/v1/accounts/{group.id}/follow", as_=bob)
    chem = await communities.get_local_community("chem")
    await CommunityRole.create(community=chem, account=bob.account, role=CommunityRoleKind.BANNED)
    response = await api.post(f"/api/v1/follow_requests/{bob.id}/authorize", as_=owner)
    assert response.status_code == 403
    assert response.json() == {"error": "This action is not allowed"}
    assert (await Follow.get(account=bob.account, target=group)).state is FollowState.PENDING


async def test_follow_requests_need_a_user_with_the_right_scopes(api: Api) -> None:
    alice = await locked_user(api, "alice")
    bob = await api.user("bob")
    await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=bob)
    assert (await api.get("/api/v1/follow_requests")).status_code == 401
    writer = await api.token(alice.account, "write")
    assert (await api.get("/api/v1/follow_requests", token=writer)).status_code == 403
    reader = await api.token(alice.account, "read")
    path = f"/api/v1/follow_requests/{bob.id}/authorize"
    assert (await api.post(path, token=reader)).status_code == 403
    assert (await api.post(path)).status_code == 401
    assert (await api.post("/api/v1/follow_requests/nope/authorize", as_=alice)).status_code == 404
    # A follow-scoped token (what older apps ask for) may answer.
    follower_scope = await api.token(alice.account, "follow")
    assert (await api.post(path, token=follower_scope)).status_code == 200
    assert await Account.get(id=bob.account.id)
