"""Helpers shared by the dashboard tests: build the app on the fixed archive and
wait (bounded) for its workers to deliver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from telewatch.dashboard.app import TelewatchApp, make_app
from tests.fixtures.dashboard import NOW


def fixed_app(db: Path, *, live: bool = False, poll_interval: float = 0.5) -> TelewatchApp:
    """The dashboard on ``db`` with "now" fixed at the fixture's NOW and a fixed title."""
    return make_app(
        db, clock=lambda: NOW, live=live, poll_interval=poll_interval, title="fixture archive"
    )


async def until(pilot: Pilot[object], check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``check()`` holds; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await pilot.pause(0.05)
