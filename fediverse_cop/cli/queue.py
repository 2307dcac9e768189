"""``fediverse-cop queue …``: the outbound delivery queue."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from activitypub.domains import InvalidDomain, normalize_host_port
from fediverse_cop.cli.common import confirm, emit, emit_one, fail, run, say
from fediverse_cop.cli.users import JsonOption, YesOption
from outbox import admin

app = typer.Typer(help="Inspect and steer outbound deliveries.", no_args_is_help=True)

DOMAIN_COLUMNS = (
    "domain",
    "pending",
    "failure_days",
    "consecutive_failures",
    "unavailable_since",
    "circuit_open_until",
    "last_error",
)


def _domain(value: str) -> str:
    try:
        return normalize_host_port(value)
    except InvalidDomain as exc:
        fail(f"invalid domain: {exc}")


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Jobs and deliveries pending, due and failing; failing and unavailable domains."""
    figures = run(lambda: admin.queue_status(datetime.now(UTC)))
    row: dict[str, Any] = dataclasses.asdict(figures)
    if as_json:
        emit_one(row, as_json=True)
        return
    failing = row.pop("failing_domains")
    unavailable = row.pop("unavailable_domains")
    emit_one(row, as_json=False)
    if failing:
        say("failing domains:")
        emit(failing, DOMAIN_COLUMNS, as_json=False)
    if unavailable:
        say("unavailable domains (skipped until they answer or `queue retry`):")
        emit(unavailable, DOMAIN_COLUMNS, as_json=False)


@app.command("retry")
def retry(domain: str) -> None:
    """Clear a domain's failures and retry its pending deliveries now."""
    name = _domain(domain)
    count = run(lambda: admin.retry_domain(name, datetime.now(UTC)))
    say(f"{name}: failures cleared, {count} pending deliveries due now")


@app.command("purge")
def purge(
    domain: Annotated[str, typer.Option("--domain", help="Drop pending deliveries to it.")],
    yes: YesOption = False,
) -> None:
    """Drop every pending delivery to a domain."""
    name = _domain(domain)
    confirm(f"Drop all pending deliveries to {name}?", yes)
    count = run(lambda: admin.purge_domain(name))
    say(f"dropped {count} pending deliveries to {name}")
