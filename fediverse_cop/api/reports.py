"""``POST /api/v1/reports``: report an account (and some of its posts) to the moderators.

The rules, and forwarding to a remote account's server as a ``Flag``, live in
:mod:`fediverse_cop.services.reports`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Json, Serializer
from fediverse_cop.api.pagination import parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import Account
from fediverse_cop.services import reports
from fediverse_cop.services.errors import NotFound

RECORD_NOT_FOUND = "Record not found"


async def _reported_account(params: Params) -> Account:
    account_id = parse_id(params.raw("account_id"))
    account = await Account.get_or_none(id=account_id) if account_id is not None else None
    if account is None or account.deleted_at is not None:
        raise NotFound(RECORD_NOT_FOUND)
    return account


def _status_ids(params: Params) -> list[int]:
    ids = [parse_id(value) for value in params.texts("status_ids", max_items=1000)]
    if any(value is None for value in ids):
        raise NotFound(RECORD_NOT_FOUND)
    return [value for value in ids if value is not None]


async def create_report(request: Request) -> Response:
    reporter = await require_user(request, "write:reports")
    params = await Params.read(request)
    target = await _reported_account(params)
    filed = await reports.file_report(
        request.app.state.ctx,
        reporter,
        target,
        _status_ids(params),
        comment=params.text("comment", "", max_length=100_000) or "",
        category=params.text("category") or None,
        rule_ids=params.texts("rule_ids"),
        forward=params.flag("forward"),
    )
    return ok(await report_json(Serializer(request.app.state.ctx, reporter), filed))


async def report_json(ser: Serializer, filed: reports.Filed) -> Json:
    report = filed.report
    return {
        "id": str(report.id),
        "action_taken": report.resolved_at is not None,
        "action_taken_at": iso(report.resolved_at),
        "category": filed.category,
        "comment": report.comment,
        "forwarded": filed.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": [str(s.id) for s in filed.statuses] or None,
        "rule_ids": filed.rule_ids or None,
        "target_account": await ser.account(filed.target),
    }


routes: list[BaseRoute] = [Route("/api/v1/reports", create_report, methods=["POST"])]
