"""The Textual dashboard: ``make_app(db_path)`` builds it on any archive.

Threading contract: the UI thread never touches SQLite. A timer asks a thread
worker to poll the archive (its own read-only connection, cheap cursor
queries from ``store.feed``); the worker reports back with past-tense
messages (``ActivityArrived``, ``StatusRefreshed``), which the UI renders.
Start-up does no query at all before the first frame.

The banner (one line under the header) says when the archive is not being
updated: no daemon ever wrote to it, the daemon stopped, or its heartbeat is
stale. A launcher that has just started a daemon (``telewatch demo``) passes
``DaemonLaunch``: until that daemon's first heartbeat the banner says it is
starting, and says so honestly if the process exits first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.message import Message
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Header, Static

from telewatch.dashboard.panels import AlertsPanel, ChannelsPanel, FeedPanel, alerts_width
from telewatch.dashboard.screens import HelpScreen, PostScreen, SearchScreen
from telewatch.models import UserError
from telewatch.store import media as media_store
from telewatch.store.db import Connection, DatabaseError, hold_open
from telewatch.store.feed import (
    AlertCounter,
    AlertHit,
    ChannelRow,
    Cursor,
    FeedItem,
    activity_since,
    alert_counters,
    alert_hits,
    channel_rows,
    heartbeat,
    open_reader,
    recent_activity,
)
from telewatch.store.status import STALE_AFTER, DaemonStatus

Clock = Callable[[], datetime]

CSS = """
Screen { layout: vertical; }
#banner { display: none; height: 1; background: $error; color: $text; text-style: bold; padding: 0 1; }
#banner.stale { display: block; }
#banner.starting { display: block; background: $warning; }
#top { height: 14; }
ChannelsPanel, AlertsPanel, FeedPanel {
    scrollbar-gutter: stable; scrollbar-size-vertical: 1; overflow-x: hidden;
}
ChannelsPanel { width: 1fr; height: 100%; border: round $primary; }
AlertsPanel { width: 32; height: 100%; border: round $secondary; }
FeedPanel { height: 1fr; border: round $accent; }
DataTable:focus { border: round $success; }
#post-scroll { padding: 0 1; }
#search-filters { height: 3; }
#search-filters Input { width: 1fr; }
#search-status { height: 1; padding: 0 1; }
#search-results { height: 1fr; }
HelpScreen { align: center middle; }
#help-body { width: 96; max-width: 100%; height: auto; max-height: 100%;
             border: round $primary; padding: 0 1; background: $surface; }
