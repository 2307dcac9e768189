"""Instance metadata for apps (v1 and v2), preferences, and the start-up stubs apps expect.

``version`` is Mastodon-style semver first (clients gate features on it:
Mastodon.py parses the leading ``x.y.z``, Phanpy and Ice Cubes compare it), then
our own name and version. ``api_versions.mastodon`` says which API revision we follow.

Stubs (empty answers, so apps do not fail at start-up): custom emojis, rules,
trends, suggestions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q

from fediverse_cop import __version__
from fediverse_cop.api.auth import optional_user, require_user
from fediverse_cop.api.entities import DEFAULT_HEADER_PATH, Serializer
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.converters import note_to_html
from fediverse_cop.models import (
    Account,
    ActorType,
    DomainBlock,
    DomainBlockSeverity,
    Instance,
    InstanceRole,
    OAuthToken,
    Status,
)
from fediverse_cop.services import instance as instance_service
from fediverse_cop.services import media, push
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.statuses import MAX_TEXT
from fediverse_cop.settings import RegistrationMode

MASTODON_VERSION: Final = "4.3.0"
VERSION: Final = f"{MASTODON_VERSION} (compatible; fediverse-cop {__version__})"
API_VERSION: Final = 2
MAX_MEDIA_ATTACHMENTS: Final = 4
CHARACTERS_RESERVED_PER_URL: Final = 23
MAX_FEATURED_TAGS: Final = 10
MAX_PINNED_STATUSES: Final = 5
POLL_MAX_OPTIONS: Final = 4
POLL_MAX_CHARACTERS_PER_OPTION: Final = 50
POLL_MIN_EXPIRATION: Final = 300
POLL_MAX_EXPIRATION: Final = 2_629_746
LANGUAGES: Final = ["en"]
ACTIVITY_WEEKS: Final = 12


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def streaming_url(ctx: ServerContext) -> str:
    scheme = "wss" if ctx.settings.scheme == "https" else "ws"
    return f"{scheme}://{ctx.domain}"


def _limits(ctx: ServerContext) -> dict[str, Any]:
    """The limits both instance versions share (v2 adds a few keys)."""
    size = ctx.settings.max_media_body
    return {
        "accounts": {"max_featured_tags": MAX_FEATURED_TAGS},
        "statuses": {
            "max_characters": MAX_TEXT,
            "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
            "characters_reserved_per_url": CHARACTERS_RESERVED_PER_URL,
        },
        "media_attachments": {
            "supported_mime_types": sorted(set(media.CONTENT_TYPES.values())),
            "image_size_limit": size,
            "image_matrix_limit": media.MAX_PIXELS,
            "video_size_limit": size,
            "video_frame_rate_limit": 60,
            "video_matrix_limit": media.MAX_PIXELS,
        },
        "polls": {
            "max_options": POLL_MAX_OPTIONS,
            "max_characters_per_option": POLL_MAX_CHARACTERS_PER_OPTION,
            "min_expiration": POLL_MIN_EXPIRATION,
            "max_expiration": POLL_MAX_EXPIRATION,
        },
    }


async def _instance_row(ctx: ServerContext) -> Instance:
    row, _ = await instance_service.ensure_instance(ctx)
    return row


async def _contact_account(request: Request, viewer: Account | None) -> dict[str, Any] | None:
    """The owner (else an admin) of the instance, as the contact account."""
    for role in (InstanceRole.OWNER, InstanceRole.ADMIN):
        account = (
            await Account.filter(
                local=True,
                actor_type=ActorType.PERSON,
                role=role,
                suspended_at__isnull=True,
                deleted_at__isnull=True,
            )
            .order_by("id")
            .first()
        )
        if account is not None:
            return await Serializer(_ctx(request), viewer).account(account)
    return None


def _thumbnail(ctx: ServerContext) -> str:
    return f"{ctx.settings.base_url}{DEFAULT_HEADER_PATH}"


async def instance_v1(request: Request) -> Response:
    ctx = _ctx(request)
    viewer = await optional_user(request)
    row = await _instance_row(ctx)
    stats = await instance_service.stats()
    mode = row.registrations
    return ok(
        {
            "uri": ctx.domain,
            "title": row.name or ctx.domain,
            "short_description": row.description,
            "description": row.description,
            "email": row.contact_email,
            "version": VERSION,
            "urls": {"streaming_api": streaming_url(ctx)},
            "stats": {
                "user_count": stats.local_users,
                "status_count": stats.posts,
                "domain_count": stats.known_instances,
            },
            "thumbnail": _thumbnail(ctx),
            "languages": LANGUAGES,
            "registrations": mode in (RegistrationMode.OPEN, RegistrationMode.APPROVAL),
            "approval_required": mode is RegistrationMode.APPROVAL,
            "invites_enabled": mode is RegistrationMode.INVITE,
            "configuration": _limits(ctx),
            "contact_account": await _contact_account(request, viewer),
            "rules": [],
        }
    )


async def _active_month() -> int:
    since = utcnow() - timedelta(days=30)
    ids = await (
        Status.filter(local=True, published_at__gte=since, account__actor_type=ActorType.PERSON)
        .distinct()
        .values_list("account_id", flat=True)
    )
    return len(ids)


async def instance_v2(request: Request) -> Response:
    ctx = _ctx(request)
    viewer = await optional_user(request)
    row = await _instance_row(ctx)
    mode = row.registrations
    configuration = _limits(ctx)
    configuration["urls"] = {"streaming": streaming_url(ctx), "status": None, "about": None}
    configuration["accounts"]["max_pinned_statuses"] = MAX_PINNED_STATUSES
    configuration["accounts"]["max_profile_fields"] = 4
    configuration["accounts"]["max_note_length"] = 500
    configuration["accounts"]["max_display_name_length"] = 100
    configuration["media_attachments"]["description_limit"] = media.MAX_DESCRIPTION
    configuration["translation"] = {"enabled": False}
    configuration["vapid"] = {"public_key": await push.vapid_public_key()}
    return ok(
        {
            "domain": ctx.domain,
            "title": row.name or ctx.domain,
            "version": VERSION,
            "source_url": ctx.settings.source_url or ctx.settings.base_url,
            "description": row.description,
            "usage": {"users": {"active_month": await _active_month()}},
            "thumbnail": {"url": _thumbnail(ctx)},
            "icon": [],
            "languages": LANGUAGES,
            "configuration": configuration,
            "registrations": {
                "enabled": mode in (RegistrationMode.OPEN, RegistrationMode.APPROVAL),
                "approval_required": mode is RegistrationMode.APPROVAL,
                "message": None,
                "url": None,
            },
            "api_versions": {"mastodon": API_VERSION},
            "contact": {
                "email": row.contact_email,
                "account": await _contact_account(request, viewer),
            },
            "rules": [],
        }
    )


async def peers(request: Request) -> Response:
    """Domains of the remote accounts we know, except suspended ones."""
    remote = Account.filter(local=False, domain__isnull=False)
    domains = {str(row[0]) for row in await remote.distinct().values_list("domain")}
    blocked = DomainBlock.filter(severity=DomainBlockSeverity.SUSPEND)
    suspended = {str(row[0]) for row in await blocked.values_list("domain")}
    shown = sorted(d for d in domains if not _under(d, suspended))
    return ok(shown)


def _under(domain: str, blocked: set[str]) -> bool:
    host = domain.split(":")[0]
    labels = host.split(".")
    return any(".".join(labels[i:]) in blocked for i in range(len(labels)))


def _week_start(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def activity(request: Request) -> Response:
    """Weekly local posts, logins (accounts whose tokens were issued or used) and sign-ups."""
    start = _week_start(utcnow())
    weeks = []
    for index in range(ACTIVITY_WEEKS):
        begin = start - timedelta(weeks=index)
        end = begin + timedelta(weeks=1)
        posts = await Status.filter(
            local=True, reblog_of_id=None, published_at__gte=begin, published_at__lt=end
        ).count()
        signups = await Account.filter(
            local=True, actor_type=ActorType.PERSON, created_at__gte=begin, created_at__lt=end
        ).count()
        logins = await (
            OAuthToken.filter(account_id__isnull=False)
            .filter(
                Q(created_at__gte=begin, created_at__lt=end)
                | Q(last_used_at__gte=begin, last_used_at__lt=end)
            )
            .distinct()
            .values_list("account_id", flat=True)
        )
        weeks.append(
            {
                "week": str(int(begin.timestamp())),
                "statuses": str(posts),
                "logins": str(len(logins)),
                "registrations": str(signups),
            }
        )
    return ok(weeks)


async def extended_description(request: Request) -> Response:
    row = await _instance_row(_ctx(request))
    return ok({"updated_at": iso(row.updated_at), "content": note_to_html(row.description)})


async def preferences(request: Request) -> Response:
    account = await require_user(request, "read:accounts")
    return ok(
        {
            "posting:default:visibility": account.default_visibility.value,
            "posting:default:sensitive": account.default_sensitive,
            "posting:default:language": account.default_language,
            "posting:default:quote_policy": "nobody",
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
        }
    )


def _public_empty(result: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        return ok(result)

    return endpoint


def _user_empty(scope: str, result: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        await require_user(request, scope)
        return ok(result)

    return endpoint


routes: list[BaseRoute] = [
    Route("/api/v1/instance", instance_v1, methods=["GET"]),
    Route("/api/v1/instance/", instance_v1, methods=["GET"]),
    Route("/api/v2/instance", instance_v2, methods=["GET"]),
    Route("/api/v1/instance/peers", peers, methods=["GET"]),
    Route("/api/v1/instance/activity", activity, methods=["GET"]),
    Route("/api/v1/instance/rules", _public_empty([]), methods=["GET"]),
    Route("/api/v1/instance/extended_description", extended_description, methods=["GET"]),
    Route("/api/v1/custom_emojis", _public_empty([]), methods=["GET"]),
    Route("/api/v1/preferences", preferences, methods=["GET"]),
    Route("/api/v1/suggestions", _user_empty("read", []), methods=["GET"]),
    Route("/api/v2/suggestions", _user_empty("read", []), methods=["GET"]),
    Route("/api/v1/trends", _public_empty([]), methods=["GET"]),
    Route("/api/v1/trends/tags", _public_empty([]), methods=["GET"]),
    Route("/api/v1/trends/statuses", _public_empty([]), methods=["GET"]),
    Route("/api/v1/trends/links", _public_empty([]), methods=["GET"]),
]
