"""The retry policy: a pure function from an attempt's outcome to what happens next.

Schedule (Mastodon's, which peers expect): after the n-th failed attempt
(n = 1, 2, …) the next try waits ``(n-1)**4 + 15`` seconds plus up to half of
``(n-1)**4`` of jitter. Sixteen retries cover about 50 hours without jitter (up to
about 3 days with it); the seventeenth failure is final.

What is retried: network errors, timeouts, 5xx, 408, 429 (honouring
``Retry-After``, capped) and 401 (a key cache or a clock may be stale). Any other
4xx, and 501, is final; 404 and 410 mean the recipient is gone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MAX_ATTEMPTS = 17
RETRY_AFTER_CAP = timedelta(hours=6)
RETRYABLE_4XX = frozenset({401, 408, 429})
GONE = frozenset({404, 410})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt produced: an HTTP status, or a transport error (status None)."""

    status: int | None
    error: str = ""
    retry_after: float | None = None
    # For transport errors: whether trying again can help (a refused address cannot).
    retryable: bool = True

    @property
    def success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is None:
            return self.error or "network error"
        return f"HTTP {self.status}" + (f": {self.error}" if self.error else "")


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    next_attempt_at: datetime | None = None


def backoff(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Delay after the ``attempt``-th failure (1-based), with jitter from ``rng``."""
    base = (attempt - 1) ** 4
    jitter = (rng or random).uniform(0, base / 2) if base else 0.0
    return timedelta(seconds=base + 15 + jitter)


def is_retryable(outcome: Outcome) -> bool:
    status = outcome.status
    if status is None:
        return outcome.retryable
    if status in RETRYABLE_4XX:
        return True
    return status >= 500 and status != 501


def decide(
    outcome: Outcome,
    attempt: int,
    now: datetime,
    *,
    rng: random.Random | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> Decision:
    """What to do after ``attempt`` (1-based) ended with ``outcome``."""
    if outcome.success:
        return Decision(Verdict.DELIVERED)
    if outcome.status in GONE:
        return Decision(Verdict.GONE)
    if not is_retryable(outcome) or attempt >= max_attempts:
        return Decision(Verdict.FAILED)
    delay = backoff(attempt, rng)
    if outcome.status == 429 and outcome.retry_after is not None:
        delay = max(delay, min(timedelta(seconds=outcome.retry_after), RETRY_AFTER_CAP))
    return Decision(Verdict.RETRY, now + delay)


def total_schedule(max_attempts: int = MAX_ATTEMPTS) -> timedelta:
    """The time from the first attempt to the last, without jitter."""
    return sum((timedelta(seconds=(n - 1) ** 4 + 15) for n in range(1, max_attempts)), timedelta())