#help-text { width: auto; height: auto; }
#daemons { border: round $primary; padding: 0 1; }
"""


@dataclass(frozen=True)
class DaemonLaunch:
    """A daemon the caller has just started for this archive (``telewatch demo`` does):
    its pid, a check that the process still runs, and where it logs."""

    pid: int
    running: Callable[[], bool]
    log: Path | None = None
    started_at: datetime | None = None


STARTING_PATIENCE = 60.0
"""Seconds a launched daemon may take to write its first heartbeat before the banner
stops saying "starting" and says it has not written yet."""


@dataclass
class ActivityArrived(Message):
    """New archived changes (oldest first) and the cursor after them."""

    items: list[FeedItem]
    cursor: Cursor


@dataclass
class StatusRefreshed(Message):
    """Fresh channel rows, heartbeat and alert counters."""

    channels: list[ChannelRow]
    heartbeat: DaemonStatus | None
    counters: list[AlertCounter]
    hits: list[AlertHit]


@dataclass
class ReadFailed(Message):
    """Reading the archive failed (``error`` is one line); the next poll retries."""

    error: str


class TelewatchApp(App[int]):
    """The live dashboard of one archive (read-only)."""

    TITLE = "telewatch"
    CSS = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Keys"),
        Binding("slash", "search", "Search"),
        Binding("p", "toggle_follow", "Pause feed"),
        Binding("d", "daemons", "Daemons"),
    ]

    def __init__(
        self,
        db_path: Path,
        *,
        poll_interval: float = 0.5,
        status_interval: float = 2.0,
        clock: Clock | None = None,
        live: bool = True,
        title: str | None = None,
        launch: DaemonLaunch | None = None,
        media_root: Path | None = None,
        lease_ttl: float = 30.0,
    ) -> None:
        super().__init__()
        # [daemon] lease_ttl: a daemon silent longer shows as stale (daemons screen).
        self.lease_ttl = lease_ttl
        self.launch = launch
        self.db_path = db_path
        # The media store (post detail's `o` opens files from it).
        # None: a PostgreSQL archive without [media] root (nothing to open).
        self.media_root = media_store.optional_root(db_path, media_root)
        self.poll_interval = poll_interval
        self.status_interval = status_interval
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.live = live
        self.cursor: Cursor | None = None
        self.channels: list[ChannelRow] = []
        self.heartbeat_row: DaemonStatus | None = None
        self.polls = 0
        self.status_refreshes = 0
        self.read_error: str | None = None
        self._poll_lock = threading.Lock()
        self._status_lock = threading.Lock()
        self._presence: Connection | None = None
        self.archive_name = title or str(db_path)
        self.sub_title = self.archive_name

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A fresh read-only connection for one worker job (closed afterwards)."""
        conn = open_reader(self.db_path)
        try:
            yield conn
        finally:
            conn.close()

    def compose(self) -> ComposeResult:
        """Banner, channels + alerts, live feed, key footer."""
        # No local-time clock: every time on screen is UTC, and the sub-title says the time.
        yield Header()
        yield Static("", id="banner")
        with Vertical():
            with Horizontal(id="top"):
                yield ChannelsPanel(id="channels")
                yield AlertsPanel(id="alerts")
            yield FeedPanel(id="feed")
        yield Footer()

    def on_mount(self) -> None:
        """Start polling; the first poll runs at once in a worker."""
        if self.live:
            # Keep one connection open (after one read) while the dashboard
            # runs: a `telewatch import` started meanwhile then sees the
            # archive in use and stays in WAL mode beside us, instead of
            # taking the archive for itself (bulk mode) and leaving every
            # poll waiting on a lock until it finishes.
            try:
                self._presence = hold_open(self.db_path)
            except (DatabaseError, UserError):
                self._presence = None  # polls will say what is wrong
        self.query_one(FeedPanel).focus()
        self._layout()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._clock_title(self.clock())
        self._banner(self.clock())  # "starting…" from the first frame when a daemon was launched
        self.poll_activity()
        self.refresh_status()
        if self.live:
            self.set_interval(self.poll_interval, self.poll_activity)
            self.set_interval(self.status_interval, self.refresh_status)
            self.set_interval(1.0, self._tick)

    def on_unmount(self) -> None:
        """Close the connection kept open while running."""
        if self._presence is not None:
            self._presence.close()
            self._presence = None

    # -- workers -------------------------------------------------------------

    @work(thread=True, group="poll")
    def poll_activity(self) -> None:
        """Read changes since the cursor (skipped while a previous poll is still running)."""
        if not self._poll_lock.acquire(blocking=False):
            return
        try:
            with self.reader() as conn:
                if self.cursor is None:
                    items, cursor = recent_activity(conn, limit=300)
                else:
                    items, cursor = activity_since(conn, self.cursor, limit=1000)
            self.cursor = cursor
            self.post_message(ActivityArrived(items, cursor))
        except (DatabaseError, UserError) as err:
            # A busy or vanished archive must not kill the dashboard: say so, retry next tick.
            self.post_message(ReadFailed(str(err)))
        finally:
            self._poll_lock.release()

    @work(thread=True, group="status")
    def refresh_status(self) -> None:
        """Read channel rows, the heartbeat and alert counters."""
        if not self._status_lock.acquire(blocking=False):
            return
        try:
            now = self.clock()
            with self.reader() as conn:
                message = StatusRefreshed(
                    channels=channel_rows(conn, now),
                    heartbeat=heartbeat(conn, now),
                    counters=alert_counters(conn),
                    hits=alert_hits(conn, limit=20),
                )
            self.post_message(message)
        except (DatabaseError, UserError) as err:
            self.post_message(ReadFailed(str(err)))
        finally:
            self._status_lock.release()

    # -- messages ------------------------------------------------------------

    def on_activity_arrived(self, message: ActivityArrived) -> None:
        """Append the changes to the feed."""
        self.polls += 1
        if message.items:
            self.query_one(FeedPanel).add_items(message.items, self.clock())

    def on_read_failed(self, message: ReadFailed) -> None:
        """Show the error in the banner until a read succeeds again."""
        self.read_error = message.error
        banner = self.query_one("#banner", Static)
        banner.update(f"⚠ cannot read the archive: {message.error}")
        banner.add_class("stale")

    def on_status_refreshed(self, message: StatusRefreshed) -> None:
        """Redraw channels, alerts and the stale-heartbeat banner."""
        now = self.clock()
        self.status_refreshes += 1
        self.read_error = None
        self.channels = message.channels
        self.heartbeat_row = message.heartbeat
        self.query_one(ChannelsPanel).show(message.channels, now)
        self.query_one(AlertsPanel).show(message.counters, message.hits, now)
        self._banner(now)

    def _launch_banner(self, now: datetime) -> str | None:
        """While the launched daemon has not beaten yet: what to say about it, or None
        when there is no launched daemon or it has written its first heartbeat."""
        launch = self.launch
        hb = self.heartbeat_row
        if launch is None or (hb is not None and hb.pid == launch.pid):
            return None
        log = f" — see {launch.log}" if launch.log is not None else ""
        if not launch.running():
            return f"⚠ the daemon (pid {launch.pid}) exited before writing to the archive{log}"
        waited = (now - launch.started_at).total_seconds() if launch.started_at else 0.0
        if waited > STARTING_PATIENCE:
            return (
                f"⚠ the daemon (pid {launch.pid}) started {int(waited)}s ago and has not "
                f"written to the archive yet{log}"
            )
        return f"⏳ starting the daemon (pid {launch.pid})… channels appear as it reports them"

    def _banner(self, now: datetime) -> None:
        if self.read_error is not None:
            return  # the read error stays up until a refresh succeeds
        banner = self.query_one("#banner", Static)
        hb = self.heartbeat_row
        launched = self._launch_banner(now)
        if launched is None and self.status_refreshes == 0:
            return  # nothing read yet: no heartbeat is not yet "no daemon"
        banner.set_class(launched is not None and launched.startswith("⏳"), "starting")
        if launched is not None:
            banner.update(launched)
            banner.set_class(not launched.startswith("⏳"), "stale")
        elif hb is None:
            banner.update("⚠ no daemon has written to this archive yet — start `telewatch run`")
            banner.add_class("stale")
        elif hb.stopped:
            banner.update(
                f"⚠ the daemon stopped at {hb.beat_at:%Y-%m-%d %H:%M:%S} UTC — "
                "the archive is not being updated"
            )
            banner.add_class("stale")
        elif (now - hb.beat_at).total_seconds() > STALE_AFTER:
            seconds = int((now - hb.beat_at).total_seconds())
            banner.update(
                f"⚠ daemon heartbeat is stale: last beat {seconds}s ago (pid {hb.pid}) — "
                "the archive is not being updated"
            )
            banner.add_class("stale")
        else:
            banner.update("")
            banner.remove_class("stale")

    def _tick(self) -> None:
        # Flood-wait countdowns and ages move every second without a query.
        now = self.clock()
        try:
            if self.channels:
                self.query_one(ChannelsPanel).show(self.channels, now)
            self._banner(now)
        except NoMatches:
            return  # the app is closing: its widgets are gone before its timers
        self._clock_title(now)

    def _clock_title(self, now: datetime) -> None:
        self.sub_title = f"{self.archive_name} · {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"

    def on_resize(self, event: Resize) -> None:
        """Size the panels' columns for the new terminal width."""
        self._layout()

    def _layout(self) -> None:
        self.query_one(AlertsPanel).styles.width = alerts_width(self.size.width)
        for panel in (ChannelsPanel, AlertsPanel, FeedPanel):
            self.query_one(panel).relayout()

    def _theme_changed(self, theme: Theme) -> None:
        # Cell colours come from the theme (panels.Palette): redraw them in the new one.
        self._layout()

    @property
    def loaded(self) -> bool:
        """True once the first activity poll and status refresh have been shown."""
        return self.polls > 0 and self.status_refreshes > 0

    # -- actions -------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen())

    def action_daemons(self) -> None:
        """Open the daemons screen, naming the highlighted channel."""
        from telewatch.dashboard.daemons import DaemonsScreen

        key = self.query_one(ChannelsPanel).selected_key()
        names = {r.key: r.name for r in self.channels}
        self.push_screen(DaemonsScreen(None if key is None else (key, names.get(key, key))))

    def action_search(self) -> None:
        """Open the search screen."""
        self.push_screen(SearchScreen())

    def action_toggle_follow(self) -> None:
        """Pause or resume the live feed."""
        self.query_one(FeedPanel).action_toggle_follow()

    @on(DataTable.RowSelected, "#feed")
    def _open_feed_row(self, event: DataTable.RowSelected) -> None:
        item = self.query_one(FeedPanel).items.get(event.row_key.value or "")
        if item is not None:
            self.push_screen(PostScreen(item.channel_id, item.message_id))

    @on(DataTable.RowSelected, "#alerts")
    def _open_alert_row(self, event: DataTable.RowSelected) -> None:
        hit = self.query_one(AlertsPanel).hits.get(event.row_key.value or "")
        if hit is not None:
            self.push_screen(PostScreen(hit.channel_id, hit.message_id))


