"""Polls, pins, service messages, channel photos and subscriber counts.

Writes (inside the writer's transaction, each fact chained in the same
transaction, docs/EVIDENCE.md) and the reads ``show`` and ``channels show``
use. Tables: ``polls``, ``poll_samples``, ``pin_events``, ``channel_actions``,
``channel_photos`` (docs/SCHEMA.md); ``channels.subscribers`` is chained as
``subscribers`` records.

Idempotent by construction: a poll definition is written once per post; a
poll sample, a pin event, a photo or a subscriber count only when it differs
from the newest one stored; a service message once per id. So replays,
overlapping backfill and restarts change nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from telewatch.models import (
    Channel,
    ChannelActionSeen,
    PinChanged,
    Poll,
    PollResults,
    PollResultsSeen,
    PostSeen,
)
from telewatch.store import chain
from telewatch.store.db import iso
from telewatch.store.posts import positive_id


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def voters_json(results: PollResults) -> str:
    """The stored JSON of a sample's per-answer counts (sorted by option)."""
    return _dumps([[o, int(n)] for o, n in sorted(results.voters)])


# --------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------


def posts_seen(conn: sqlite3.Connection, group: Sequence[PostSeen]) -> None:
    """The polls and pinned states a run of captured posts carries. An
    unpinned post of a channel with no pin event at all needs no look-up of
    its own (one query per channel per run of posts)."""
    has_pins: dict[int, bool] = {}
    for ev in group:
        post = ev.post
        cid, mid = positive_id(post.channel_id), positive_id(post.message_id)
        at = iso(ev.seen_at)
        if post.poll is not None:
            poll_seen(conn, cid, mid, post.poll, at, ev.source)
        if post.pinned is None:
            continue
        if not post.pinned:
            if cid not in has_pins:
                has_pins[cid] = (
                    conn.execute(
                        "SELECT 1 FROM pin_events WHERE channel_id=? LIMIT 1", (cid,)
                    ).fetchone()
                    is not None
                )
            if not has_pins[cid]:
                continue
        _pin(conn, cid, mid, post.pinned, at, "state", None)
        has_pins[cid] = True


def poll_seen(
    conn: sqlite3.Connection, cid: int, mid: int, poll: Poll, at: str, source: str
) -> None:
    """The poll's definition (once per post) and a sample of its results."""
    known = conn.execute(
        "SELECT 1 FROM polls WHERE channel_id=? AND message_id=?", (cid, mid)
    ).fetchone()
    if known is None:
        fields = [
            cid, mid, int(poll.poll_id), poll.question,
            _dumps([[a.option, a.text] for a in poll.answers]),
            int(poll.multiple), int(poll.quiz), int(poll.public_voters), at,
        ]  # fmt: skip
        conn.execute(
            "INSERT INTO polls(channel_id, message_id, poll_id, question, answers, multiple,"
            " quiz, public_voters, captured_at) VALUES (?,?,?,?,?,?,?,?,?)",
            fields,
        )
        chain.append(conn, "poll", None, fields)
    _sample(conn, cid, mid, poll.results, at, source)


def _sample(
    conn: sqlite3.Connection, cid: int, mid: int, results: PollResults, at: str, source: str
) -> bool:
    values = (int(results.closed), results.total_voters, voters_json(results))
    last = conn.execute(
        "SELECT closed, total_voters, voters, sampled_at FROM poll_samples"
        " WHERE channel_id=? AND message_id=? ORDER BY sampled_at DESC LIMIT 1",
        (cid, mid),
    ).fetchone()
    if last is not None and (tuple(last[:3]) == values or last[3] >= at):
        return False  # unchanged, or not newer than what is stored
    fields = [cid, mid, at, *values, source]
    conn.execute(
        "INSERT INTO poll_samples(channel_id, message_id, sampled_at, closed, total_voters,"
        " voters, source) VALUES (?,?,?,?,?,?,?)",
        fields,
    )
    chain.append(conn, "poll_sample", None, fields)
    return True


def results_seen(conn: sqlite3.Connection, ev: PollResultsSeen) -> None:
    """Pushed results of a poll the archive has (others arrive with their post)."""
    row = conn.execute(
        "SELECT channel_id, message_id FROM polls WHERE poll_id=?", (int(ev.poll_id),)
    ).fetchone()
    if row is None:
        return
    cid, mid = int(row[0]), int(row[1])
    results = ev.results
    if not ev.closed_known:  # results pushed without the poll: closed as last known
        last = conn.execute(
            "SELECT closed FROM poll_samples WHERE channel_id=? AND message_id=?"
            " ORDER BY sampled_at DESC LIMIT 1",
            (cid, mid),
        ).fetchone()
        closed = bool(last[0]) if last is not None else False
        results = PollResults(closed, results.total_voters, results.voters)
    _sample(conn, cid, mid, results, iso(ev.seen_at), ev.source)


