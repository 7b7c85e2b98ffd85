"""apply_events' batch plan (store/writer.py): bookkeeping after content,
ranges merged per channel, statuses coalesced per key, channels before the posts of their stretch.

The live path puts, per pushed post, the post, its range and soon after the
channel's difference (its channel and the post again). Applied in one run
instead of one savepoint per post, the batch must leave exactly the archive
that applying the same events one transaction each leaves, on both backends.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from telewatch.models import (
    Channel,
    ChannelSeen,
    ChannelStatusChanged,
    DifferenceApplied,
    Event,
    PostSeen,
    RangeArchived,
)
from telewatch.store.chain import verify
from telewatch.store.db import connect, migrate
from telewatch.store.writer import BatchStats, apply_events, prepare_posts
from tests.fixtures.store import T0, post_seen

CHANNELS = [1500000001 + k for k in range(6)]


def _live_batch(rounds: int = 3) -> list[Event]:
    evs: list[Event] = []
    for r in range(rounds):
        for k, cid in enumerate(CHANNELS):
            mid = 10 + r
            p = post_seen(cid, mid, f"live {r} from channel {k}")
            ch = Channel(cid, f"Channel {k}", f"chan_{k}")
            evs += [
                p,
                RangeArchived(cid, mid, mid),
                DifferenceApplied(cid, 100 + r, (ChannelSeen(ch, T0), p)),
                ChannelStatusChanged(f"chan_{k}", cid, "live", None, T0),
                # A status without a channel id keeps the stored one; the
                # key's last status wins.
                ChannelStatusChanged(f"chan_{k}", None, "polling", f"round {r}", T0),
            ]
        evs.append(ChannelStatusChanged(f"pending_{r}", None, "resolving", None, T0))
    return evs


def _archive(target: str) -> Path:
    path = Path(target)
    migrate(path)
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    setup: list[Event] = []
    for k, cid in enumerate(CHANNELS):
        setup.append(ChannelSeen(Channel(cid, f"Channel {k}", f"chan_{k}"), T0))
        setup += [post_seen(cid, m, f"old {m}") for m in range(1, 10)]
        setup.append(RangeArchived(cid, 1, 9))
    apply_events(conn, setup, ())
    conn.execute("COMMIT")
    conn.close()
    return path


def _apply(path: Path, evs: list[Event], one_by_one: bool) -> BatchStats:
    conn = connect(path, readonly=False)
    total = BatchStats()
    for group in ([e] for e in evs) if one_by_one else [evs]:
        conn.execute("BEGIN IMMEDIATE")
        total.merge(apply_events(conn, group, ()))
        conn.execute("COMMIT")
    conn.close()
    return total


def _state(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = connect(path)
    try:
        q = {
            "posts": "SELECT channel_id, message_id, text FROM posts",
            "versions": "SELECT channel_id, message_id, version_no, content_hash FROM post_versions",
            "ranges": "SELECT channel_id, lo_id, hi_id FROM sync_ranges",
            "pts": "SELECT channel_id, pts FROM channel_pts",
            "channels": "SELECT id, username, title FROM channels",
            "status": "SELECT key, channel_id, state, detail, changed_at FROM channel_status",
            "chain": "SELECT kind, count(*) FROM chain GROUP BY kind",
        }
        out = {k: sorted(tuple(r) for r in conn.execute(sql)) for k, sql in q.items()}
        assert verify(conn).ok
        return out
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_archives(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    if request.param == "sqlite":
        return _archive(str(tmp_path / "a.db")), _archive(str(tmp_path / "b.db"))
    url = request.getfixturevalue("pg_url")
    cluster = request.getfixturevalue("pg_cluster")
    return _archive(url), _archive(cluster.create_database("b"))


def test_a_live_batch_leaves_what_one_event_at_a_time_leaves(
    two_archives: tuple[Path, Path],
) -> None:
    batched, single = two_archives
    evs = _live_batch()
    st = _apply(batched, evs, one_by_one=False)
    one = _apply(single, evs, one_by_one=True)
    assert st.errors == one.errors == 0
    assert st.posts_new == one.posts_new == 3 * len(CHANNELS)
    assert st.versions == one.versions
    got = _state(batched)
    assert got == _state(single)
    assert got["ranges"] == [(cid, 1, 12) for cid in CHANNELS]
    assert got["pts"] == [(cid, 102) for cid in CHANNELS]
    assert [r[:4] for r in got["status"] if str(r[0]).startswith("chan_")] == [
        (f"chan_{k}", cid, "polling", "round 2") for k, cid in enumerate(CHANNELS)
    ]


def test_a_live_batch_writes_its_posts_in_one_run(tmp_path: Path) -> None:
    """One savepoint for the batch's posts, one for all its bookkeeping
    (channels seen again, ranges, pts, statuses): not one per pushed post,
    nor one per kind (each is a round trip on PostgreSQL under the pool's
    write lock; the pool's live latency grew with them, docs/PERFORMANCE.md)."""
    path = _archive(str(tmp_path / "a.db"))
    conn = connect(path, readonly=False)
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, _live_batch(), ())
    conn.execute("COMMIT")
    conn.close()
    assert sum(s.startswith("SAVEPOINT tw_posts") for s in seen) == 1
    assert sum(s.startswith("SAVEPOINT tw_book") for s in seen) == 1
    assert not any(s.startswith(("SAVEPOINT tw_ranges", "SAVEPOINT tw_status")) for s in seen)
    # One savepoint per event left: the channels' first sightings.
    assert sum(s.startswith("SAVEPOINT tw_event") for s in seen) == len(CHANNELS)
    # The repeated, unchanged channel only moves last_seen; a sighting reads its row once.
    assert sum(s.startswith("SELECT title, username, about") for s in seen) == len(CHANNELS)
    assert not any(s.startswith("SELECT subscribers FROM channels") for s in seen)


