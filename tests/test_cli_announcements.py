"""``fediverse-cop announcement …`` against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Cli


def test_create_list_and_delete(cli: Cli) -> None:
    created = cli.ok("announcement", "create", "Welcome to the new term")
    assert created.stdout.startswith("announcement ")
    assert "published" in created.stdout
    [row] = cli.ok("announcement", "list", "--json").json()
    assert row["text"] == "Welcome to the new term"
    assert row["active"] is True
    assert row["starts_at"] is None
    assert row["all_day"] is False
    assert row["id"] in created.stdout

    table = cli.ok("announcement", "list")
    assert "Welcome to the new term" in table.stdout

    deleted = cli.ok("announcement", "delete", row["id"])
    assert f"deleted announcement {row['id']}" in deleted.stdout
    assert cli.ok("announcement", "list", "--json").json() == []


def test_create_with_a_window_as_json(cli: Cli) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    starts = (now + timedelta(days=1)).isoformat()
    ends = (now + timedelta(days=2)).isoformat()
    data = cli.ok(
        "announcement",
        "create",
        "Network upgrade",
        "--starts-at",
        starts,
        "--ends-at",
        ends,
        "--json",
    ).json()
    assert data["text"] == "Network upgrade"
    assert datetime.fromisoformat(data["starts_at"]) == now + timedelta(days=1)
    assert datetime.fromisoformat(data["ends_at"]) == now + timedelta(days=2)
    assert data["active"] is False
    [listed] = cli.ok("announcement", "list", "--json").json()
    assert listed["id"] == data["id"]
    assert listed["active"] is False


def test_all_day_takes_dates_and_a_time_without_offset_is_utc(cli: Cli) -> None:
    today = datetime.now(UTC).date().isoformat()
    data = cli.ok(
        "announcement",
        "create",
        "Open day",
        "--starts-at",
        today,
        "--ends-at",
        today,
        "--all-day",
        "--json",
    ).json()
    assert data["all_day"] is True
    assert data["active"] is True
    assert datetime.fromisoformat(data["starts_at"]) == datetime.fromisoformat(today).replace(
        tzinfo=UTC
    )


def test_bad_input_exits_with_the_documented_status(cli: Cli) -> None:
    bad_date = cli("announcement", "create", "Soon", "--starts-at", "next tuesday")
    assert bad_date.code == 2
    assert "ISO 8601" in bad_date.stderr + bad_date.stdout
    backwards = cli(
        "announcement",
        "create",
        "Backwards",
        "--starts-at",
        "2030-01-02",
        "--ends-at",
        "2030-01-01",
    )
    assert backwards.code == 1
    assert "the end is before the start" in backwards.stderr
    assert cli("announcement", "create", "Which day?", "--all-day").code == 1
    blank = cli("announcement", "create", "  ")
    assert blank.code == 1
    assert "can't be blank" in blank.stderr
    assert cli("announcement", "create").code == 2
    assert cli.ok("announcement", "list", "--json").json() == []


def test_deleting_an_unknown_announcement_fails(cli: Cli) -> None:
    missing = cli("announcement", "delete", "4242")
    assert missing.code == 1
    assert "no announcement 4242" in missing.stderr
    assert cli("announcement", "delete", "not-a-number").code == 2
