"""Domain blocks decided by the operator (silence, suspend, reject media)."""

from __future__ import annotations

from activitypub.domains import InvalidDomain, domain_matches, normalize_domain
from fediverse_cop.models import DomainBlock, DomainBlockSeverity
from fediverse_cop.services.errors import Invalid, NotFound


def parse_domain(value: str) -> str:
    try:
        return normalize_domain(value)
    except InvalidDomain as exc:
        raise Invalid(f"invalid domain: {exc}") from None


async def block_domain(
    domain: str,
    severity: DomainBlockSeverity,
    *,
    private_comment: str = "",
    public_comment: str = "",
) -> tuple[DomainBlock, bool]:
    """Create or update the block of ``domain``; returns the block and whether it is new."""
    normalized = parse_domain(domain)
    block, created = await DomainBlock.get_or_create(
        domain=normalized,
        defaults={
            "severity": severity,
            "private_comment": private_comment,
            "public_comment": public_comment,
        },
    )
    if not created:
        block.severity = severity
        block.private_comment = private_comment or block.private_comment
        block.public_comment = public_comment or block.public_comment
        await block.save()
    return block, created


async def unblock_domain(domain: str) -> None:
    normalized = parse_domain(domain)
    if not await DomainBlock.filter(domain=normalized).delete():
        raise NotFound(f"{normalized} is not blocked")


async def list_domain_blocks() -> list[DomainBlock]:
    return await DomainBlock.all().order_by("domain")


async def find_block(domain: str) -> DomainBlock | None:
    """The block that applies to ``domain`` (itself or a parent domain), the strictest first."""
    normalized = normalize_domain(domain)
    labels = normalized.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]
    blocks = await DomainBlock.filter(domain__in=candidates)
    matching = [b for b in blocks if domain_matches(normalized, b.domain)]
    order = [
        DomainBlockSeverity.SUSPEND,
        DomainBlockSeverity.SILENCE,
        DomainBlockSeverity.REJECT_MEDIA,
    ]
    matching.sort(key=lambda b: order.index(b.severity))
    return matching[0] if matching else None
