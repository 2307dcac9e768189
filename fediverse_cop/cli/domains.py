"""``fediverse-cop domain …``: domain blocks."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fediverse_cop.cli.common import emit, run, say
from fediverse_cop.cli.users import JsonOption
from fediverse_cop.models import DomainBlock, DomainBlockSeverity
from fediverse_cop.services import domains

app = typer.Typer(help="Block or unblock other servers.", no_args_is_help=True)


def block_row(block: DomainBlock) -> dict[str, Any]:
    return {
        "domain": block.domain,
        "severity": block.severity,
        "private_comment": block.private_comment,
        "public_comment": block.public_comment,
        "created_at": block.created_at,
    }


@app.command("block")
def block(
    domain: str,
    severity: Annotated[DomainBlockSeverity, typer.Option(help="How hard to block.")],
    reason: Annotated[str, typer.Option(help="Private note for moderators.")] = "",
    public_comment: Annotated[str, typer.Option(help="Reason shown publicly.")] = "",
) -> None:
    """Block a domain and its subdomains."""
    entry, created = run(
        lambda: domains.block_domain(
            domain, severity, private_comment=reason, public_comment=public_comment
        )
    )
    verb = "blocked" if created else "updated the block of"
    say(f"{verb} {entry.domain} ({entry.severity.value})")


@app.command("unblock")
def unblock(domain: str) -> None:
    """Lift a domain block."""
    run(lambda: domains.unblock_domain(domain))
    say(f"unblocked {domains.parse_domain(domain)}")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List domain blocks."""
    blocks = run(domains.list_domain_blocks)
    emit(
        [block_row(b) for b in blocks],
        ("domain", "severity", "private_comment", "public_comment", "created_at"),
        as_json=as_json,
    )