def make_app(
    db_path: Path,
    *,
    poll_interval: float = 0.5,
    status_interval: float = 2.0,
    clock: Clock | None = None,
    live: bool = True,
    title: str | None = None,
    launch: DaemonLaunch | None = None,
    media_root: Path | None = None,
    lease_ttl: float = 30.0,
) -> TelewatchApp:
    """Build the dashboard for the archive at ``db_path``.

    ``clock`` fixes "now" (snapshot tests); ``live=False`` reads once and never
    polls again (deterministic screenshots); ``launch`` names a daemon the caller has
    just started (the banner says "starting…" until it writes); ``media_root`` is the
    media store (``[media] root``; default ``media/`` beside the archive); ``lease_ttl``
    (``[daemon] lease_ttl``) tells alive daemons from stale ones. Raises UserError when
    there is no archive at ``db_path``."""
    open_reader(db_path).close()  # raises the UserError naming a missing or foreign archive
    return TelewatchApp(
        db_path,
        poll_interval=poll_interval,
        status_interval=status_interval,
        clock=clock,
        live=live,
        title=title,
        launch=launch,
        media_root=media_root,
        lease_ttl=lease_ttl,
    )


_SVG_VISUAL_ORDER = "text { direction: ltr; unicode-bidi: bidi-override; }\n"


def screenshot_svg(app: App[int], title: str = "telewatch dash") -> str:
    """The app's screen as SVG for documents. Lines are already in visual order (see
    ``rtl``); a browser would apply the bidi algorithm a second time and reverse Arabic
    and Persian again, so the SVG tells it to draw every text run as given."""
    svg = app.export_screenshot(title=title)
    return svg.replace("<style>\n", "<style>\n" + _SVG_VISUAL_ORDER, 1)