def _pin_state(conn: sqlite3.Connection, cid: int, mid: int) -> bool | None:
    row = conn.execute(
        "SELECT pinned FROM pin_events WHERE channel_id=? AND message_id=? ORDER BY id DESC"
        " LIMIT 1",
        (cid, mid),
    ).fetchone()
    return None if row is None else bool(row[0])


def _pin(
    conn: sqlite3.Connection,
    cid: int,
    mid: int,
    pinned: bool,
    at: str,
    method: str,
    event_date: str | None,
    pts: int | None = None,
) -> None:
    if (
        pts is not None
        and conn.execute(
            "SELECT 1 FROM pin_events WHERE channel_id=? AND message_id=? AND pts=?",
            (cid, mid, pts),
        ).fetchone()
    ):
        return  # this very update was applied to this post before (a replayed difference)
    state = _pin_state(conn, cid, mid)
    if (state if state is not None else False) == pinned:
        return
    if method == "service" and state is not None:
        return  # a pin service message is history: the newer state wins
    fields = [cid, mid, int(pinned), at, method, event_date, pts]
    cur = conn.execute(
        "INSERT INTO pin_events(channel_id, message_id, pinned, detected_at, method, event_date,"
        " pts) VALUES (?,?,?,?,?,?,?)",
        fields,
    )
    chain.append(conn, "pin", cur.lastrowid, fields)


def pin_changed(conn: sqlite3.Connection, ev: PinChanged) -> None:
    """Record the posts' new pin state where it changes."""
    if ev.method not in ("push", "service", "state"):
        raise ValueError(f"unknown pin method {ev.method!r}")
    cid = positive_id(ev.channel_id)
    at = iso(ev.detected_at)
    when = iso(ev.event_date) if ev.event_date is not None else None
    for mid in ev.message_ids:
        _pin(conn, cid, positive_id(mid), bool(ev.pinned), at, ev.method, when, ev.pts)


def action_seen(conn: sqlite3.Connection, ev: ChannelActionSeen) -> None:
    """A service message, once per id; a pin one also tells the pin state."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    at, date = iso(ev.seen_at), iso(ev.date)
    fields = [cid, mid, date, ev.action, ev.value, ev.target_id, at]
    cur = conn.execute(
        "INSERT OR IGNORE INTO channel_actions(channel_id, message_id, date, action, value,"
        " target_id, captured_at) VALUES (?,?,?,?,?,?,?)",
        fields,
    )
    if cur.rowcount == 1:
        chain.append(conn, "channel_action", None, fields)
        if ev.action == "pin" and ev.target_id is not None:
            _pin(conn, cid, positive_id(ev.target_id), True, at, "service", date)


_UNREAD = object()


def channel_seen(conn: sqlite3.Connection, ch: Channel, at: str, stored: object = _UNREAD) -> None:
    """Before the writer updates the channels row: chain a changed subscriber
    count and record a changed photo. ``stored``: the channels row's
    subscribers as the caller read it (None for no row or no count), so
    that it is not read twice."""
    cid = positive_id(ch.id)
    if ch.subscribers is not None:
        if stored is _UNREAD:
            row = conn.execute("SELECT subscribers FROM channels WHERE id=?", (cid,)).fetchone()
            stored = None if row is None else row[0]
        if stored != ch.subscribers:
            chain.append(conn, "subscribers", None, [cid, int(ch.subscribers), at])
    photo = ch.photo
    if photo is None:
        return
    last = conn.execute(
        "SELECT photo_id FROM channel_photos WHERE channel_id=? ORDER BY id DESC LIMIT 1", (cid,)
    ).fetchone()
    if (last is None and photo.photo_id is None) or (
        last is not None and last[0] == photo.photo_id
    ):
        return
    fields = [cid, photo.photo_id, photo.dc_id, photo.thumb_sha256, at]
    cur = conn.execute(
        "INSERT INTO channel_photos(channel_id, photo_id, dc_id, thumb_sha256, captured_at)"
        " VALUES (?,?,?,?,?)",
        fields,
    )
    chain.append(conn, "channel_photo", cur.lastrowid, fields)


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PollSample:
    """One result sample: counts in the order of the poll's answers."""

    sampled_at: str
    closed: bool
    total_voters: int | None
    counts: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class PollView:
    """A post's poll with its samples, oldest first."""

    question: str
    answers: tuple[str, ...]
    multiple: bool
    quiz: bool
    public_voters: bool
    samples: tuple[PollSample, ...]