def test_posts_prepared_before_the_transaction_leave_the_same_archive(
    two_archives: tuple[Path, Path],
) -> None:
    """The Writer prepares a batch's posts before its transaction (on a
    shared PostgreSQL archive, outside the pool's write lock): the archive is
    the one the unprepared batch leaves, a difference's posts are prepared
    too, and a malformed post is still counted once, the rest kept."""
    with_ready, without = two_archives
    evs = _live_batch()
    bad = post_seen(CHANNELS[0], 40, "naive time")
    bad = dataclasses.replace(bad, seen_at=bad.seen_at.replace(tzinfo=None))
    evs.append(bad)
    ready = prepare_posts(evs)
    posts = {id(e) for e in evs if isinstance(e, PostSeen)}
    posts |= {
        id(x) for e in evs if isinstance(e, DifferenceApplied) for x in e.events
        if isinstance(x, PostSeen)
    }  # fmt: skip
    assert set(ready) == posts - {id(bad)}
    conn = connect(with_ready, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    st = apply_events(conn, evs, (), prepared=ready)
    conn.execute("COMMIT")
    conn.close()
    plain = _apply(without, evs, one_by_one=False)
    assert st.errors == plain.errors == 1
    assert st.posts_new == plain.posts_new == 3 * len(CHANNELS)
    assert _state(with_ready) == _state(without)


def test_a_bad_range_is_counted_and_the_others_kept(two_archives: tuple[Path, Path]) -> None:
    path, _ = two_archives
    a, b = CHANNELS[0], CHANNELS[1]
    st = _apply(
        path,
        [
            RangeArchived(a, 20, 30),
            RangeArchived(b, 5, 2),
            RangeArchived(b, 10, 11),
            RangeArchived(a, 31, 31),
            RangeArchived(a, 12, 15),
        ],
        one_by_one=False,
    )
    assert st.errors == 1 and "bad range 5..2" in st.reasons[0]
    ranges = _state(path)["ranges"]
    assert [r for r in ranges if r[0] == a] == [(a, 1, 9), (a, 12, 15), (a, 20, 31)]
    assert [r for r in ranges if r[0] == b] == [(b, 1, 11)]


def test_a_lower_pts_never_replaces_a_higher_one(two_archives: tuple[Path, Path]) -> None:
    path, _ = two_archives
    cid = CHANNELS[0]
    _apply(path, [DifferenceApplied(cid, 50), DifferenceApplied(cid, 40)], one_by_one=False)
    _apply(path, [DifferenceApplied(cid, 45)], one_by_one=False)
    assert _state(path)["pts"] == [(cid, 50)]


def test_the_plan_needs_no_sqlite_specific_sql() -> None:
    """The ranges' one look-up is a VALUES join: both backends parse it."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE sync_ranges(channel_id, lo_id, hi_id)")
    from telewatch.store.sync import stored_ranges

    conn.execute("INSERT INTO sync_ranges VALUES (1, 1, 9), (1, 20, 30), (2, 1, 5)")
    assert sorted(stored_ranges(conn, {1: (10, 19), 2: (7, 8)})) == [(1, 1, 9), (1, 20, 30)]
