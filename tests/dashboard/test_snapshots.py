"""Snapshot tests (pytest-textual-snapshot) of the dashboard's screens on the fixed
archive. Update after a deliberate change with ``pytest --snapshot-update``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from telewatch.dashboard.app import TelewatchApp
from telewatch.dashboard.screens import PostScreen, SearchScreen
from tests.dashboard.helpers import fixed_app, until
from tests.fixtures.dashboard import AR, FA, RU

SIZE = (120, 40)
Snap = Callable[..., bool]


async def _loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, TelewatchApp)
    await until(pilot, lambda: app.loaded)
    await pilot.pause()


def _open_post(channel_id: int, message_id: int) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        screen = PostScreen(channel_id, message_id)
        await pilot.app.push_screen(screen)
        await until(pilot, lambda: screen.post is not None)
        await pilot.pause()

    return run


def test_main_screen(snap_compare: Snap, dash_archive: Path) -> None:
    """The main screen shows channels with states and sparklines, alert counters and the
    feed with new, edited and deleted posts (Arabic and Persian in visual order)."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=SIZE, run_before=_loaded)


def test_post_detail_with_versions(snap_compare: Snap, dash_archive: Path) -> None:
    """A Russian post edited once: both versions, the word diff, the t.me link."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=SIZE, run_before=_open_post(RU, 302))


def test_post_detail_rtl(snap_compare: Snap, dash_archive: Path) -> None:
    """An Arabic post with an edit, media, engagement history and the evidence mark:
    right-to-left paragraphs are reordered and right-aligned."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=SIZE, run_before=_open_post(AR, 103))


def test_post_detail_persian(snap_compare: Snap, dash_archive: Path) -> None:
    """A Persian post (with a zero-width non-joiner) reads right to left."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=SIZE, run_before=_open_post(FA, 202))


async def _search(pilot: Pilot[Any]) -> None:
    await _loaded(pilot)
    await pilot.press("slash")
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    await pilot.press(*"port")
    await until(pilot, lambda: screen.finished_query == "port")
    await pilot.pause()


def test_search_results(snap_compare: Snap, dash_archive: Path) -> None:
    """Typing a query shows matching posts as you type, deleted ones struck through."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=SIZE, run_before=_search)
