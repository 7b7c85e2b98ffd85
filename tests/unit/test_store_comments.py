"""store/comments.py through the real write path: comment rows written once
and chained, links only when they change, threads in reply order, search
and export; verify finds a comment row or link removed, added or changed."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from telewatch.models import (
    Channel,
    ChannelSeen,
    CommentAuthor,
    Discussion,
    DiscussionLinked,
    Event,
    Post,
    PostDeleted,
    PostSeen,
)
from telewatch.store import comments
from telewatch.store.chain import verify
from telewatch.store.db import connect
from telewatch.store.queries import search
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0

CH, GROUP = 1500000201, 1500000202
ANNA = CommentAuthor(51, "Anna K", "anna_k")


def _events() -> list[Event]:
    def msg(mid: int, text: str, disc: Discussion, reply: int | None = None) -> PostSeen:
        at = T0 + timedelta(minutes=mid)
        return PostSeen(Post(GROUP, mid, at, text, reply_to=reply, discussion=disc), at)

    return [
        ChannelSeen(Channel(CH, "Chan", "chan_news", access_hash=1), T0),
        ChannelSeen(Channel(GROUP, "Chan chat", access_hash=2), T0),
        PostSeen(Post(CH, 7, T0, "the flood reached the bridge"), T0),
        DiscussionLinked(CH, GROUP, T0),
        msg(1, "the flood reached the bridge", Discussion(channel_id=CH, post_message_id=7)),
        msg(2, "water at the bridge pillars now", Discussion(thread=1, author=ANNA), 1),
        msg(3, "which bridge?", Discussion(thread=1, author=CommentAuthor(52)), 2),
        msg(4, "second top-level comment", Discussion(thread=1, author=None), 1),
        msg(5, "the old one near the market", Discussion(thread=1, author=ANNA), 3),
    ]


def _write(db: Path, events: list[Event]) -> None:
    conn = connect(db, readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        stats = apply_events(conn, events, ())
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert stats.errors == 0, stats.reasons


def test_rows_once_chained_and_threaded(archive: Path) -> None:
    _write(archive, _events())
    _write(archive, _events())  # the same capture again changes nothing
    later = T0 + timedelta(hours=1)
    edited = Post(GROUP, 2, T0, "water over the bridge now", reply_to=1,
                  discussion=Discussion(thread=1, author=CommentAuthor(51, "Anna Renamed")))  # fmt: skip
    _write(archive, [PostSeen(edited, later), PostDeleted(GROUP, 4, later, "event")])
    _write(archive, [DiscussionLinked(CH, GROUP, later)])
    conn = connect(archive, readonly=True)
    try:
        kinds = {r[0]: r[1] for r in conn.execute("SELECT kind, count(*) FROM chain GROUP BY kind")}
        assert kinds["comment"] == 5 and kinds["discussion_link"] == 1
        # The author stays as first captured; the edit is a version of the group post.
        assert (
            conn.execute(
                "SELECT author_name FROM comments WHERE group_id=? AND message_id=2", (GROUP,)
            ).fetchone()[0]
            == "Anna K"
        )
        thread = comments.thread(conn, CH, 7)
        assert [(c.message_id, c.depth) for c in thread] == [(2, 0), (3, 1), (5, 2), (4, 0)]
        assert thread[0].text == "water over the bridge now" and thread[0].versions == 2
        assert thread[3].deleted_at is not None and thread[3].author == "unknown"
        assert comments.count(conn, CH, 7) == 4
        assert verify(conn).ok
        # Plain search leaves the group out; comment search finds comments only.
        assert [h.channel_id for h in search(conn, "bridge", exclude_channels=[GROUP])] == [CH]
        found = comments.search_comments(conn, "bridge")
        assert {h.comment.message_id for h in found} == {2, 3}  # not the copy (1)
        assert found[0].url is not None and "?comment=" in found[0].url
        rows = {r["message_id"]: r for r in comments.export_rows(conn)}
        assert rows[5]["thread"] == "2/3" and rows[5]["reply_to_comment"] == 3
        assert rows[2]["thread"] == "" and rows[2]["post_message_id"] == 7
        assert set(rows[2]) == set(comments.EXPORT_FIELDS)
    finally:
        conn.close()


def test_verify_finds_comment_rows_changed_outside_telewatch(archive: Path) -> None:
    _write(archive, _events())
    for sql, why in (
        ("UPDATE comments SET reply_to = 9 WHERE message_id = 3", "comments row"),
        ("DELETE FROM comments WHERE message_id = 3", "removed"),
        (
            "INSERT INTO comments VALUES (1500000202, 99, 'comment', NULL, NULL, 1, 1,"
            " 5, 'x', NULL, '2022-03-01T07:42:00Z')",
            "comments row",
        ),
        ("UPDATE discussion_links SET group_id = 1", "discussion_links row"),
        ("DELETE FROM discussion_links", "removed"),
    ):
        conn = sqlite3.connect(archive)
        try:
            conn.execute("SAVEPOINT t")
            conn.execute(sql)
            res = verify(conn)
            assert not res.ok and why in (res.problem or ""), (sql, res.problem)
            conn.execute("ROLLBACK TO t")
            assert verify(conn).ok
        finally:
            conn.close()
