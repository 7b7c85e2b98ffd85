"""The dashboard's read queries (store.feed) on the fixed archive."""

from __future__ import annotations

from pathlib import Path

from telewatch.store import feed
from tests.fixtures.dashboard import AR, EN, NOW, RU


def test_recent_activity_then_cursor_reads_only_new_changes(dash_archive: Path) -> None:
    """The first read returns history (oldest first); the cursor then yields nothing new."""
    conn = feed.open_reader(dash_archive)
    try:
        items, cursor = feed.recent_activity(conn, limit=300)
        kinds = [(i.kind, i.message_id) for i in items[-3:]]
        assert kinds == [("edit", 103), ("edit", 302), ("delete", 403)]
        assert items[-1].deleted and items[-1].channel == "Harbour Monitor"
        again, same = feed.activity_since(conn, cursor)
        assert again == [] and same == cursor
    finally:
        conn.close()


def test_channel_rows_count_posts_per_hour(dash_archive: Path) -> None:
    """Each channel row has 24 hourly buckets summing to its posts of the last day."""
    conn = feed.open_reader(dash_archive)
    try:
        rows = {r.status.channel_id: r for r in feed.channel_rows(conn, NOW)}
    finally:
        conn.close()
    assert len(rows[AR].hourly) == 24
    assert rows[AR].posts_24h == 3
    assert rows[EN].posts_24h == 4
    assert rows[RU].hourly[0] == 1  # 23 hours ago: the first bucket
    assert rows[RU].status.state == "backfilling"


def test_post_history_has_versions_deletion_and_forward(dash_archive: Path) -> None:
    """Post detail data: two versions of the watched post, a forward, a tombstone."""
    conn = feed.open_reader(dash_archive)
    try:
        post = feed.post_history(conn, AR, 103)
        fwd = feed.post_history(conn, EN, 404)
        gone = feed.post_history(conn, EN, 403)
        missing = feed.post_history(conn, EN, 999)
    finally:
        conn.close()
    assert post is not None and [v.version_no for v in post.versions] == [1, 2]
    assert post.watched and post.url == "https://t.me/rafidain_watch/103"
    assert [e.views for e in post.engagement] == [120, 940, 2310]
    assert fwd is not None and fwd.forward_from == "مرصد الرافدين (@rafidain_watch)"
    assert fwd.forward_message_id == 103 and fwd.forward_url == "https://t.me/rafidain_watch/103"
    assert gone is not None and gone.deleted_at is not None and gone.deletion_method == "reconcile"
    assert missing is None


def test_alert_counters_and_hits(dash_archive: Path) -> None:
    """Counters per rule split by kind; hits list newest first with channel names."""
    conn = feed.open_reader(dash_archive)
    try:
        counters = {c.rule: c for c in feed.alert_counters(conn)}
        hits = feed.alert_hits(conn, limit=3)
    finally:
        conn.close()
    assert (counters["watched-post"].total, counters["watched-post"].edit) == (1, 1)
    assert counters["port"].delete == 1
    assert hits[0].kind == "delete" and hits[0].channel == "Harbour Monitor"


def test_feed_items_name_the_origin_of_a_forward(dash_archive: Path) -> None:
    """A forwarded post's feed rows name the archived origin channel; other rows have none."""
    conn = feed.open_reader(dash_archive)
    try:
        items, _ = feed.recent_activity(conn, limit=300)
    finally:
        conn.close()
    origins = {(i.channel_id, i.message_id): i.forward_from for i in items}
    assert origins[(EN, 404)] == "مرصد الرافدين"
    assert origins[(EN, 402)] is None and origins[(AR, 103)] is None
