"""The client API under test: the real app (lifespan included) on this test's database.

``api.user("alice")`` creates a local user and an access token for it; requests
go through ``api.get/post/...`` with ``as_=user`` (or a raw ``token=``), and every
JSON response with a status the OpenAPI description documents is validated
against it (tests/api/openapi.py), so each endpoint test also checks the shape.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fediverse_cop.app import create_app
from fediverse_cop.models import Account, InstanceRole, OAuthApp
from fediverse_cop.services import accounts, oauth, push
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.remote import Federation
from fediverse_cop.settings import Settings
from tests.api import openapi
from tests.conftest import TEST_DOMAIN

BASE = f"http://{TEST_DOMAIN}"
PASSWORD = "correct horse battery staple"
ALL_USER_SCOPES = "read write follow push"


@dataclass
class User:
    account: Account
    token: str

    @property
    def id(self) -> str:
        return str(self.account.id)


@dataclass
class Api:
    ctx: ServerContext
    client: httpx.AsyncClient
    fed: Federation
    validate: bool = True
    _app: OAuthApp | None = None

    async def oauth_app(self) -> OAuthApp:
        if self._app is None:
            registered = await oauth.register_app(
                "Test client", [oauth.OOB_REDIRECT], scope_rules.parse(ALL_USER_SCOPES)
            )
            self._app = registered.app
        return self._app

    async def token(self, account: Account | None, scopes: str = ALL_USER_SCOPES) -> str:
        issued = await oauth.issue_token(await self.oauth_app(), account, scope_rules.parse(scopes))
        return issued.access_token

    async def user(
        self,
        name: str,
        *,
        scopes: str = ALL_USER_SCOPES,
        role: InstanceRole = InstanceRole.USER,
        **extra: Any,
    ) -> User:
        account = await accounts.create_user(
            self.ctx, name, email=f"{name}@uni-a.edu", password=PASSWORD, role=role, **extra
        )
        return User(account, await self.token(account, scopes))

    async def request(
        self,
        method: str,
        path: str,
        *,
        as_: User | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        secret = token if token is not None else (as_.token if as_ else None)
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        response = await self.client.request(method, path, headers=headers, **kwargs)
        if self.validate and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            openapi.validate(path.split("?")[0], method, response.status_code, response.json())
        return response

    async def quiet(self) -> None:
        """Wait until the notifications made so far are pushed (background work that would
        otherwise run during a measurement)."""
        pusher = push.active()
        if pusher is not None:
            async with asyncio.timeout(10):
                await pusher.drain()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    """The app with its lifespan run, no background workers (deliveries wait in the queue)."""
    current = dataclasses.replace(settings, in_process_workers=False)
    app = create_app(current)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(app.state.ctx, client, app.state.fed)
