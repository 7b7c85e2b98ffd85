"""Waiting and cancelling in the daemon without losing a cancellation.

The daemon stops by cancelling its tasks, so a wait that swallows a
cancellation keeps a task alive and the stop waits for it (until the 8 s
watchdog). Two stdlib habits do that on Python 3.11:

* ``asyncio.wait_for(aw, t)`` runs ``aw`` as a task of its own and, when the
  caller is cancelled in the loop turn in which ``aw`` completes (an event
  set as SIGTERM arrives), returns ``aw``'s result instead of raising
  CancelledError (CPython gh-86296; 3.12 rebuilt ``wait_for`` on
  ``asyncio.timeout``). ``asyncio.timeout`` runs ``aw`` in the caller's own
  task and never loses a cancellation: the daemon uses it instead.
* ``task.cancel(); with suppress(CancelledError): await task`` also
  swallows a cancellation of the *caller* (it arrives as the task's own
  CancelledError), and waits without a bound. ``cancel_and_wait`` waits with
  ``asyncio.wait``, which lets the caller's cancellation through, and takes
  a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def wake_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; whether it is set.
    A cancellation of the caller always propagates."""
    if not event.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()
    return event.is_set()


async def cancel_and_wait(task: asyncio.Future[Any], seconds: float | None = None) -> bool:
    """Cancel ``task`` and wait for it to end, at most ``seconds`` (None: no
    bound); whether it ended. Its own outcome (cancelled, an exception) is
    collected and dropped; a cancellation of the caller propagates."""
    task.cancel()
    if not task.done():
        await asyncio.wait({task}, timeout=seconds)
    if task.done() and not task.cancelled():
        task.exception()  # collected: no "exception was never retrieved"
    return task.done()
