"""Tamper evidence: the hash chain covers every fact the archive shows
(docs/EVIDENCE.md). The table below is the hostile tester's list of direct
edits of the SQLite file; each must be caught by ``verify`` or, for edits
that rewrite the chain consistently, by ``verify`` against a head kept
beforehand."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telewatch.models import (
    CaptureStarted,
    Channel,
    ChannelSeen,
    Engagement,
    EngagementSampled,
    ForwardOrigin,
    Media,
    Post,
    PostDeleted,
    PostSeen,
)
from telewatch.store.chain import GENESIS, content_hash, encode, head, link, verify
from telewatch.store.db import connect
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0, post_seen

CID = 1500000001


def _history() -> list[object]:
    fwd = ForwardOrigin(channel_id=1500000009, name="Origin", message_id=5, date=T0)
    return [
        CaptureStarted("cap-1", T0, "telegram", "+000", "0.1.0", "1.45.0", 201, -120),
        ChannelSeen(Channel(CID, "Rafidain", "rafidain", "news"), T0),
        PostSeen(
            Post(CID, 10, T0, "first", media=Media("photo", width=4, height=3), forward=fwd),
            T0,
            "live",
            raw=b"\x01raw-tl-bytes",
            raw_format="tl",
            capture_id="cap-1",
        ),
        post_seen(CID, 11, "second"),
        post_seen(CID, 10, "first, edited", minutes=2),
        EngagementSampled(CID, 10, T0 + timedelta(minutes=3), Engagement(100, 2, 1, (("👍", 4),))),
        EngagementSampled(CID, 10, T0 + timedelta(minutes=9), Engagement(150, 3, 1)),
        ChannelSeen(Channel(CID, "Rafidain Watch", "rafidain", "news"), T0 + timedelta(hours=1)),
        PostDeleted(CID, 11, T0 + timedelta(hours=2), "reconcile"),
    ]


def _archive_with_history(path: Path) -> None:
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, _history(), [])  # type: ignore[arg-type]
    conn.execute("COMMIT")
    conn.close()
    assert stats.errors == 0, stats.reasons


def _sql(path: Path, *statements: str) -> None:
    raw = sqlite3.connect(path)
    for s in statements:
        raw.execute(s)
    raw.commit()
    raw.close()


def _relink(raw: sqlite3.Connection) -> None:
    """Recompute every link by the documented rules (a forger who knows them)."""
    prev = GENESIS
    for seq, rec in raw.execute("SELECT seq, record FROM chain ORDER BY seq").fetchall():
        h = link(prev, rec)
        raw.execute("UPDATE chain SET prev_hash=?, hash=? WHERE seq=?", (prev, h, seq))
        prev = h


def _truncate(path: Path) -> None:
    """Drop the newest record (the deletion) and every trace of it, consistently."""
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM chain WHERE seq = (SELECT max(seq) FROM chain)")
    raw.execute("DELETE FROM deletions")
    raw.execute("UPDATE posts SET deleted_at = NULL")
    raw.commit()
    raw.close()


def _append_forged_edit(at_shift: timedelta) -> Callable[[Path], None]:
    """Append a version 3 of post 10 saying 'forged', with a correctly
    computed link, claiming capture on the day of the real ones; its chain
    time is the head's time shifted by ``at_shift``."""

    def forge(path: Path) -> None:
        raw = sqlite3.connect(path)
        seq, prev, at = raw.execute(
            "SELECT seq, hash, at FROM chain ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        at = (datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ") + at_shift).strftime("%Y-%m-%dT%H:%M:%SZ")
        captured = "2022-03-01T07:45:00Z"
        ch = content_hash("forged", None, None)
        vid = raw.execute(
            "INSERT INTO post_versions(channel_id, message_id, version_no, text, content_hash,"
            " captured_at, source) VALUES (?,10,3,'forged',?,?,'live')",
            (CID, ch, captured),
        ).lastrowid
        post = raw.execute(
            "SELECT date, fwd_channel_id, fwd_name, fwd_message_id, fwd_date, post_author,"
            " grouped_id, reply_to_id FROM posts WHERE message_id=10"
        ).fetchone()
        rec = encode(
            ["version", at, CID, 10, 3, ch, None, captured, "live", *post, None, None, None]
        )
        raw.execute(
            "INSERT INTO chain(seq, kind, ref_id, at, record, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?)",
            (seq + 1, "version", vid, at, rec, prev, link(prev, rec)),
        )
        raw.execute(
            "UPDATE posts SET text='forged', entities=NULL, media=NULL, media_kind=NULL,"
            " version_id=?, version_count=3 WHERE message_id=10",
            (vid,),
        )
        raw.commit()
        raw.close()

    return forge


