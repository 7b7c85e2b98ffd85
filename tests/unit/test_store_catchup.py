"""Catch-up state in the archive (schema 3): pts with its events, the full
sweep's progress, and the request log that budgets resume from."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from telewatch.models import (
    DifferenceApplied,
    Event,
    PostDeleted,
    RequestsSent,
    SweepProgressed,
)
from telewatch.store import sync
from telewatch.store.alerts import compile_rules
from telewatch.store.db import connect
from telewatch.store.status import channel_statuses
from telewatch.store.writer import BatchStats, apply_events
from tests.fixtures.store import T0, post_seen

CH = 1500000001


def _apply(path: Path, events: list[Event]) -> BatchStats:
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, events, compile_rules([]))
    conn.execute("COMMIT")
    conn.close()
    return stats


def _read(path: Path) -> sqlite3.Connection:
    return connect(path)


def test_difference_writes_its_events_and_pts_together(archive: Path) -> None:
    """A DifferenceApplied writes its posts and deletions and the pts in the
    same transaction; rolled back, neither the posts nor the pts remain."""
    evs: tuple[Event, ...] = (
        post_seen(CH, 1, "one"),
        post_seen(CH, 2, "two"),
        PostDeleted(CH, 1, T0, "event"),
    )
    conn = connect(archive, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, [DifferenceApplied(CH, 40, evs)], compile_rules([]))
    conn.execute("ROLLBACK")
    conn.close()
    r = _read(archive)
    assert sync.channel_pts(r, CH) is None
    assert r.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    r.close()

    stats = _apply(archive, [DifferenceApplied(CH, 40, evs)])
    assert stats.deletions == 1 and stats.errors == 0
    r = _read(archive)
    saved = sync.channel_pts(r, CH)
    assert saved is not None and saved[0] == 40
    assert r.execute("SELECT count(*) FROM posts").fetchone()[0] == 2
    assert r.execute("SELECT count(*) FROM deletions").fetchone()[0] == 1
    r.close()


def test_pts_never_goes_back_and_a_bad_event_keeps_the_rest(archive: Path) -> None:
    """A lower pts never replaces a higher one; a malformed event inside a
    difference is counted and skipped while its other events and pts are kept."""
    _apply(archive, [DifferenceApplied(CH, 50, ())])
    bad = PostDeleted(CH, 7, T0, "nonsense")  # type: ignore[arg-type]
    stats = _apply(archive, [DifferenceApplied(CH, 30, (post_seen(CH, 3, "three"), bad))])
    assert stats.errors == 1
    r = _read(archive)
    saved = sync.channel_pts(r, CH)
    assert saved is not None and saved[0] == 50
    assert r.execute("SELECT count(*) FROM posts").fetchone()[0] == 1
    r.close()
    _apply(archive, [DifferenceApplied(CH, 60, ())])
    r = _read(archive)
    saved = sync.channel_pts(r, CH)
    assert saved is not None and saved[0] == 60
    r.close()


def test_sweep_batches_go_newest_first_and_passes_are_counted(archive: Path) -> None:
    """sweep_batch pages down through live posts below the cursor; a done
    pass resets the cursor, counts the pass and shows in the status rows."""
    events: list[Event] = [post_seen(CH, i, f"p{i}") for i in range(1, 251)]
    events.append(PostDeleted(CH, 200, T0, "reconcile"))
    _apply(archive, events)
    r = _read(archive)
    first = sync.sweep_batch(r, CH, None)
    assert first[0] == 250 and len(first) == 100 and 200 not in first
    second = sync.sweep_batch(r, CH, min(first))
    assert second[0] == min(first) - 1
    r.close()
    _apply(archive, [SweepProgressed(CH, min(first), 100, False)])
    r = _read(archive)
    st = sync.sweep_states(r)[CH]
    assert st.cursor == min(first) and st.checked == 100 and st.pass_started is not None
    r.close()
    _apply(archive, [SweepProgressed(CH, None, 249, True)])
    r = _read(archive)
    st = sync.sweep_states(r)[CH]
    assert st.cursor is None and st.passes == 1 and st.last_pass_at is not None
    r.close()


def test_status_rows_report_sweep_progress(archive: Path) -> None:
    """channel_statuses shows how far the current sweep pass is for a watched channel."""
    _apply(archive, [post_seen(CH, i, f"p{i}") for i in range(1, 201)])
    _apply(archive, [SweepProgressed(CH, 101, 100, False)])
    w = connect(archive, readonly=False)
    w.execute(
        "INSERT INTO watchlist(key, channel_id, mode, backfill, origin, added_at)"
        " VALUES (?, ?, 'join', 'all', 'cli', '2024-01-01T00:00:00Z')",
        (f"id:{CH}", CH),
    )
    w.close()
    r = _read(archive)
    row = next(x for x in channel_statuses(r) if x.channel_id == CH)
    r.close()
    assert row.sweep_checked == 100 and row.sweep_total == 200
    assert row.sweep_progress == 0.5


def test_request_log_is_kept_an_hour_and_read_back_by_method(archive: Path) -> None:
    """Logged requests come back by method; rows older than an hour are pruned."""
    now = time.time()
    _apply(archive, [RequestsSent((("a", now - 7200), ("a", now - 10)))])
    _apply(archive, [RequestsSent((("a", now - 5), ("b", now - 1)))])
    r = _read(archive)
    got = sync.recent_requests(r, 0)
    n = r.execute("SELECT count(*) FROM request_log").fetchone()[0]
    r.close()
    assert got == {"a": [now - 10, now - 5], "b": [now - 1]}
    assert n == 3


def test_dashboard_backfill_cell_shows_the_sweep_pass(archive: Path) -> None:
    """The channels panel's backfill cell reads 'done · sweep 50%' for a
    backfilled channel whose sweep is half through, plain 'done' before any sweep."""
    from telewatch.dashboard.panels import Palette, backfill_text
    from telewatch.models import BackfillProgressed
    from telewatch.store.feed import ChannelRow

    _apply(archive, [post_seen(CH, i, f"p{i}") for i in range(1, 201)])
    _apply(archive, [BackfillProgressed(CH, 1, True, 200)])
    w = connect(archive, readonly=False)
    w.execute(
        "INSERT INTO watchlist(key, channel_id, mode, backfill, origin, added_at)"
        " VALUES (?, ?, 'join', 'all', 'cli', '2024-01-01T00:00:00Z')",
        (f"id:{CH}", CH),
    )
    w.close()

    def cell() -> str:
        r = _read(archive)
        row = next(x for x in channel_statuses(r) if x.channel_id == CH)
        r.close()
        return backfill_text(ChannelRow(row, (0,) * 24), 20, Palette.plain()).plain

    assert cell() == "done"
    _apply(archive, [SweepProgressed(CH, 101, 100, False)])
    assert cell() == "done · sweep 50%"
