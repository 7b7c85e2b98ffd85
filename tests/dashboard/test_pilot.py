"""Behaviour of the dashboard driven through Textual's pilot: keys, opening posts,
copying links, the stale-daemon banner, and live updates while a writer archives."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.widgets import Static

from telewatch.dashboard.app import DaemonLaunch, TelewatchApp, make_app, screenshot_svg
from telewatch.dashboard.panels import AlertsPanel, ChannelsPanel, FeedPanel
from telewatch.dashboard.rtl import visual
from telewatch.dashboard.screens import HelpScreen, PostScreen, SearchScreen
from telewatch.models import DaemonHeartbeat, Post, PostDeleted, PostSeen
from telewatch.store.db import migrate
from telewatch.store.writer import Writer
from tests.dashboard.helpers import fixed_app, until
from tests.fixtures.dashboard import AR, EN, NOW, RU, RULES


async def test_help_search_and_quit_keys(dash_archive: Path) -> None:
    """`?` shows the keys, `/` opens search, escape goes back, `q` quits with status 0."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, SearchScreen | HelpScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_enter_opens_post_and_y_copies_link(dash_archive: Path) -> None:
    """Enter on a feed row opens that post's history; `y` copies its t.me link."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        feed = app.query_one(FeedPanel)
        last = feed.selected_item()
        assert last is not None and last.kind == "delete" and last.message_id == 403
        await pilot.press("up", "up")  # the Arabic post's edit (v2 of #103)
        item = feed.selected_item()
        assert item is not None and (item.channel_id, item.message_id) == (AR, 103)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, PostScreen)
        await until(pilot, lambda: screen.post is not None)
        assert screen.post is not None and len(screen.post.versions) == 2
        await pilot.press("y")
        assert app.clipboard == "https://t.me/rafidain_watch/103"
        await pilot.press("escape")
        assert not isinstance(app.screen, PostScreen)


async def test_pause_stops_following(dash_archive: Path) -> None:
    """`p` pauses the feed (the panel says so) and `p` again resumes following."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        feed = app.query_one(FeedPanel)
        await pilot.press("p")
        assert not feed.follow and "paused" in str(feed.border_subtitle)
        await pilot.press("p")
        assert feed.follow and not feed.border_subtitle


async def test_panels_show_states_and_alert_counters(dash_archive: Path) -> None:
    """Channels show the daemon's states (with a flood-wait countdown) and alerts count hits."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        channels = app.query_one(ChannelsPanel)
        states = {
            str(channels.get_cell(r.key, "name")).strip(): str(channels.get_cell(r.key, "state"))
            for r in app.channels
        }
        assert states["Вести Полесья"] == "backfilling"
        assert states["Harbour Monitor"] == "polling"
        assert states[visual("خبر فوری")] == "flood-wait 1m35s"
        alerts = app.query_one(AlertsPanel)
        assert str(alerts.get_cell("rule:watched-post", "n")) == "1 ●0 ✎1 ✖0"
        assert str(alerts.get_cell("rule:port", "n")) == "7 ●5 ✎1 ✖1"


async def test_stale_heartbeat_banner(dash_archive: Path) -> None:
    """When the daemon's last heartbeat is old, a banner says the archive is not updated."""
    fresh = fixed_app(dash_archive)
    async with fresh.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: fresh.loaded)
        assert not fresh.query_one("#banner").has_class("stale")
    later = make_app(dash_archive, clock=lambda: NOW + timedelta(minutes=5), live=False)
    async with later.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: later.loaded)
        banner = later.query_one("#banner")
        assert banner.has_class("stale")
        assert "stale" in str(banner.render())