def _rewrite_everything(path: Path) -> None:
    """Change the first version's text and rebuild the whole chain by the
    documented rules: new content hash, new record, every link recomputed."""
    raw = sqlite3.connect(path)
    vid, old_hash = raw.execute(
        "SELECT id, content_hash FROM post_versions WHERE message_id=10 AND version_no=1"
    ).fetchone()
    new_hash = content_hash("rewritten", None, None)
    raw.execute(
        "UPDATE post_versions SET text='rewritten', media=NULL, content_hash=? WHERE id=?",
        (new_hash, vid),
    )
    for seq, rec in raw.execute(
        "SELECT seq, record FROM chain WHERE ref_id=? AND kind='version'", (vid,)
    ).fetchall():
        fields = json.loads(rec)
        assert fields[5] == old_hash
        fields[5] = new_hash
        raw.execute("UPDATE chain SET record=? WHERE seq=?", (encode(fields), seq))
    _relink(raw)
    raw.commit()
    raw.close()


def _edit_and_relink(*statements: str) -> Callable[[Path], None]:
    def forge(path: Path) -> None:
        raw = sqlite3.connect(path)
        for s in statements:
            raw.execute(s)
        _relink(raw)
        raw.commit()
        raw.close()

    return forge


def _sqls(*statements: str) -> Callable[[Path], None]:
    return lambda path: _sql(path, *statements)