def poll_of(conn: sqlite3.Connection, channel_id: int, message_id: int) -> PollView | None:
    """The poll of a post with every sample, or None."""
    row = conn.execute(
        "SELECT answers, question, multiple, quiz, public_voters FROM polls"
        " WHERE channel_id=? AND message_id=?",
        (channel_id, message_id),
    ).fetchone()
    if row is None:
        return None
    answers = [(str(o), str(t)) for o, t in json.loads(row[0])]
    samples = []
    for s in conn.execute(
        "SELECT sampled_at, closed, total_voters, voters, source FROM poll_samples"
        " WHERE channel_id=? AND message_id=? ORDER BY sampled_at",
        (channel_id, message_id),
    ):
        by_option = {str(o): int(n) for o, n in json.loads(s[3])}
        samples.append(
            PollSample(s[0], bool(s[1]), s[2], tuple(by_option.get(o, 0) for o, _ in answers), s[4])
        )
    return PollView(
        row[1], tuple(t for _, t in answers), bool(row[2]), bool(row[3]), bool(row[4]),
        tuple(samples),
    )  # fmt: skip


def pin_history(conn: sqlite3.Connection, channel_id: int, message_id: int) -> list[PinEvent]:
    """A post's pin events, oldest first."""
    return [
        PinEvent(r[0], r[1], bool(r[2]), r[3], r[4], r[5])
        for r in conn.execute(
            "SELECT detected_at, message_id, pinned, method, event_date, channel_id"
            " FROM pin_events WHERE channel_id=? AND message_id=? ORDER BY id",
            (channel_id, message_id),
        )
    ]


@dataclass(frozen=True)
class PinEvent:
    """One pin state change of a post."""

    detected_at: str
    message_id: int
    pinned: bool
    method: str
    event_date: str | None
    channel_id: int


@dataclass(frozen=True)
class ChannelEvent:
    """One line of a channel's history: ``at`` (Telegram's time when known,
    else the capture time), ``what`` (title|username|about|photo|pin|unpin|
    service), old and new values, ``captured_at`` and how it was captured."""

    at: str
    what: str
    old: str | None
    new: str | None
    captured_at: str
    how: str
    message_id: int | None = None


def channel_history(conn: sqlite3.Connection, channel_id: int) -> list[ChannelEvent]:
    """Title/username/about changes, photo changes, service messages and
    pins of a channel, in time order."""
    out: list[ChannelEvent] = []
    for f, old, new, at in conn.execute(
        "SELECT field, old_value, new_value, captured_at FROM channel_changes"
        " WHERE channel_id=? ORDER BY id",
        (channel_id,),
    ):
        out.append(ChannelEvent(at, str(f), old, new, at, "metadata"))
    prev: str | None = None
    for pid, thumb, at in conn.execute(
        "SELECT photo_id, thumb_sha256, captured_at FROM channel_photos WHERE channel_id=?"
        " ORDER BY id",
        (channel_id,),
    ):
        new = f"photo {pid} (thumb sha256 {thumb[:16]})" if pid is not None and thumb else None
        if pid is not None and not thumb:
            new = f"photo {pid}"
        out.append(ChannelEvent(at, "photo", prev, new, at, "metadata"))
        prev = new
    for mid, date, action, value, target, at in conn.execute(
        "SELECT message_id, date, action, value, target_id, captured_at FROM channel_actions"
        " WHERE channel_id=? ORDER BY message_id",
        (channel_id,),
    ):
        new = f"post {target}" if action == "pin" else value
        out.append(ChannelEvent(date, f"service:{action}", None, new, at, "service message", mid))
    for at, mid, pinned, method, event_date in conn.execute(
        "SELECT detected_at, message_id, pinned, method, event_date FROM pin_events"
        " WHERE channel_id=? ORDER BY id",
        (channel_id,),
    ):
        what = "pin" if pinned else "unpin"
        out.append(ChannelEvent(event_date or at, what, None, f"post {mid}", at, method, mid))
    out.sort(key=lambda e: (e.at, e.captured_at))
    return out


def current_photo(
    conn: sqlite3.Connection, channel_id: int
) -> tuple[int | None, str | None] | None:
    """(photo id or None if removed, thumbnail sha256) of the newest photo row, or None."""
    row = conn.execute(
        "SELECT photo_id, thumb_sha256 FROM channel_photos WHERE channel_id=? ORDER BY id DESC"
        " LIMIT 1",
        (channel_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def pinned_now(conn: sqlite3.Connection, channel_id: int) -> list[int]:
    """Ids of the channel's posts whose newest pin event says pinned."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT message_id FROM pin_events p WHERE channel_id=? AND id = (SELECT max(id)"
            " FROM pin_events q WHERE q.channel_id=p.channel_id AND q.message_id=p.message_id)"
            " AND pinned=1 ORDER BY message_id",
            (channel_id,),
        )
    ]
