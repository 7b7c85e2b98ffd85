"""Snapshot tests (pytest-textual-snapshot) of the dashboard's screens on the fixed
archive. Update after a deliberate change with ``pytest --snapshot-update``, then look
at the SVGs (tests/dashboard/__snapshots__/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from telewatch.dashboard.app import TelewatchApp
from telewatch.dashboard.daemons import DaemonsScreen, Pool, PoolRead
from telewatch.dashboard.screens import PostScreen, SearchScreen
from telewatch.store.leases import Daemon, Lease, Role
from tests.dashboard.helpers import fixed_app, until
from tests.fixtures.dashboard import AR, EN, FA, NOW, RU

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


@pytest.mark.parametrize(
    "size", [(100, 30), (120, 40), (160, 40)], ids=["100x30", "120x40", "160x40"]
)
def test_main_screen_fits(snap_compare: Snap, crowded_archive: Path, size: tuple[int, int]) -> None:
    """At 100, 120 and 160 columns every column of every panel fits (Err included, no
    horizontal scrollbar) with an hour-long flood-wait countdown, long Russian and
    Arabic titles, a three-digit error count and a long rule name."""
    assert snap_compare(fixed_app(crowded_archive), terminal_size=size, run_before=_loaded)


def _light(then: Callable[[Pilot[Any]], Any] | None = None) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        pilot.app.theme = "textual-light"
        await (then or _loaded)(pilot)
        await pilot.pause()

    return run


def test_main_screen_light_theme(snap_compare: Snap, crowded_archive: Path) -> None:
    """On a light theme (textual-light) the states, marks and counters use the theme's
    text colours, which read on white."""
    assert snap_compare(fixed_app(crowded_archive), terminal_size=SIZE, run_before=_light())


def test_post_detail_light_theme(snap_compare: Snap, dash_archive: Path) -> None:
    """The post detail (word diff with [-removed-] and {+added+} markers) on a light theme."""
    assert snap_compare(
        fixed_app(dash_archive), terminal_size=SIZE, run_before=_light(_open_post(RU, 302))
    )


def test_post_detail_forward(snap_compare: Snap, dash_archive: Path) -> None:
    """A forward names its origin channel by title and @username, with the original link."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=SIZE, run_before=_open_post(EN, 404))


async def _help(pilot: Pilot[Any]) -> None:
    await _loaded(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


def test_help_screen(snap_compare: Snap, dash_archive: Path) -> None:
    """`?` shows a titled box with every key, how to read the screen, and "escape closes",
    readable at 100×30."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=(100, 30), run_before=_help)


async def _daemons(pilot: Pilot[Any]) -> None:
    """The daemons screen over a fixed pool (its reading from a real PostgreSQL
    server is tests/dashboard/test_daemons.py; here: the look, with fixed times)."""
    await _loaded(pilot)
    await pilot.press("d")
    screen = pilot.app.screen
    assert isinstance(screen, DaemonsScreen)
    await until(pilot, lambda: screen.reads >= 1)
    now = NOW.timestamp()
    daemons = [
        Daemon("a", "newsroom-1", 7001, "Analyst One", 4101, now - 900, now - 2, None, 5, True),
        Daemon("b", "newsroom-2", 7002, "Analyst Two", 4102, now - 800, now - 1, None, 4, True),
        Daemon("c", "laptop.example.org", 7003, "Field Reporter", 9913, now - 700, now - 95,
               None, 0, False),
        Daemon("d", "newsroom-1", 7001, "Analyst One", 3999, now - 9000, now - 8000,
               now - 8000, 0, False),
    ]  # fmt: skip
    pool = Pool(
        daemons=daemons,
        leases={
            "username:rafidain_watch": Lease("username:rafidain_watch", "poll", "b", 7002, now + 28)
        },
        roles=[Role("anchor", "a", now + 29), Role("webhooks", "a", now + 29)],
        now=now,
    )
    screen.selected = ("username:rafidain_watch", "مرصد الرافدين")
    screen.post_message(PoolRead(pool))
    await until(pilot, lambda: screen.reads >= 2)
    await pilot.pause()


def test_daemons_screen(snap_compare: Snap, dash_archive: Path) -> None:
    """`d` shows every daemon of a shared archive (host, account, pid, channels held,
    heartbeat, alive/stale/stopped, roles), who runs each role and which account
    holds the highlighted channel, readable at 100×30."""
    assert snap_compare(fixed_app(dash_archive), terminal_size=(100, 30), run_before=_daemons)
