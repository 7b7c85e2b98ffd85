"""Alert rules as the store's writer evaluates them on every archived version and
deletion (real SQLite archive, real write path)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telewatch.models import AlertRule, Channel, ChannelSeen, Event, Post, PostDeleted, PostSeen
from telewatch.store import alerts
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CH = 1500000201
OTHER = 1500000202


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A writer connection on a fresh archive with two channels."""
    db = tmp_path / "a.db"
    migrate(db)
    c = connect(db, readonly=False)
    _apply(
        c,
        [
            ChannelSeen(Channel(id=CH, title="Basra Now", username="basra_now"), T0),
            ChannelSeen(Channel(id=OTHER, title="Elsewhere", username="elsewhere"), T0),
        ],
        [],
    )
    yield c
    c.close()


def _apply(c: sqlite3.Connection, events: Sequence[Event], rules: Sequence[AlertRule]) -> None:
    c.execute("BEGIN IMMEDIATE")
    apply_events(c, list(events), alerts.compile_rules(rules))
    c.execute("COMMIT")


def _seen(mid: int, text: str, minutes: int = 0, channel: int = CH) -> PostSeen:
    at = T0 + timedelta(minutes=minutes)
    return PostSeen(Post(channel_id=channel, message_id=mid, date=T0, text=text), seen_at=at)


def _hits(c: sqlite3.Connection) -> list[tuple[str, str, int]]:
    return [
        tuple(r)
        for r in c.execute(  # type: ignore[misc]
            "SELECT rule, kind, message_id FROM alert_hits ORDER BY id"
        )
    ]


def test_keyword_matches_across_spelling_variants(conn: sqlite3.Connection) -> None:
    """An Arabic keyword matches text written with tashkeel and tatweel; ё matches е."""
    rules = [AlertRule(name="blast", keywords=("انفجار", "ещё"))]
    _apply(conn, [_seen(1, "سُمِعَ انفجــار قوي"), _seen(2, "Ещё один"), _seen(3, "هدوء")], rules)
    assert _hits(conn) == [("blast", "new", 1), ("blast", "new", 2)]


def test_regex_and_channel_restriction(conn: sqlite3.Connection) -> None:
    """A regex rule limited to one channel (by username) ignores other channels."""
    rules = [AlertRule(name="port", regex=r"\bport\b", channels=("@Basra_Now",))]
    _apply(
        conn,
        [
            _seen(1, "The port is closed"),
            _seen(2, "port closed", channel=OTHER),
            _seen(3, "airport open"),
        ],
        rules,
    )
    assert _hits(conn) == [("port", "new", 1)]


def test_on_restricts_event_kinds_and_edit_fires_once(conn: sqlite3.Connection) -> None:
    """`on = ["edit", "delete"]` skips new posts; a replayed edit adds no second hit."""
    rules = [AlertRule(name="changes", keywords=("fire",), on=("edit", "delete"))]
    _apply(conn, [_seen(1, "fire at the depot")], rules)
    assert _hits(conn) == []
    edited = _seen(1, "fire at the depot, two injured", minutes=5)
    _apply(conn, [edited, edited], rules)
    _apply(conn, [PostDeleted(CH, 1, T0 + timedelta(minutes=9), "event")], rules)
    assert _hits(conn) == [("changes", "edit", 1), ("changes", "delete", 1)]


def test_watched_post_fires_on_edit_and_delete(conn: sqlite3.Connection) -> None:
    """A post marked with watch-post raises `watched-post` when edited and when deleted,
    even with no configured rules; other posts do not."""
    _apply(conn, [_seen(1, "statement"), _seen(2, "other")], [])
    assert alerts.watch_post(conn, CH, 1, "cited in report", "2026-03-01T10:00:00Z")
    assert not alerts.watch_post(conn, CH, 1, None, "2026-03-01T10:01:00Z")
    _apply(
        conn,
        [
            _seen(1, "statement (corrected)", minutes=3),
            _seen(2, "other v2", minutes=3),
            PostDeleted(CH, 1, T0 + timedelta(minutes=4), "reconcile"),
        ],
        [],
    )
    assert _hits(conn) == [("watched-post", "edit", 1), ("watched-post", "delete", 1)]
    assert [w.note for w in alerts.watched_posts(conn)] == ["cited in report"]
    assert alerts.unwatch_post(conn, CH, 1)
    assert alerts.watched_posts(conn) == []


def test_rule_without_terms_fires_on_everything_in_its_channels(conn: sqlite3.Connection) -> None:
    """A rule naming only channels (by id) fires for each post there."""
    rules = [AlertRule(name="all-basra", channels=(str(CH),))]
    _apply(conn, [_seen(1, "a"), _seen(2, "b", channel=OTHER)], rules)
    assert _hits(conn) == [("all-basra", "new", 1)]


def test_bad_regex_is_reported() -> None:
    """compile_rules raises re.error for an invalid regex (config validation shows it)."""
    import re

    with pytest.raises(re.error):
        alerts.compile_rules([AlertRule(name="bad", regex="([")])
