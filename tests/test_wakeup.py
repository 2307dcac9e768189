"""Idle workers wake when work is stored in their process, not at their next poll."""

from __future__ import annotations

import asyncio

from fediverse_cop.wakeup import COMMIT_GRACE, Wakeup

HOUR = 3600.0


async def test_a_notified_sleeper_wakes_long_before_its_poll() -> None:
    wakeup, stop = Wakeup(), asyncio.Event()
    sleeper = asyncio.create_task(wakeup.sleep(stop, HOUR))
    await asyncio.sleep(0)
    wakeup.notify()
    # Without the wake-up this would sleep for an hour and the wait would time out.
    await asyncio.wait_for(sleeper, timeout=5)


async def test_a_wake_up_while_busy_is_remembered_once() -> None:
    wakeup, stop = Wakeup(), asyncio.Event()
    wakeup.notify()
    await asyncio.sleep(COMMIT_GRACE * 2)
    await asyncio.wait_for(wakeup.sleep(stop, HOUR), timeout=5)
    # Used up: the next sleep lasts until something else happens.
    second = asyncio.create_task(wakeup.sleep(stop, HOUR))
    await asyncio.sleep(COMMIT_GRACE * 2)
    assert not second.done()
    stop.set()
    await asyncio.wait_for(second, timeout=5)


async def test_stop_ends_the_sleep() -> None:
    wakeup, stop = Wakeup(), asyncio.Event()
    sleeper = asyncio.create_task(wakeup.sleep(stop, HOUR))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(sleeper, timeout=5)
