"""Waking this process's idle workers as soon as new work is stored.

The inbox and delivery workers poll the database when idle (every second), which
is what lets separate worker processes pick up work (and what still finds work
stored in a transaction that commits late). A worker running in the
same process as the code that stores the work need not wait for the next poll:
storing an inbox item or an outbox job calls :meth:`Wakeup.notify`, and the idle
worker starts its next step at once. A wake-up that arrives while the worker is
busy is remembered, so the next idle sleep returns immediately.
"""

from __future__ import annotations

import asyncio
import contextlib

# Long enough for the storing transaction to commit, short next to the poll interval.
COMMIT_GRACE = 0.05


class Wakeup:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()
        self._pending = False

    def notify(self) -> None:
        """Wake the idle workers shortly: the work may be stored in a transaction that has
        yet to commit, so they are woken a moment later rather than at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(COMMIT_GRACE, self._wake)

    def _wake(self) -> None:
        self._pending = True
        for event in self._waiters:
            event.set()

    async def sleep(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait until ``stop`` is set, work is announced, or ``seconds`` pass."""
        if self._pending:
            self._pending = False
            return
        event = asyncio.Event()
        self._waiters.add(event)
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiters.discard(event)
            for task in waits:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._pending = False


# Work for the delivery worker (outbox jobs) and for the inbox worker (received items).
DELIVERIES = Wakeup()
INBOX = Wakeup()
