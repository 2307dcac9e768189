"""The durable outbound queue: fan-out jobs, deliveries, and what we know of each domain."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from fediverse_cop.ids import new_id
from fediverse_cop.models.accounts import URI_LENGTH, Account
from fediverse_cop.models.enums import DeliveryState, JobState


class FanoutJob(Model):
    """One activity to send, with its recipients as given (actor URIs and collections).

    Written by ``outbox.enqueue`` in the caller's request; expanded into deliveries
    by a worker, which claims it with a lease.
    """

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    sender: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="fanout_jobs", on_delete=fields.CASCADE
    )
    activity: fields.Field[dict[str, Any]] = fields.JSONField()
    recipients: fields.Field[list[str]] = fields.JSONField()
    # Deliveries with the same key to the same inbox go out in job order.
    ordering_key = fields.CharField(max_length=URI_LENGTH, default="")
    state = fields.CharEnumField(JobState, max_length=16, default=JobState.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    lease_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "fanout_jobs"


class Delivery(Model):
    """One POST of a job's activity to one inbox, retried on its own schedule."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    job: fields.ForeignKeyRelation[FanoutJob] = fields.ForeignKeyField(
        "models.FanoutJob", related_name="deliveries", on_delete=fields.CASCADE
    )
    inbox = fields.CharField(max_length=URI_LENGTH)
    domain = fields.CharField(max_length=255)
    ordering_key = fields.CharField(max_length=URI_LENGTH, default="")
    state = fields.CharEnumField(DeliveryState, max_length=16, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "deliveries"
        unique_together = (("job", "inbox"),)
        indexes = (
            ("state", "next_attempt_at"),
            ("inbox", "ordering_key", "state"),
            ("domain", "state"),
        )


class DomainHealth(Model):
    """Delivery health of one remote domain: failure days, unavailability, circuit breaker."""

    domain = fields.CharField(max_length=255, primary_key=True)
    # ISO dates (YYYY-MM-DD) on which a delivery failed since the last success.
    failure_days: fields.Field[list[str]] = fields.JSONField(default=list)
    unavailable_since = fields.DatetimeField(null=True)
    consecutive_failures = fields.IntField(default=0)
    circuit_open_until = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)
    last_failure_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    class Meta:
        table = "domain_health"
