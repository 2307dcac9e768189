"""``fediverse-cop announcement …``: institution-wide notices shown in members' apps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from fediverse_cop.cli.common import emit, emit_one, run, say, server_context
from fediverse_cop.cli.users import JsonOption
from fediverse_cop.models import Announcement
from fediverse_cop.services import announcements
from fediverse_cop.services.context import utcnow

app = typer.Typer(help="Announcements shown in members' apps.", no_args_is_help=True)

MOMENT_HELP = "ISO 8601 date or time (UTC unless it has an offset), such as 2025-09-01T09:00"


def parse_moment(text: str | None) -> datetime | None:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def announcement_row(announcement: Announcement, now: datetime) -> dict[str, Any]:
    return {
        "id": str(announcement.id),
        "text": announcement.text,
        "starts_at": announcement.starts_at,
        "ends_at": announcement.ends_at,
        "all_day": announcement.all_day,
        "published_at": announcement.published_at,
        "active": announcements.is_active(announcement, now),
    }


@app.command("create")
def create(
    text: Annotated[str, typer.Argument(help="The announcement (plain text; links are linked).")],
    starts_at: Annotated[
        str | None, typer.Option("--starts-at", help=f"Shown from then. {MOMENT_HELP}.")
    ] = None,
    ends_at: Annotated[
        str | None, typer.Option("--ends-at", help=f"Shown until then. {MOMENT_HELP}.")
    ] = None,
    all_day: Annotated[
        bool,
        typer.Option("--all-day", help="The start and end are whole days (both required)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish an announcement."""
    draft = announcements.Draft(text, parse_moment(starts_at), parse_moment(ends_at), all_day)
    ctx = server_context()
    created = run(lambda: announcements.create(ctx, draft))
    if as_json:
        emit_one(announcement_row(created, utcnow()), as_json=True)
        return
    say(f"announcement {created.id} published")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List announcements (past, current and upcoming), with whether each is shown now."""
    rows = run(announcements.list_all)
    now = utcnow()
    emit(
        [announcement_row(a, now) for a in rows],
        ("id", "text", "starts_at", "ends_at", "all_day", "active"),
        as_json=as_json,
    )


@app.command("delete")
def delete(
    announcement_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
) -> None:
    """Delete an announcement (it disappears from apps)."""
    run(lambda: announcements.delete(announcement_id))
    say(f"deleted announcement {announcement_id}")
