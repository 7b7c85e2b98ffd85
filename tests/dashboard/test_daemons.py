"""The daemons screen (key `d`) on a shared PostgreSQL archive: every daemon
(host, account, channels held, last heartbeat, alive/stale/stopped, roles) and
which account holds the channel highlighted on the main screen, read from a
real server through the same store functions as `telewatch status`, readable
at 100×30; on SQLite it says there is no pool."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

from telewatch.dashboard.app import make_app
from telewatch.dashboard.daemons import DaemonsScreen
from telewatch.dashboard.panels import ChannelsPanel
from telewatch.dashboard.rtl import visual
from telewatch.store import leases, watchlist
from telewatch.store.db import connect
from tests.dashboard.helpers import until
from tests.fixtures.dashboard import build_archive
from tests.fixtures.postgres import PostgresCluster

TTL = 4.0


def _register(conn: object, name: str, host: str, account: str, account_id: int) -> None:
    leases.register(
        conn,  # type: ignore[arg-type]
        name,
        host=host,
        account_id=account_id,
        account=account,
        pid=account_id,
        max_joined=500,
    )


def _screen_text(app: object) -> str:
    """What the terminal shows (the screenshot's text runs, in order)."""
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    runs = re.findall(r"<text [^>]*>([^<]*)</text>", svg)
    return "".join(html.unescape(r) for r in runs).replace("\xa0", " ")


async def test_d_shows_every_daemon_and_the_highlighted_channels_holder(
    pg_cluster: PostgresCluster,
) -> None:
    """Two live daemons split the watch list, a third stopped renewing (stale),
    one holds both roles: `d` (shown in the footer) lists all three with host,
    account, channels held and state, and names the account holding the
    highlighted channel; moving to another channel and back shows its holder;
    escape returns. An account name with Rich markup (`[/]`) shows as typed
    instead of breaking the screen."""
    db = build_archive(Path(pg_cluster.create_database("dashpool")))
    conn = connect(db, readonly=False)
    try:
        # A Telegram name is anyone's text: Rich markup in it shows as typed.
        _register(conn, "d-gone", "newsroom-3", "Carol [/]", 333)
        time.sleep(TTL + 0.3)  # d-gone never renews: stale
        entries = {e.key: e.mode for e in watchlist.active_entries(conn)}
        assert len(entries) >= 2
        _register(conn, "d-one", "newsroom-1", "Alice", 111)
        _register(conn, "d-two", "newsroom-2", "Bob", 222)
        for d, acct in (("d-one", 111), ("d-two", 222), ("d-one", 111), ("d-two", 222)):
            leases.renew(conn, d, acct, entries, ttl=60.0, max_joined=500)
        leases.renew_roles(conn, "d-one", {"webhooks", "anchor"}, ttl=60.0)
        holders = {lease.key: lease.account_id for lease in leases.leases(conn)}
    finally:
        conn.close()
    app = make_app(db, live=False, lease_ttl=TTL, title="pool archive")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        assert " d Daemons " in _screen_text(app)  # the footer names the key
        panel = app.query_one(ChannelsPanel)
        panel.focus()
        await pilot.pause()
        key = panel.selected_key()
        assert key is not None
        names = {r.key: r.name for r in app.channels}
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DaemonsScreen)
        await until(pilot, lambda: screen.reads >= 1)
        await pilot.pause()
        assert screen.pool is not None and screen.error is None
        text = _screen_text(app)
        for host in ("newsroom-1", "newsroom-2", "newsroom-3"):
            assert host in text
        assert "Alice (111)" in text and "Bob (222)" in text and "Carol [/] (333)" in text
        assert text.count("alive") >= 2 and "stale" in text
        assert "anchor webhooks" in text
        held = {d.account_id: d.held for d in screen.pool.daemons}
        assert held[111] + held[222] == len(entries) and held[333] == 0
        want = {111: "Alice (111)", 222: "Bob (222)"}[holders[key]]  # type: ignore[index]
        assert f"Selected channel {visual(names[key])}: held by account {want}" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, DaemonsScreen)
        # Another channel, another holder shown.
        other = next(k for k, a in holders.items() if a != holders[key])
        keys = [r.key for r in panel.shown]
        panel.move_cursor(row=keys.index(other), animate=False)
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DaemonsScreen)
        await until(pilot, lambda: screen.reads >= 1)
        await pilot.pause()
        want = {111: "Alice (111)", 222: "Bob (222)"}[holders[other]]  # type: ignore[index]
        assert f"Selected channel {visual(names[other])}: held by account {want}" in _screen_text(
            app
        )
        await pilot.press("escape")


async def test_d_on_a_sqlite_archive_says_one_daemon_archives_everything(
    dash_archive: Path,
) -> None:
    """On SQLite there is no pool: the screen says so instead of an empty table."""
    app = make_app(dash_archive, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DaemonsScreen)
        await until(pilot, lambda: screen.reads >= 1)
        await pilot.pause()
        assert screen.pool is None and screen.error is None
        assert "one daemon archives every channel" in _screen_text(app)