# (id, tamper, needs the head kept beforehand, words expected in the problem)
CASES: list[tuple[str, Callable[[Path], None], bool, str]] = [
    ("posts.text", _sqls("UPDATE posts SET text='forged' WHERE message_id=10"), False, "text"),
    ("version text", _sqls("UPDATE post_versions SET text='forged' WHERE version_no=1 AND message_id=11"), False, "text, entities or media changed"),
    ("version entities", _sqls("UPDATE post_versions SET entities='[]' WHERE id=1"), False, "text, entities or media changed"),
    ("version media", _sqls("UPDATE post_versions SET media=NULL WHERE id=1"), False, "text, entities or media changed"),
    ("posts.media", _sqls("UPDATE posts SET media='{\"kind\":\"video\"}' WHERE message_id=10"), False, "media"),
    ("publication date", _sqls("UPDATE posts SET date='2021-01-01T00:00:00Z' WHERE message_id=10"), False, "publication date"),
    ("capture time", _sqls("UPDATE post_versions SET captured_at='2021-01-01T00:00:00Z' WHERE id=1"), False, "captured_at"),
    ("version edit date", _sqls("UPDATE post_versions SET edit_date='2022-03-01T08:00:00Z' WHERE id=3"), False, "edit_date"),
    ("posts.edit_date", _sqls("UPDATE posts SET edit_date='2022-03-01T08:00:00Z' WHERE message_id=10"), False, "edit_date"),
    ("forward name", _sqls("UPDATE posts SET fwd_name='Someone else' WHERE message_id=10"), False, "forward origin"),
    ("forward channel", _sqls("UPDATE posts SET fwd_channel_id=42 WHERE message_id=10"), False, "forward origin"),
    ("forward date", _sqls("UPDATE posts SET fwd_date='2020-01-01T00:00:00Z' WHERE message_id=10"), False, "forward origin"),
    ("channel username", _sqls(f"UPDATE channels SET username='other' WHERE id={CID}"), False, "username, title or about"),
    ("channel title", _sqls(f"UPDATE channels SET title='Other' WHERE id={CID}"), False, "username, title or about"),
    ("channel about", _sqls(f"UPDATE channels SET about='lies' WHERE id={CID}"), False, "username, title or about"),
    ("channel change rewritten", _sqls("UPDATE channel_changes SET old_value='Nobody'"), False, "channel_changes"),
    ("channel change removed", _sqls("DELETE FROM channel_changes"), False, "channel_changes"),
    ("posts.views", _sqls("UPDATE posts SET views=99999 WHERE message_id=10"), False, "views"),
    ("engagement sample", _sqls("UPDATE engagement SET views=99999"), False, "engagement sample"),
    ("engagement removed", _sqls("DELETE FROM engagement WHERE views=100"), False, "engagement"),
    ("deletion hidden", _sqls("UPDATE posts SET deleted_at=NULL"), False, "deleted_at"),
    ("deletion faked", _sqls("UPDATE posts SET deleted_at='2022-03-02T00:00:00Z' WHERE message_id=10"), False, "deleted_at"),
    ("undeleted", _sqls("DELETE FROM deletions", "UPDATE posts SET deleted_at=NULL"), False, "deletion"),
    ("deletion time", _sqls("UPDATE deletions SET detected_at='2022-03-05T00:00:00Z'"), False, "deletion of post"),
    ("deletion window", _sqls("UPDATE deletions SET last_seen_at='2022-03-01T08:59:00Z'"), False, "deletion of post"),
    ("raw payload", _sqls("UPDATE raw_payloads SET data=x'789c4b2c4a0300029d0144'"), False, "raw payload"),
    ("capture log", _sqls("UPDATE capture_sessions SET clock_offset_ms=0"), False, "capture session"),
    ("post row removed", _sqls("DELETE FROM posts WHERE message_id=11"), False, "no posts row"),
    ("post pointed at an older version", _sqls("UPDATE posts SET text='first', media='{\"height\":3,\"kind\":\"photo\",\"width\":4}', version_id=1 WHERE message_id=10"), False, "version_id"),
    ("record with a wrong type, relinked", _edit_and_relink("UPDATE chain SET record=replace(record, '\"reconcile\"', '17') WHERE kind='deletion'"), False, "deletion of post"),
    ("record edited", _sqls("UPDATE chain SET record=replace(record, 'reconcile', 'event') WHERE kind='deletion'"), False, "does not match its hash"),
    ("record removed", _sqls("DELETE FROM chain WHERE seq=4"), False, "records removed"),
    ("version outside the chain", _sqls(f"INSERT INTO post_versions(channel_id, message_id, version_no, text, content_hash, captured_at, source) VALUES ({CID}, 12, 1, 'planted', 'x', '2022-01-01T00:00:00Z', 'live')"), False, "not in the chain"),
    ("edit relinked", _edit_and_relink("UPDATE post_versions SET source='import' WHERE id=2", "UPDATE chain SET record=replace(record, '\"live\"', '\"import\"') WHERE kind='version' AND ref_id=2"), True, "expected head"),
    ("truncated", _truncate, True, "expected head"),
    ("forged edit appended, backdated chain time", _append_forged_edit(-timedelta(days=1)), False, "before the previous record"),
    ("forged edit appended after the head", _append_forged_edit(timedelta(seconds=5)), True, "backdated"),
    ("full rewrite by the documented rules", _rewrite_everything, True, "expected head"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tamper", "needs_head", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_direct_edit_is_detected(
    archive: Path, tamper: Callable[[Path], None], needs_head: bool, words: str
) -> None:
    """Each direct edit of the SQLite file is caught: by plain verify, or,
    for edits that keep the chain consistent, by verify against the head
    written down before the edit (and plain verify cannot tell)."""
    _archive_with_history(archive)
    before = verify(connect(archive))
    assert before.ok, before.problem
    kept = before.head
    tamper(archive)
    plain = verify(connect(archive))
    if needs_head:
        assert plain.ok, "a consistent rewrite is only visible against a kept head"
        res = verify(connect(archive), expect_head=kept)
    else:
        res = plain
    assert not res.ok
    assert words in (res.problem or ""), res.problem


def test_clean_archive_verifies_every_kind(archive: Path) -> None:
    """An untouched archive verifies, counting each kind of chained fact; a
    later capture verifies against the head kept before it."""
    _archive_with_history(archive)
    conn = connect(archive)
    res = verify(conn)
    assert res.ok, res.problem
    assert (res.versions, res.deletions, res.samples, res.captures, res.raw_payloads) == (
        3, 1, 2, 1, 1,
    )  # fmt: skip
    assert res.channels == 1 and res.records == 9
    assert res.head == head(conn).hash
    kept = res.head
    w = connect(archive, readonly=False)
    w.execute("BEGIN IMMEDIATE")
    apply_events(w, [post_seen(CID, 30, "later", seen=datetime.now(UTC))], [])
    w.execute("COMMIT")
    res2 = verify(conn, expect_head=kept)
    assert res2.ok and res2.expected and res2.after_expected == 1


def test_unknown_head_is_reported(archive: Path) -> None:
    """A head that was never in the chain fails the check, naming it."""
    _archive_with_history(archive)
    res = verify(connect(archive), expect_head="ab" * 32)
    assert not res.ok and "does not contain the expected head" in (res.problem or "")


def test_deletion_is_a_window(archive: Path) -> None:
    """A deletion records when the post was last seen alive and when it was found gone."""
    _archive_with_history(archive)
    row = (
        connect(archive)
        .execute("SELECT last_seen_at, detected_at, method FROM deletions")
        .fetchone()
    )
    assert tuple(row) == ("2022-03-01T07:42:00Z", "2022-03-01T09:42:00Z", "reconcile")


def test_records_follow_the_documented_rules(archive: Path) -> None:
    """Every record is canonical JSON and its hash is sha256(prev + sha256(record))."""
    _archive_with_history(archive)
    prev = GENESIS
    for rec, p, h in connect(archive).execute(
        "SELECT record, prev_hash, hash FROM chain ORDER BY seq"
    ):
        fields = json.loads(rec)
        assert rec == json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        rh = hashlib.sha256(rec.encode()).hexdigest()
        assert p == prev and h == hashlib.sha256((prev + rh).encode()).hexdigest()
        prev = h


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(_ANY_TEXT, st.none() | _ANY_TEXT, st.none() | _ANY_TEXT)
def test_content_hash_is_the_documented_canonical_json(
    text: str, entities: str | None, media: str | None
) -> None:
    """content_hash = sha256 of json.dumps([text, entities, media], sort_keys,
    compact separators, ensure_ascii=False) for any strings (docs/EVIDENCE.md)."""
    canonical = json.dumps(
        [text, entities, media], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert content_hash(text, entities, media) == hashlib.sha256(canonical.encode()).hexdigest()


def test_tampered_non_text_values_are_reported_not_fatal(archive: Path) -> None:
    """Blobs and numbers where text belongs are reported, never a crash."""
    _archive_with_history(archive)
    _sql(archive, "UPDATE post_versions SET text = x'00ff' WHERE id = 1")
    assert "text, entities or media changed" in (verify(connect(archive)).problem or "")
    _archive_blob = archive.with_name("b.db")
    del _archive_blob
    _sql(archive, "UPDATE chain SET record = x'00ff' WHERE seq = 1")
    assert "not text" in (verify(connect(archive)).problem or "")


def test_engagement_older_than_the_newest_is_not_chained_twice(archive: Path) -> None:
    """A replayed sample (same time) adds no record; posts mirror the newest sample."""
    _archive_with_history(archive)
    conn = connect(archive, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(
        conn, [EngagementSampled(CID, 10, T0 + timedelta(minutes=9), Engagement(150, 3, 1))], []
    )
    conn.execute("COMMIT")
    res = verify(conn)
    assert res.ok and res.samples == 2
    assert conn.execute("SELECT views FROM posts WHERE message_id=10").fetchone()[0] == 150


def test_chain_time_never_goes_back(archive: Path) -> None:
    """Records written later never carry an earlier chain time than the head."""
    _archive_with_history(archive)
    conn = connect(archive, readonly=False)
    conn.execute(
        "UPDATE chain SET at='2999-01-01T00:00:00Z', record=replace(record, at, '2999-01-01T00:00:00Z') WHERE seq=(SELECT max(seq) FROM chain)"
    )
    _relink(conn)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, [post_seen(CID, 20, "new", seen=datetime.now(UTC))], [])
    conn.execute("COMMIT")
    assert (
        conn.execute("SELECT at FROM chain ORDER BY seq DESC LIMIT 1").fetchone()[0]
        == "2999-01-01T00:00:00Z"
    )
    assert verify(conn).ok