async def test_live_feed_follows_the_writer(dash_archive: Path) -> None:
    """Posts, an edit and a deletion written while the dashboard runs appear in the feed."""
    app = fixed_app(dash_archive, live=True, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        feed = app.query_one(FeedPanel)
        before = feed.row_count
        at = NOW + timedelta(seconds=30)
        async with Writer(dash_archive, rules=RULES) as writer:
            for i in range(50):
                post = Post(channel_id=RU, message_id=500 + i, date=at, text=f"сводка номер {i}")
                await writer.put(PostSeen(post, seen_at=at))
            edited = Post(channel_id=RU, message_id=500, date=at, text="сводка номер 0, уточнено")
            await writer.put(PostSeen(edited, seen_at=at + timedelta(seconds=1)))
            await writer.put(PostDeleted(EN, 402, at + timedelta(seconds=2), "event"))
            await writer.flush()
        await until(pilot, lambda: feed.row_count == before + 52)
        kinds = [feed.items[k].kind for k in list(feed.items)[-3:]]
        assert kinds == ["new", "edit", "delete"]
        assert feed.selected_item() is not None
        assert feed.selected_item().message_id == 402  # type: ignore[union-attr]
        # The post's earlier "new" row is struck through once it is deleted.
        first = next(k for k, i in feed.items.items() if i.message_id == 402 and i.kind == "new")
        cell = feed.get_cell(first, "text")
        assert any("strike" in str(span.style) for span in cell.spans)  # type: ignore[union-attr]


async def test_mouse_click_opens_a_post(dash_archive: Path) -> None:
    """Clicking a feed row highlights it; clicking it again opens the post."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        feed = app.query_one(FeedPanel)
        # Row 1 of the table body (below the header) is the oldest change: Russian post 301.
        await pilot.click(FeedPanel, offset=(60, 2))
        item = feed.selected_item()
        assert item is not None and item.message_id == 301
        await pilot.click(FeedPanel, offset=(60, 2))
        screen = app.screen
        assert isinstance(screen, PostScreen) and screen.message_id == 301


async def test_unreadable_archive_shows_a_banner_and_keeps_running(dash_archive: Path) -> None:
    """If the archive disappears while the dashboard runs, a banner says so; q still quits."""
    app = fixed_app(dash_archive, live=True, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dash_archive}{suffix}").unlink(missing_ok=True)
        await until(pilot, lambda: app.read_error is not None)
        banner = app.query_one("#banner")
        assert "cannot read the archive" in str(banner.render())
        await pilot.press("q")
    assert app.return_code == 0


async def test_search_filters_by_channel_and_date(dash_archive: Path) -> None:
    """Results follow the query as typed; the channel and date boxes narrow them, and a
    bad date is reported in the status line instead of crashing."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("slash")
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        await pilot.press(*"ميناء")
        await until(pilot, lambda: screen.finished_query == "ميناء" and len(screen.hits) == 3)
        await pilot.press("tab", *"rafidain_watch")
        await until(pilot, lambda: len(screen.hits) == 2)
        assert {h.channel_id for h in screen.hits.values()} == {AR}
        await pilot.press("tab", *"2026-11-25")
        await until(pilot, lambda: len(screen.hits) == 2)
        await pilot.press("tab", *"2026-11-25T11:00:00Z")
        await until(pilot, lambda: [h.message_id for h in screen.hits.values()] == [102])
        await pilot.press("backspace", "backspace", "backspace", "x")
        await until(pilot, lambda: screen.hits == {})
        assert "is not a date" in str(screen.query_one("#search-status").render())


async def test_screenshot_svg_keeps_visual_order(dash_archive: Path) -> None:
    """The SVG for documents holds Arabic in visual order and tells viewers not to reorder."""
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        svg = screenshot_svg(app)
    assert "unicode-bidi: bidi-override" in svg
    assert visual("مرصد الرافدين").replace(" ", "&#160;") in svg


async def test_an_import_while_the_dashboard_runs_shares_the_archive(
    dash_archive: Path, tmp_path: Path, import_journal_modes: list[str]
) -> None:
    """With the dashboard open, `telewatch import` stays in WAL mode (it does
    not take the archive for itself) and the imported posts appear live."""
    import json

    from telewatch.sources.desktop_export import import_paths

    app = fixed_app(dash_archive, live=True, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        feed = app.query_one(FeedPanel)
        before = feed.row_count
        msgs = [
            {"id": i, "type": "message", "date_unixtime": str(1646120520 + i), "date": "",
             "text": f"imported {i}"}
            for i in range(1, 4)
        ]  # fmt: skip
        export = tmp_path / "result.json"
        doc = {"name": "Imported", "type": "public_channel", "id": 1700000077, "messages": msgs}
        export.write_text(json.dumps(doc), encoding="utf-8")
        import_paths(dash_archive, [export])
        assert import_journal_modes == ["wal"]
        await until(pilot, lambda: feed.row_count == before + 3)


def _banner_text(app: TelewatchApp) -> str:
    return str(app.query_one("#banner", Static).render())


async def test_no_daemon_banner_without_a_launched_daemon(tmp_path: Path) -> None:
    """`telewatch dash` on an archive no daemon ever wrote to says so and how to start one."""
    db = tmp_path / "empty.db"
    migrate(db)
    app = make_app(db, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        assert "no daemon has written to this archive yet" in _banner_text(app)
        assert "telewatch run" in _banner_text(app)


async def test_launched_daemon_is_starting_until_it_beats(tmp_path: Path) -> None:
    """With a daemon launched beside it (the demo), the banner says "starting…" from the
    first frame, then goes away at that daemon's first heartbeat."""
    db = tmp_path / "archive.db"
    migrate(db)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        launch = DaemonLaunch(pid=proc.pid, running=lambda: proc.poll() is None)
        app = make_app(db, live=True, poll_interval=0.1, status_interval=0.1, launch=launch)
        async with app.run_test(size=(120, 40)) as pilot:
            assert "starting the daemon" in _banner_text(app)  # before any read
            await until(pilot, lambda: app.loaded)
            assert "starting the daemon" in _banner_text(app)
            assert "no daemon" not in _banner_text(app)
            now = datetime.now(UTC).replace(microsecond=0)
            async with Writer(db) as writer:
                await writer.put(DaemonHeartbeat(proc.pid, "0.1.0", now, now, ()))
                await writer.flush()
            banner = app.query_one("#banner", Static)
            await until(pilot, lambda: not banner.has_class("starting"))
            assert not banner.has_class("stale") and _banner_text(app) == ""
    finally:
        proc.kill()
        proc.wait()


async def test_launched_daemon_that_exits_first_is_reported(tmp_path: Path) -> None:
    """A launched daemon that exits before its first heartbeat: the banner says it exited
    and where its log is, instead of "starting…" forever."""
    db = tmp_path / "archive.db"
    migrate(db)
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    launch = DaemonLaunch(
        pid=proc.pid, running=lambda: proc.poll() is None, log=tmp_path / "daemon.log"
    )
    app = make_app(db, live=False, launch=launch)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        text = _banner_text(app)
        assert f"the daemon (pid {proc.pid}) exited before writing" in text
        assert str(tmp_path / "daemon.log") in text
        assert app.query_one("#banner").has_class("stale")


async def test_control_and_bidi_override_characters_never_reach_the_screen(
    dash_archive: Path,
) -> None:
    """Archived text with ESC sequences and a right-to-left override is shown as visible
    symbols (text.printable), never obeyed, in the feed and in the post detail (which says so)."""
    hostile = "ok \x1b]0;pwned\x07 \x1b[31mred \u202eevil\u202c end"
    async with Writer(dash_archive, rules=RULES) as writer:
        await writer.put(PostSeen(Post(channel_id=EN, message_id=900, date=NOW, text=hostile), NOW))
        await writer.flush()
    app = fixed_app(dash_archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        screen_text = "".join(
            s.text for strip in app.screen._compositor.render_strips() for s in strip
        )
        assert "ok ␛]0;pwned␇ ␛[31mred <U+202E>evil<U+202C> end" in screen_text
        screen = PostScreen(EN, 900)
        await app.push_screen(screen)
        await until(pilot, lambda: screen.post is not None)
        await pilot.pause()
        detail = "".join(s.text for strip in app.screen._compositor.render_strips() for s in strip)
        assert "control or bidi-override characters" in detail
    for text in (screen_text, detail):
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
