"""The one write path: apply_events and the asyncio Writer."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from telewatch.models import (
    AlertRule,
    BackfillProgressed,
    Channel,
    ChannelSeen,
    ChannelStatusChanged,
    DaemonHeartbeat,
    Engagement,
    EngagementSampled,
    Entity,
    Event,
    Media,
    PostDeleted,
    RangeArchived,
)
from telewatch.store.alerts import compile_rules
from telewatch.store.chain import verify
from telewatch.store.db import connect
from telewatch.store.writer import BatchStats, Writer, apply_events
from tests.fixtures.store import T0, post_seen

CH = 1500000001


def _apply(path: Path, events: list[Event], rules: list[AlertRule] | None = None) -> BatchStats:
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, events, compile_rules(rules or []))
    conn.execute("COMMIT")
    conn.close()
    return stats


def _count(path: Path, table: str) -> int:
    conn = connect(path)
    n = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    conn.close()
    return n


def test_same_post_twice_changes_nothing(archive: Path) -> None:
    """Replaying a post (Telethon catch-up, backfill overlap) adds no version or chain record."""
    ev = post_seen(CH, 10, "first text", entities=[Entity("bold", 0, 5)])
    first = _apply(archive, [ev, ev])
    again = _apply(
        archive, [post_seen(CH, 10, "first text", entities=[Entity("bold", 0, 5)], minutes=9)]
    )
    assert (first.posts_new, first.versions) == (1, 1)
    assert (again.posts_new, again.versions) == (0, 0)
    assert _count(archive, "post_versions") == 1
    assert _count(archive, "chain") == 1


def test_changed_content_makes_a_new_version_and_post_follows(archive: Path) -> None:
    """An edit (text, entities or media) is a new version; the post row shows the latest."""
    _apply(archive, [post_seen(CH, 10, "two dead")])
    _apply(archive, [post_seen(CH, 10, "three dead", minutes=5)])
    _apply(archive, [post_seen(CH, 10, "three dead", media=Media("photo"), minutes=6)])
    conn = connect(archive)
    post = conn.execute("SELECT text, version_count, media_kind FROM posts").fetchone()
    assert tuple(post) == ("three dead", 3, "photo")
    versions = [tuple(r) for r in conn.execute("SELECT version_no, text FROM post_versions")]
    assert versions == [(1, "two dead"), (2, "three dead"), (3, "three dead")]
    # The full-text index holds the words of every version, each post once.
    for word in ("two", "three", "dead"):
        hits = conn.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", (word,))
        assert hits.fetchone()[0] == 1, word
    assert verify(conn).ok


def _index_terms(conn: sqlite3.Connection) -> dict[str, int]:
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, posts_fts, col)")
    rows = conn.execute("SELECT term, doc, cnt FROM temp.v WHERE col = 'body'").fetchall()
    return {t: (doc, cnt) for t, doc, cnt in rows}


def test_edits_replace_the_index_entry_exactly(archive: Path) -> None:
    """Across edits in one batch and in later batches (and an edit back to
    an earlier text), each post is found once by every word any of its
    versions had, counted once per distinct text, and FTS5's integrity check
    passes."""
    _apply(archive, [post_seen(CH, 10, "alpha beta"), post_seen(CH, 10, "beta gamma", minutes=1)])
    _apply(archive, [post_seen(CH, 11, "zeta")])
    _apply(archive, [post_seen(CH, 10, "gamma delta", minutes=2)])
    _apply(
        archive, [post_seen(CH, 10, "alpha beta", minutes=3), post_seen(CH, 11, "eta", minutes=3)]
    )
    conn = connect(archive, readonly=False)
    # Post 10's entry: its distinct texts "alpha beta", "beta gamma", "gamma delta".
    assert _index_terms(conn) == {
        "alpha": (1, 1), "beta": (1, 2), "gamma": (1, 2), "delta": (1, 1),
        "zeta": (1, 1), "eta": (1, 1),
    }  # fmt: skip
    for word, post in [("alpha", 10), ("delta", 10), ("zeta", 11), ("eta", 11)]:
        rows = conn.execute(
            "SELECT p.message_id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid"
            " WHERE posts_fts MATCH ?",
            (word,),
        ).fetchall()
        assert [r[0] for r in rows] == [post], word
    conn.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 0)")


def test_deletion_is_one_chained_tombstone(archive: Path) -> None:
    """A deletion seen twice writes one tombstone, marks the post, and extends the chain once."""
    _apply(archive, [post_seen(CH, 10, "gone soon")])
    d1 = PostDeleted(CH, 10, T0 + timedelta(hours=1), "reconcile")
    d2 = PostDeleted(CH, 10, T0 + timedelta(hours=2), "event")
    stats = _apply(archive, [d1, d2])
    conn = connect(archive)
    assert stats.deletions == 1
    assert conn.execute("SELECT deleted_at FROM posts").fetchone()[0] == "2022-03-01T08:42:00Z"
    assert [tuple(r) for r in conn.execute("SELECT method FROM deletions")] == [("reconcile",)]
    assert conn.execute("SELECT count(*) FROM post_versions").fetchone()[0] == 1  # nothing removed
    assert verify(conn).records == 2


def test_engagement_samples_append_and_mirror_latest(archive: Path) -> None:
    """Samples accumulate over time; the post shows the newest counters; unchanged counters add nothing."""
    _apply(archive, [post_seen(CH, 10, "x", engagement=Engagement(views=5))])
    _apply(archive, [post_seen(CH, 10, "x", engagement=Engagement(views=5), minutes=1)])
    _apply(
        archive,
        [
            EngagementSampled(
                CH, 10, T0 + timedelta(minutes=30), Engagement(views=90, reactions=(("👍", 3),))
            ),
            EngagementSampled(CH, 10, T0 + timedelta(minutes=10), Engagement(views=40)),
        ],
    )
    conn = connect(archive)
    assert [r[0] for r in conn.execute("SELECT views FROM engagement ORDER BY sampled_at")] == [
        5,
        40,
        90,
    ]
    assert conn.execute("SELECT views FROM posts").fetchone()[0] == 90


def test_malformed_event_is_counted_and_batch_goes_on(archive: Path) -> None:
    """One bad event is skipped with a reason while the rest of the batch is written."""
    bad = post_seen(CH, 11, "naive date", date=T0.replace(tzinfo=None))
    stats = _apply(
        archive,
        [post_seen(CH, 10, "ok"), bad, post_seen(CH, 12, "ok too"), RangeArchived(CH, 9, 1)],
    )
    assert stats.errors == 2
    assert "PostSeen 1500000001/11" in stats.reasons[0] and "naive" in stats.reasons[0]
    assert _count(archive, "posts") == 2


def test_ranges_merge_into_disjoint_intervals(archive: Path) -> None:
    """Archived id ranges that overlap or touch merge into one interval."""
    _apply(
        archive,
        [
            RangeArchived(CH, 10, 20),
            RangeArchived(CH, 30, 40),
            RangeArchived(CH, 21, 29),
            RangeArchived(CH, 50, 60),
        ],
    )
    conn = connect(archive)
    assert [tuple(r) for r in conn.execute("SELECT lo_id, hi_id FROM sync_ranges")] == [
        (10, 40),
        (50, 60),
    ]


def test_channel_metadata_changes_are_recorded(archive: Path) -> None:
    """A renamed channel keeps its history of titles and usernames."""
    _apply(archive, [ChannelSeen(Channel(CH, "Old", "old_name"), T0)])
    _apply(
        archive,
        [
            ChannelSeen(Channel(CH, "New", "new_name", access_hash=77), T0 + timedelta(days=1)),
            ChannelSeen(Channel(CH, "New", "new_name"), T0 + timedelta(days=2)),
        ],
    )
    conn = connect(archive)
    changes = [
        tuple(r)
        for r in conn.execute(
            "SELECT field, old_value, new_value FROM channel_changes ORDER BY field"
        )
    ]
    assert changes == [("title", "Old", "New"), ("username", "old_name", "new_name")]
    row = conn.execute("SELECT username, access_hash, last_seen FROM channels").fetchone()
    assert tuple(row) == ("new_name", 77, "2022-03-03T07:42:00Z")


def test_status_backfill_and_heartbeat_are_upserted(archive: Path) -> None:
    """Daemon bookkeeping events keep one current row each."""
    hb = DaemonHeartbeat(42, "0.1.0", T0, T0, (("posts", 1),))
    _apply(
        archive,
        [
            ChannelStatusChanged("username:x", None, "resolving", None, T0),
            ChannelStatusChanged("username:x", CH, "live", "ok", T0),
            BackfillProgressed(CH, 500, False, 1000),
            BackfillProgressed(CH, 1, True),
            hb,
            DaemonHeartbeat(42, "0.1.0", T0, T0 + timedelta(seconds=5), (("posts", 9),)),
        ],
    )
    conn = connect(archive)
    assert tuple(conn.execute("SELECT channel_id, state FROM channel_status").fetchone()) == (
        CH,
        "live",
    )
    assert tuple(
        conn.execute(
            "SELECT backfill_oldest, backfill_done, backfill_target FROM sync_state"
        ).fetchone()
    ) == (1, 1, 1000)
    assert tuple(conn.execute("SELECT beat_at, counters FROM daemon_runs").fetchone()) == (
        "2022-03-01T07:42:05Z",
        '{"posts":9}',
    )


def test_alerts_fire_on_new_edit_and_delete(archive: Path) -> None:
    """A keyword rule records new/edit/delete hits once each, even when replayed."""
    rule = AlertRule(name="samawa", keywords=("السماوة",))
    events: list[Event] = [
        post_seen(CH, 10, "انفجار في السّماوة"),
        post_seen(CH, 10, "انفجار في السماوة، قتيلان", minutes=3),
        PostDeleted(CH, 10, T0 + timedelta(hours=1), "event"),
    ]
    _apply(archive, events, [rule])
    _apply(archive, events, [rule])
    conn = connect(archive)
    assert [r[0] for r in conn.execute("SELECT kind FROM alert_hits ORDER BY id")] == [
        "new",
        "edit",
        "delete",
    ]


def test_post_for_unknown_channel_creates_minimal_channel(archive: Path) -> None:
    """A post from a channel never described still gets a channels row (id only)."""
    _apply(archive, [post_seen(999, 1, "hi")])
    conn = connect(archive)
    assert tuple(conn.execute("SELECT id, username FROM channels").fetchone()) == (999, None)


async def test_writer_batches_and_flush_makes_events_visible(archive: Path) -> None:
    """Everything put before flush() is readable by another connection afterwards."""
    async with Writer(archive, batch_size=50, max_delay=0.01) as w:
        for i in range(1, 121):
            await w.put(post_seen(CH, i, f"post number {i}"))
        stats = await w.flush()
        assert _count(archive, "posts") == 120
        assert stats.posts_new == 120 and stats.batches >= 3
        await w.put(post_seen(CH, 1, "post number 1 edited", minutes=1))
    assert w.stats.versions == 121
    assert _count(archive, "post_versions") == 121


def test_committed_batches_survive_kill_9(tmp_path: Path) -> None:
    """A writer killed with SIGKILL right after flush() loses nothing it committed."""
    db = tmp_path / "a.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys, time
        from pathlib import Path
        from tests.fixtures.store import post_seen
        from telewatch.store.writer import Writer
        async def main():
            async with Writer(Path({str(db)!r})) as w:
                for i in range(1, 301):
                    await w.put(post_seen(1, i, "text %d" % i))
                await w.flush()
                print("flushed", flush=True)
                time.sleep(30)
        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "flushed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 300
    conn.close()


def test_links_and_channel_references_are_extracted() -> None:
    """Outgoing links come from the text and text_link entities; t.me links
    and @mentions become channel references; a plain post has none."""
    from telewatch.store.posts import extract_links

    assert extract_links("رتل في السماوة", ()) == (None, None)
    links, refs = extract_links(
        "المصدر https://t.me/Rafidain_Watch/18372, عبر @furat_flash.",
        (Entity("text_link", 0, 6, url="https://example.org/a"),),
    )
    assert links == '["https://example.org/a","https://t.me/Rafidain_Watch/18372"]'
    assert refs == '[{"username":"rafidain_watch","message_id":18372},{"username":"furat_flash"}]'
    assert extract_links("mail me at a@b.c", ()) == (None, None)
    assert extract_links("see t.me/joinchat/abc", ()) == ('["t.me/joinchat/abc"]', None)


def test_writer_skips_and_counts_events_no_reader_could_show(archive: Path) -> None:
    """A PostSeen with an infinite media width, NaN duration, a dict author
    or an id ≥ 2**63 (a hostile server on the daemon path) is skipped and
    counted; the rest of the batch is written."""
    import dataclasses

    from telewatch.models import Media
    from telewatch.store.db import connect
    from telewatch.store.writer import apply_events
    from tests.fixtures.store import post_seen

    good = post_seen(1500000001, 1, "fine")
    bad = [
        post_seen(1500000001, 2, "w", media=Media(kind="photo", width=float("inf"))),  # type: ignore[arg-type]
        post_seen(1500000001, 3, "d", media=Media(kind="video", duration=float("nan"))),
        post_seen(1500000001, 2**63, "big id", date=good.post.date),
    ]
    author = post_seen(1500000001, 4, "a")
    author = dataclasses.replace(
        author,
        post=dataclasses.replace(author.post, post_author={"x": 1}),  # type: ignore[arg-type]
    )
    conn = connect(archive, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, [good, *bad, author], ())
    conn.execute("COMMIT")
    rows = conn.execute("SELECT message_id FROM posts").fetchall()
    conn.close()
    assert stats.errors == 4 and stats.posts_new == 1
    assert [r[0] for r in rows] == [1]
