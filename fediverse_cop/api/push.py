"""Web Push subscriptions: ``/api/v1/push/subscription`` (POST, GET, PUT, DELETE).

One subscription per access token, scope ``push``, a user's token only. ``POST``
replaces the token's subscription; ``PUT`` changes ``data[alerts]`` and
``data[policy]`` (what is left out stays as it was); ``DELETE`` answers ``{}``
whether or not there was one. Delivery is in :mod:`fediverse_cop.services.push`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import USER_REQUIRED, Auth, Unauthorized, require_scope
from fediverse_cop.api.params import Params, to_bool
from fediverse_cop.api.responses import ok
from fediverse_cop.models import Account, PushSubscription
from fediverse_cop.services import push
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid

SCOPE = "push"


async def _auth(request: Request) -> tuple[Auth, Account]:
    auth = await require_scope(request, SCOPE)
    if auth.account is None:
        raise Unauthorized(USER_REQUIRED)
    return auth, auth.account


async def entity(subscription: PushSubscription) -> dict[str, Any]:
    """The WebPushSubscription entity (``standard``: messages follow RFC 8291/8292, else
    the drafts Mastodon sent before 4.4)."""
    return {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "standard": subscription.standard,
        "alerts": push.alerts_of(subscription),
        "policy": subscription.policy or push.Policy.ALL.value,
        "server_key": await push.vapid_public_key(),
    }


def _alerts(data: dict[str, Any]) -> dict[str, bool] | None:
    raw = data.get("alerts")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Invalid("Validation failed: data[alerts] must be an object")
    return push.parse_alerts(raw, lambda value: to_bool(value, False, "data[alerts]"))


def _policy(params: Params, data: dict[str, Any]) -> push.Policy | None:
    # Mastodon reads data[policy]; its documentation also shows a top-level policy.
    raw = data.get("policy", params.raw("policy"))
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid("Validation failed: Policy must be all, followed, follower or none")
    return push.parse_policy(raw)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"Validation failed: {name} can't be blank")
    return value


async def create(request: Request) -> Response:
    auth, account = await _auth(request)
    params = await Params.read(request)
    subscription = params.mapping("subscription")
    keys = subscription.get("keys")
    keys = keys if isinstance(keys, dict) else {}
    ctx: ServerContext = request.app.state.ctx
    endpoint = push.check_endpoint(
        _text(subscription.get("endpoint"), "Endpoint"),
        allowed_networks=ctx.settings.allowed_private_networks,
    )
    p256dh, secret = push.check_keys(
        _text(keys.get("p256dh"), "Keys p256dh"), _text(keys.get("auth"), "Keys auth")
    )
    standard = to_bool(subscription.get("standard"), False, "subscription[standard]")
    data = params.mapping("data")
    alerts = _alerts(data) or push.parse_alerts({}, bool)
    policy = _policy(params, data) or push.Policy.ALL
    created = await push.subscribe(
        auth.token,
        account,
        push.SubscriptionInput(endpoint, p256dh, secret, standard),
        alerts,
        policy,
    )
    return ok(await entity(created))


async def show(request: Request) -> Response:
    auth, _ = await _auth(request)
    return ok(await entity(await push.subscription_of(auth.token)))


async def update(request: Request) -> Response:
    auth, _ = await _auth(request)
    params = await Params.read(request)
    data = params.mapping("data")
    updated = await push.update(auth.token, _alerts(data), _policy(params, data))
    return ok(await entity(updated))


async def delete(request: Request) -> Response:
    auth, _ = await _auth(request)
    await push.unsubscribe(auth.token)
    return ok({})


routes: list[BaseRoute] = [
    Route("/api/v1/push/subscription", create, methods=["POST"]),
    Route("/api/v1/push/subscription", show, methods=["GET"]),
    Route("/api/v1/push/subscription", update, methods=["PUT"]),
    Route("/api/v1/push/subscription", delete, methods=["DELETE"]),
]
