"""The instance row, the instance actor, registrations and statistics."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from fediverse_cop.models import (
    INSTANCE_ROW_ID,
    Account,
    ActorType,
    Community,
    Instance,
    Status,
)
from fediverse_cop.services.accounts import INSTANCE_ACTOR_USERNAME, create_local_actor
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid
from fediverse_cop.settings import RegistrationMode


class DomainMismatch(Invalid):
    """The database was initialized for another domain than the one configured."""


async def get_instance() -> Instance | None:
    return await Instance.get_or_none(id=INSTANCE_ROW_ID).select_related("actor")


async def ensure_instance(ctx: ServerContext) -> tuple[Instance, bool]:
    """Create the instance row and the instance actor unless they exist.

    Returns the row and whether it was created now. A database initialized for
    another domain is refused: every actor URI embeds the domain, so changing it
    would orphan every follower on other servers.
    """
    instance = await get_instance()
    if instance is not None:
        check_domain(instance, ctx)
        return instance, False
    async with in_transaction():
        actor = await create_local_actor(
            ctx, INSTANCE_ACTOR_USERNAME, ActorType.APPLICATION, display_name=ctx.domain
        )
        instance = await Instance.create(
            id=INSTANCE_ROW_ID,
            domain=ctx.domain,
            name=ctx.domain,
            registrations=ctx.settings.registrations,
            actor=actor,
        )
    return instance, True


def check_domain(instance: Instance, ctx: ServerContext) -> None:
    if instance.domain != ctx.domain:
        raise DomainMismatch(
            f"this database belongs to {instance.domain}, but the domain setting is "
            f"{ctx.domain}; set COP_DOMAIN={instance.domain}"
        )


async def set_registrations(ctx: ServerContext, mode: RegistrationMode) -> Instance:
    instance, _ = await ensure_instance(ctx)
    instance.registrations = mode
    await instance.save(update_fields=["registrations", "updated_at"])
    return instance


@dataclass(frozen=True, slots=True)
class Stats:
    local_users: int
    communities: int
    posts: int
    remote_accounts: int
    known_instances: int


async def stats() -> Stats:
    remote_domains = (
        await Account.filter(local=False, domain__isnull=False)
        .distinct()
        .values_list("domain", flat=True)
    )
    return Stats(
        local_users=await Account.filter(local=True, actor_type=ActorType.PERSON).count(),
        communities=await Community.filter(account__local=True).count(),
        posts=await Status.filter(local=True, deleted_at=None, reblog_of_id=None).count(),
        remote_accounts=await Account.filter(local=False).count(),
        known_instances=len(remote_domains),
    )
