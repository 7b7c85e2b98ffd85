"""Polls, pins, service messages, channel photos and subscriber counts in the
store (store/events.py): idempotent writes, chained, verify finds tampering."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from telewatch.models import (
    Channel,
    ChannelActionSeen,
    ChannelPhoto,
    ChannelSeen,
    Event,
    Media,
    PinChanged,
    Poll,
    PollAnswer,
    PollResults,
    PollResultsSeen,
    Post,
    PostSeen,
)
from telewatch.store import events, events_schema, schema
from telewatch.store.chain import verify
from telewatch.store.db import apply_migrations, connect, migrate
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0

CID = 1500000077
POLL = Poll(
    poll_id=777,
    question="Which bridge?",
    answers=(PollAnswer("00", "North"), PollAnswer("01", "South")),
    results=PollResults(False, 3, (("00", 1), ("01", 2))),
)


def _post(
    mid: int, minutes: int, *, poll: Poll | None = None, pinned: bool | None = None
) -> PostSeen:
    return PostSeen(
        Post(
            CID,
            mid,
            T0,
            f"post {mid}",
            media=Media("poll") if poll else None,
            poll=poll,
            pinned=pinned,
        ),
        T0 + timedelta(minutes=minutes),
        "live",
    )


def _history() -> list[Event]:
    return [
        ChannelSeen(
            Channel(CID, "Bridges", "bridges", "about", subscribers=10, photo=ChannelPhoto(None)),
            T0,
        ),
        _post(1, 0, poll=POLL, pinned=False),
        PollResultsSeen(
            777, PollResults(False, 5, (("00", 3), ("01", 2))), T0 + timedelta(minutes=1)
        ),
        # the same results again, and results pushed without the poll: no sample
        _post(
            1,
            2,
            poll=dataclasses.replace(POLL, results=PollResults(False, 5, (("00", 3), ("01", 2)))),
        ),
        PinChanged(CID, (1,), True, T0 + timedelta(minutes=3), "push", pts=7),
        ChannelActionSeen(
            CID, 2, T0 + timedelta(minutes=3), "pin", T0 + timedelta(minutes=3), None, 1
        ),
        ChannelActionSeen(
            CID, 3, T0 + timedelta(minutes=4), "title", T0 + timedelta(minutes=4), "Bridges 2"
        ),
        ChannelSeen(
            Channel(
                CID,
                "Bridges 2",
                "bridges",
                "about 2",
                subscribers=12,
                photo=ChannelPhoto(9, 2, "ab" * 32),
            ),
            T0 + timedelta(minutes=5),
        ),
        _post(
            1,
            6,
            poll=dataclasses.replace(POLL, results=PollResults(True, 9, (("00", 6), ("01", 3)))),
            pinned=False,
        ),
        PollResultsSeen(
            777,
            PollResults(False, 9, (("00", 6), ("01", 3))),
            T0 + timedelta(minutes=7),
            closed_known=False,
        ),
    ]


def _write(path: Path, evs: list[Event]) -> None:
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, evs, [])
    conn.execute("COMMIT")
    conn.close()
    assert stats.errors == 0, stats.reasons


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "a.db"
    migrate(path)
    _write(path, _history())
    return path


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "polls",
                "poll_samples",
                "pin_events",
                "channel_actions",
                "channel_photos",
                "chain",
            )
        }
    finally:
        conn.close()


def test_written_once_chained_and_verified(archive: Path) -> None:
    conn = connect(archive)
    poll = events.poll_of(conn, CID, 1)
    assert poll is not None and poll.answers == ("North", "South")
    # a sample only when the results change; closed kept when pushed without the poll
    assert [(s.counts, s.closed) for s in poll.samples] == [
        ((1, 2), False),
        ((3, 2), False),
        ((6, 3), True),
    ]
    pins = events.pin_history(conn, CID, 1)
    # pinned by the push, the service message changes nothing, the flag read later unpins
    assert [(p.pinned, p.method) for p in pins] == [(True, "push"), (False, "state")]
    history = events.channel_history(conn, CID)
    whats = [e.what for e in history]
    assert {"title", "about", "photo", "service:pin", "service:title", "pin", "unpin"} <= set(whats)
    assert events.pinned_now(conn, CID) == []
    res = verify(conn)
    conn.close()
    assert res.ok, res.problem
    before = _counts(archive)
    # The same events again (and the pin update of pts 7 replayed): nothing changes.
    _write(archive, [*_history()[-3:], *_history()[-3:]])
    _write(archive, [PinChanged(CID, (1,), True, T0 + timedelta(minutes=9), "push", pts=7)])
    assert _counts(archive) == before
    assert verify(connect(archive)).ok


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        (
            'UPDATE poll_samples SET voters = \'[["00",60],["01",3]]\' WHERE closed = 1',
            "poll_samples",
        ),
        ("UPDATE polls SET question = 'Forged?'", "polls"),
        ("DELETE FROM poll_samples WHERE closed = 1", "poll_samples"),
        ("UPDATE pin_events SET method = 'service' WHERE pinned = 1", "pin_events"),
        (
            f"INSERT INTO pin_events(channel_id, message_id, pinned, detected_at, method) VALUES ({CID}, 5, 1, '2022-03-01T09:00:00Z', 'push')",
            "pin_events",
        ),
        ("UPDATE channel_actions SET value = 'Forged' WHERE action = 'title'", "channel_actions"),
        ("UPDATE channel_photos SET photo_id = 10 WHERE photo_id = 9", "channel_photos"),
        ("UPDATE channels SET subscribers = 5000", "subscribers"),
        (
            "UPDATE chain SET record = replace(record, ',12,', ',13,') WHERE kind = 'subscribers'",
            "record does not match",
        ),
    ],
)
def test_tampering_is_detected(archive: Path, sql: str, needle: str) -> None:
    raw = sqlite3.connect(archive)
    raw.execute(sql)
    raw.commit()
    raw.close()
    res = verify(connect(archive))
    assert not res.ok and res.problem is not None and needle in res.problem, res.problem


def test_migration_chains_the_subscriber_counts_of_an_older_archive(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path, isolation_level=None)
    # The archive as it was just before the migration that chains the counts.
    n = next(k for k, v in schema.MIGRATIONS.items() if v is events_schema.migrate)
    apply_migrations(raw, 0, n - 1)
    raw.execute(
        "INSERT INTO channels(id, subscribers, first_seen, last_seen)"
        " VALUES (?, 321, '2022-01-01T00:00:00Z', '2022-01-01T00:00:00Z')",
        (CID,),
    )
    apply_migrations(raw, n - 1)
    recs = [
        json.loads(r[0]) for r in raw.execute("SELECT record FROM chain WHERE kind = 'subscribers'")
    ]
    raw.close()
    assert [r[2:4] for r in recs] == [[CID, 321]]
    assert verify(connect(path)).ok


def test_one_update_pinning_several_posts_records_each(archive: Path) -> None:
    """updatePinnedChannelMessages can name several posts (an "unpin all"):
    each gets its pin event, and the replayed update still changes nothing."""
    at = T0 + timedelta(minutes=20)
    _write(archive, [_post(5, 19), _post(6, 19)])
    _write(archive, [PinChanged(CID, (5, 6), True, at, "push", pts=42)])
    conn = connect(archive)
    try:
        assert sorted(events.pinned_now(conn, CID)) == [5, 6]
    finally:
        conn.close()
    before = _counts(archive)
    _write(archive, [PinChanged(CID, (5, 6), True, at, "push", pts=42)])
    assert _counts(archive) == before
    assert verify(connect(archive)).ok
