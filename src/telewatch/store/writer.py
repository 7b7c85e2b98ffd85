"""The one write path into the archive.

``apply_events`` turns events (models.Event) into rows inside the caller's
transaction; ``Writer`` is the asyncio front end the daemon and importers
use: a bounded queue drained by one task that commits each batch in one
``BEGIN IMMEDIATE`` transaction on a dedicated thread.

Why a thread of our own rather than aiosqlite's per-statement hops: a batch
is hundreds of statements prepared in Python; running the whole
``apply_events`` call in one executor job costs one thread hop per batch
instead of one per statement, and keeps the event loop free while SQLite
works (bench/bench_store.py reports the Writer's rate).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from telewatch.models import (
    AlertRule,
    BackfillProgressed,
    CaptureStarted,
    ChannelActionSeen,
    ChannelPhotoStored,
    ChannelSeen,
    ChannelStatusChanged,
    DaemonHeartbeat,
    DifferenceApplied,
    DiscussionLinked,
    EngagementSampled,
    Event,
    HeadAnchored,
    MediaHashed,
    MediaLost,
    MediaProgress,
    MediaQueued,
    MediaStored,
    PinChanged,
    PollResultsSeen,
    PollSeen,
    PostDeleted,
    PostSeen,
    RangeArchived,
    RequestsSent,
    SweepProgressed,
    UserError,
)
from telewatch.store import chain, comments, events, media, phash, photo_files, status, sync
from telewatch.store.alerts import CompiledRule, compile_rules, evaluate
from telewatch.store.db import connect, is_postgres, iso, migrate, now_iso, send
from telewatch.store.posts import (
    PreparedPost,
    engagement_row,
    positive_id,
    prepare_fields,
    prepare_post,
    write_prepared,
)

__all__ = [
    "BatchStats",
    "PreparedPost",
    "Writer",
    "apply_events",
    "prepare_fields",
    "prepare_post",
    "write_prepared",
]

MAX_REASONS = 50  # error reasons kept per BatchStats (the count is exact)
_log = logging.getLogger(__name__)


class ArchiveGone(UserError):
    """The archive file was deleted or replaced under the writer: every
    commit from now on would go to a file nobody can open again."""


@dataclass
class BatchStats:
    """What a batch (or, in ``Writer.stats``, everything so far) did.

    ``events`` counts events applied without error; ``errors`` the events
    skipped, with up to MAX_REASONS one-line ``reasons``."""

    events: int = 0
    posts_new: int = 0
    versions: int = 0
    deletions: int = 0
    samples: int = 0
    alerts: int = 0
    errors: int = 0
    batches: int = 0
    reasons: list[str] = field(default_factory=list)

    def merge(self, other: BatchStats) -> None:
        """Add ``other``'s counters into this one."""
        self.events += other.events
        self.posts_new += other.posts_new
        self.versions += other.versions
        self.deletions += other.deletions
        self.samples += other.samples
        self.alerts += other.alerts
        self.errors += other.errors
        self.batches += other.batches
        room = MAX_REASONS - len(self.reasons)
        if room > 0:
            self.reasons.extend(other.reasons[:room])

    def fail(self, event: object, err: BaseException) -> None:
        """Count one skipped event with its reason."""
        self.errors += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{_describe(event)}: {type(err).__name__}: {err}")


def _describe(event: object) -> str:
    if isinstance(event, PostSeen):
        return f"PostSeen {event.post.channel_id}/{event.post.message_id}"
    if isinstance(event, PostDeleted | EngagementSampled | MediaQueued | MediaStored | MediaLost):
        return f"{type(event).__name__} {event.channel_id}/{event.message_id}"
    return type(event).__name__


# --------------------------------------------------------------------------
# apply_events
# --------------------------------------------------------------------------


# Bookkeeping events: they write only the daemon's own state (sync ranges,
# statuses, the request log, heartbeats, backfill and sweep progress), never
# a row another event of the batch reads, so they commute with every other
# event and apply_events applies them after the batch's content, in their
# order. That keeps the batch's posts in one run for write_prepared (one
# round of statements for the run instead of one per post: on PostgreSQL
# every statement is a round trip, and the live path interleaves a range,
# a difference and a post per pushed update).
_BOOKKEEPING = (
    ChannelStatusChanged,  # coalesced per key (status.apply_channel_statuses)
    RequestsSent,
    DaemonHeartbeat,
    BackfillProgressed,
    SweepProgressed,
)


def prepare_posts(events: Sequence[Event]) -> dict[int, PreparedPost]:
    """The stored values of every PostSeen in ``events`` (a difference's
    too), keyed by ``id(event)``, for ``apply_events(prepared=...)``. Pure
    CPU (tokens, hashes, JSON): the writer runs it before its transaction,
    so that on a shared PostgreSQL archive none of it runs under the pool's
    write lock. A malformed event is left out (apply_events counts it)."""
    out: dict[int, PreparedPost] = {}

    def walk(evs: Sequence[Event]) -> None:
        for ev in evs:
            if isinstance(ev, PostSeen):
                try:
                    out[id(ev)] = prepare_post(ev)
                except Exception:
                    continue
            elif isinstance(ev, DifferenceApplied):
                walk(ev.events)

    walk(events)
    return out


def apply_events(
    conn: sqlite3.Connection,
    events: Sequence[Event],
    rules: Sequence[CompiledRule],
    *,
    prepared: Mapping[int, PreparedPost] | None = None,
) -> BatchStats:
    """Write ``events`` inside the caller's open transaction.

    Idempotent: an event already reflected in the archive changes nothing.
    A malformed event is skipped and counted in ``errors`` (each event, or
    run of PostSeen events, is applied under a SAVEPOINT, so a failure never
    leaves half an event behind). See the module docs of each handler for
    the rows written.

    Order: content events (posts, deletions, channels, pins, media, …) are
    applied in the order given; a DifferenceApplied contributes its events
    there, in place, and its pts after the batch's content. RangeArchived
    events are merged per channel and applied after the content, the
    ChannelStatusChanged events coalesced per key, then the other
    bookkeeping events (``_BOOKKEEPING``) in their order: everything still
    lands in the caller's one transaction, so what a range or a pts claims
    is committed with it or not at all.

    ``prepared``: ``prepare_posts(events)``, computed beforehand (the
    events must be the same objects)."""
    stats = BatchStats(batches=1)
    ready = prepared or {}
    content: list[Event] = []
    ranges: list[RangeArchived] = []
    pts: list[DifferenceApplied] = []
    statuses: list[ChannelStatusChanged] = []
    later: list[Event] = []

    def plan(evs: Sequence[Event]) -> None:
        for ev in evs:
            if isinstance(ev, DifferenceApplied):
                plan(ev.events)
                pts.append(ev)
            elif isinstance(ev, RangeArchived):
                ranges.append(ev)
            elif isinstance(ev, ChannelStatusChanged):
                statuses.append(ev)
            elif isinstance(ev, _BOOKKEEPING):
                later.append(ev)
            else:
                content.append(ev)

    plan(events)
    content, touches = _hoist_channels(content)
    i, n = 0, len(content)
    while i < n:
        if isinstance(content[i], PostSeen):
            j = i
            while j < n and isinstance(content[j], PostSeen):
                j += 1
            _posts_guarded(conn, content[i:j], rules, stats, ready)  # type: ignore[arg-type]
            i = j
        else:
            _one_guarded(conn, content[i], rules, stats)
            i += 1
    book: list[tuple[str, Sequence[Event], Callable[[Sequence[Any]], None]]] = [
        (name, group, apply)
        for name, group, apply in (
            ("tw_touch", touches, lambda g: _touch_channels(conn, g)),
            ("tw_ranges", ranges, lambda g: _ranges_archived(conn, g)),
            ("tw_pts", pts, lambda g: _save_pts(conn, g)),
            ("tw_status", statuses, lambda g: status.apply_channel_statuses(conn, g)),
        )
        if group
    ]
    # All four in one savepoint (two round trips on PostgreSQL: the ranges'
    # read, then the writes with the RELEASE); if it fails, each group in
    # its own, and a failing group event by event.
    if len(book) > 1 and _in_savepoint(conn, "tw_book", lambda: [a(g) for _, g, a in book]) is None:
        stats.events += sum(len(g) for _, g, _ in book)
    else:
        for name, group, apply in book:
            _group_guarded(conn, name, group, apply, stats)
    for ev in later:
        _one_guarded(conn, ev, rules, stats)
    return stats


def _hoist_channels(content: list[Event]) -> tuple[list[Event], list[ChannelSeen]]:
    """Reorder each stretch of PostSeen and ChannelSeen events: its channels
    first (in their order), then its posts (in theirs), so that the posts
    make one run. A ChannelSeen that repeats the channel as the stretch
    already saw it is left out and returned, to move the channel's
    ``last_seen`` only (``_touch_channels``).

    Why it changes nothing a reader sees: a ChannelSeen writes the channels
    row (and its chained changes) and a PostSeen only inserts a bare row
    for a channel not yet known, which an earlier ChannelSeen makes
    unnecessary; the two never read what the other writes otherwise. Every
    difference answer carries its channel beside its posts, so without this
    the live path made runs of one post."""
    out: list[Event] = []
    touches: list[ChannelSeen] = []
    channels: list[Event] = []
    posts: list[Event] = []
    last: dict[int, Any] = {}

    def close() -> None:
        out.extend(channels)
        out.extend(posts)
        channels.clear()
        posts.clear()
        last.clear()

    for ev in content:
        if isinstance(ev, PostSeen):
            posts.append(ev)
        elif isinstance(ev, ChannelSeen):
            cid = ev.channel.id
            if cid in last and last[cid] == ev.channel:
                touches.append(ev)
            else:
                last[cid] = ev.channel
                channels.append(ev)
        else:
            close()
            out.append(ev)
    close()
    return out, touches


def _touch_channels(conn: sqlite3.Connection, group: Sequence[ChannelSeen]) -> None:
    """``last_seen`` of channels seen again unchanged within a batch."""
    send(
        conn,
        "UPDATE channels SET last_seen=max(last_seen, ?) WHERE id=?",
        [(iso(ev.seen_at), positive_id(ev.channel.id)) for ev in group],
        many=True,
    )


def _group_guarded(
    conn: sqlite3.Connection,
    name: str,
    group: Sequence[Event],
    apply: Callable[[Sequence[Any]], None],
    stats: BatchStats,
) -> None:
    """``apply(group)`` in one savepoint; on failure each event alone (the
    bad one counted, the rest kept)."""
    err = _in_savepoint(conn, name, lambda: apply(group))
    if err is None:
        stats.events += len(group)
        return
    if len(group) == 1:
        stats.fail(group[0], err)
        return
    for ev in group:
        _group_guarded(conn, name, [ev], apply, stats)


def _save_pts(conn: sqlite3.Connection, group: Sequence[DifferenceApplied]) -> None:
    """The pts of the differences, the highest per channel (a lower pts
    never replaces a stored one), in one statement."""
    best: dict[int, int] = {}
    for ev in group:
        cid = positive_id(ev.channel_id)
        best[cid] = max(best.get(cid, ev.pts), ev.pts)
    sync.save_pts_many(conn, best)


def _one_guarded(
    conn: sqlite3.Connection, ev: Event, rules: Sequence[CompiledRule], stats: BatchStats
) -> None:
    local = BatchStats()
    err = _in_savepoint(conn, "tw_event", lambda: _apply_one(conn, ev, rules, local))
    if err is not None:
        stats.fail(ev, err)
        return
    local.events += 1
    stats.merge(local)


def _posts_guarded(
    conn: sqlite3.Connection,
    group: Sequence[PostSeen],
    rules: Sequence[CompiledRule],
    stats: BatchStats,
    ready: Mapping[int, PreparedPost],
) -> None:
    local = BatchStats()
    err = _in_savepoint(conn, "tw_posts", lambda: _apply_posts(conn, group, rules, local, ready))
    if err is not None:
        if len(group) == 1:
            stats.fail(group[0], err)
        else:
            # Find the bad event(s): apply one by one, each under its own savepoint.
            for ev in group:
                _posts_guarded(conn, [ev], rules, stats, ready)
        return
    stats.merge(local)


def _in_savepoint(
    conn: sqlite3.Connection, name: str, apply: Callable[[], object]
) -> Exception | None:
    """Run ``apply`` under SAVEPOINT ``name``: released on success (None),
    rolled back and released on failure (the error is returned, not raised,
    so one bad event never loses the rest of the batch)."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        apply()
        # Inside the try: on PostgreSQL the writes ``db.send`` left waiting
        # go with the RELEASE, and their error is this savepoint's.
        conn.execute(f"RELEASE {name}")
    except Exception as err:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        return err
    return None


def _apply_one(
    conn: sqlite3.Connection, ev: Event, rules: Sequence[CompiledRule], stats: BatchStats
) -> None:
    if isinstance(ev, ChannelSeen):
        _channel_seen(conn, ev)
    elif isinstance(ev, CaptureStarted):
        _capture_started(conn, ev)
    elif isinstance(ev, HeadAnchored):
        row = conn.execute("SELECT hash FROM chain WHERE seq=?", (ev.seq,)).fetchone()
        if row is None or row[0] != ev.hash:
            raise ValueError(f"chain record {ev.seq} is not {ev.hash}: nothing to anchor")
        conn.execute(
            "INSERT INTO anchors(seq, hash, tsa, token, gen_time, requested_at)"
            " VALUES (?,?,?,?,?,?)",
            (ev.seq, ev.hash, ev.tsa, ev.token, iso(ev.gen_time), iso(ev.requested_at)),
        )
    elif isinstance(ev, PostDeleted):
        _post_deleted(conn, ev, rules, stats)
    elif isinstance(ev, EngagementSampled):
        _engagement(conn, ev, stats)
    elif isinstance(ev, DiscussionLinked):
        comments.link(conn, ev)
    elif isinstance(ev, SweepProgressed):
        sync.save_sweep(conn, positive_id(ev.channel_id), ev.cursor, ev.checked, ev.done)
    elif isinstance(ev, RequestsSent):
        sync.log_requests(conn, ev.requests)
    elif isinstance(ev, PollResultsSeen):
        events.results_seen(conn, ev)
    elif isinstance(ev, PollSeen):
        events.poll_seen(
            conn, positive_id(ev.channel_id), positive_id(ev.message_id), ev.poll,
            iso(ev.seen_at), ev.source,
        )  # fmt: skip
    elif isinstance(ev, PinChanged):
        events.pin_changed(conn, ev)
    elif isinstance(ev, ChannelActionSeen):
        events.action_seen(conn, ev)
    elif isinstance(ev, MediaQueued | MediaStored | MediaLost | MediaProgress):
        media.apply_event(conn, ev)
    elif isinstance(ev, ChannelPhotoStored):
        photo_files.apply_stored(conn, ev)
    elif isinstance(ev, MediaHashed):
        phash.record(conn, phash.PerceptualHash(ev.sha256, ev.phash, ev.algo))
    elif isinstance(ev, BackfillProgressed):
        conn.execute(
            "INSERT INTO sync_state(channel_id, backfill_oldest, backfill_done, backfill_target,"
            " updated_at) VALUES (?,?,?,?,?) ON CONFLICT(channel_id) DO UPDATE SET"
            " backfill_oldest=excluded.backfill_oldest, backfill_done=excluded.backfill_done,"
            " backfill_target=coalesce(excluded.backfill_target, sync_state.backfill_target),"
            " updated_at=excluded.updated_at"
            " WHERE sync_state.backfill_oldest IS NOT excluded.backfill_oldest"
            " OR sync_state.backfill_done IS NOT excluded.backfill_done"
            " OR (excluded.backfill_target IS NOT NULL"
            " AND sync_state.backfill_target IS NOT excluded.backfill_target)",
            (
                positive_id(ev.channel_id),
                ev.oldest_id,
                int(bool(ev.done)),
                ev.target_count,
                now_iso(),
            ),
        )
    elif isinstance(ev, ChannelStatusChanged):
        status.apply_channel_status(conn, ev)
    elif isinstance(ev, DaemonHeartbeat):
        status.apply_heartbeat(conn, ev)
    else:
        raise TypeError(f"not an archive event: {type(ev).__name__}")


def _channel_seen(conn: sqlite3.Connection, ev: ChannelSeen) -> None:
    """Upsert the channel; a title/username/about that differs from a known
    previous value adds a channel_changes row. ``None`` means "not known"
    and never overwrites; an empty string username records its removal."""
    ch = ev.channel
    cid = positive_id(ch.id)
    at = iso(ev.seen_at)
    row = conn.execute(
        "SELECT title, username, about, subscribers FROM channels WHERE id=?", (cid,)
    ).fetchone()
    # The subscriber count and photo (store/events.py).
    events.channel_seen(conn, ch, at, None if row is None else row[3])
    new = {"title": ch.title, "username": ch.username, "about": ch.about}
    if row is None:
        send(
            conn,
            "INSERT INTO channels(id, access_hash, username, title, about, subscribers,"
            " first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?)",
            (cid, ch.access_hash, ch.username or None, ch.title, ch.about, ch.subscribers, at, at),
        )
        if ch.username or ch.title is not None or ch.about is not None:
            chain.append(conn, "channel", None, [cid, ch.username or None, ch.title, ch.about, at])
        return
    sets: list[str] = []
    args: list[Any] = []
    state = {"title": row[0], "username": row[1], "about": row[2]}
    for i, name in enumerate(("title", "username", "about")):
        value = new[name]
        if value is None:
            continue
        stored = value or None  # "" = removed
        old = row[i]
        if stored != old:
            if old is not None:
                send(
                    conn,
                    "INSERT INTO channel_changes(channel_id, field, old_value, new_value,"
                    " captured_at) VALUES (?,?,?,?,?)",
                    (cid, name, old, stored, at),
                )
            sets.append(f"{name}=?")
            args.append(stored)
            state[name] = stored
    if sets:  # the fields changed (or became known): chain the new state
        chain.append(
            conn, "channel", None, [cid, state["username"], state["title"], state["about"], at]
        )
    if ch.access_hash is not None:
        sets.append("access_hash=?")
        args.append(ch.access_hash)
    if ch.subscribers is not None:
        sets.append("subscribers=?")
        args.append(ch.subscribers)
    sets.append("last_seen=max(last_seen, ?)")
    sets.append("first_seen=min(first_seen, ?)")
    args.extend((at, at, cid))
    send(conn, f"UPDATE channels SET {', '.join(sets)} WHERE id=?", args)


def _capture_started(conn: sqlite3.Connection, ev: CaptureStarted) -> None:
    """One capture_sessions row per session id, chained (a replay changes nothing)."""
    if not isinstance(ev.id, str) or not ev.id:
        raise ValueError(f"capture session id must be a non-empty string, got {ev.id!r}")
    fields = [
        ev.id, iso(ev.started_at), ev.source, ev.account, ev.telewatch_version,
        ev.telethon_version, ev.api_layer, ev.clock_offset_ms,
    ]  # fmt: skip
    cur = conn.execute(
        "INSERT OR IGNORE INTO capture_sessions(id, started_at, source, account,"
        " telewatch_version, telethon_version, api_layer, clock_offset_ms)"
        " VALUES (?,?,?,?,?,?,?,?)",
        fields,
    )
    if cur.rowcount == 1:
        chain.append(conn, "capture", None, fields)


def _post_deleted(
    conn: sqlite3.Connection, ev: PostDeleted, rules: Sequence[CompiledRule], stats: BatchStats
) -> None:
    """One tombstone per post (later detections change nothing), chained,
    mirrored into posts.deleted_at, and evaluated as a ``delete`` alert."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    if ev.method not in ("event", "reconcile", "import"):
        raise ValueError(f"unknown deletion method {ev.method!r}")
    at = iso(ev.detected_at)
    prev = conn.execute(
        "SELECT d.id, p.deleted_at IS NULL AND p.id IS NOT NULL FROM deletions d"
        " LEFT JOIN posts p ON p.channel_id = d.channel_id AND p.message_id = d.message_id"
        " WHERE d.channel_id = ? AND d.message_id = ?",
        (cid, mid),
    ).fetchone()
    if prev is not None:
        # Already tombstoned. If a capture withdrew that (inferred) tombstone
        # since, this deletion puts it back, recorded (and chained) as a change.
        if prev[1]:
            cur = conn.execute(
                "INSERT INTO deletion_changes(channel_id, message_id, deletion_id, change,"
                " detected_at, source) VALUES (?,?,?,'deleted_again',?,?)",
                (cid, mid, prev[0], at, ev.method),
            )
            assert cur.lastrowid is not None
            chain.append(
                conn, "deletion_change", cur.lastrowid, [cid, mid, "deleted_again", at, ev.method]
            )
            conn.execute(
                "UPDATE posts SET deleted_at=? WHERE channel_id=? AND message_id=?", (at, cid, mid)
            )
            stats.deletions += 1
        return
    # The window: alive when last captured (a version or a sample) or when
    # the source last saw it, gone at ``at``.
    seen = conn.execute(
        "SELECT max(t) FROM (SELECT max(captured_at) AS t FROM post_versions"
        " WHERE channel_id=? AND message_id=? UNION ALL SELECT max(sampled_at) FROM engagement"
        " WHERE channel_id=? AND message_id=?) AS seen",
        (cid, mid, cid, mid),
    ).fetchone()[0]
    if ev.last_seen_alive is not None:
        told = iso(ev.last_seen_alive)
        seen = told if seen is None or told > seen else seen
    if seen is not None and seen > at:
        seen = at
    cur = conn.execute(
        "INSERT INTO deletions(channel_id, message_id, detected_at, method, last_seen_at)"
        " VALUES (?,?,?,?,?)",
        (cid, mid, at, ev.method, seen),
    )
    assert cur.lastrowid is not None
    chain.append(conn, "deletion", cur.lastrowid, [cid, mid, at, ev.method, seen])
    conn.execute(
        "UPDATE posts SET deleted_at=? WHERE channel_id=? AND message_id=?", (at, cid, mid)
    )
    stats.deletions += 1
    row = conn.execute(
        "SELECT p.text, c.username FROM channels c LEFT JOIN posts p"
        " ON p.channel_id=c.id AND p.message_id=? WHERE c.id=?",
        (mid, cid),
    ).fetchone()
    text = (row[0] or "") if row else ""
    stats.alerts += evaluate(conn, rules, "delete", cid, mid, text, row[1] if row else None, at)


def _engagement(conn: sqlite3.Connection, ev: EngagementSampled, stats: BatchStats) -> None:
    """Append one sample (a sample at the same time is kept once); the posts
    row mirrors the newest sample's counters."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    at = iso(ev.sampled_at)
    counters = engagement_row(ev.engagement)
    cur = conn.execute(
        "INSERT OR IGNORE INTO engagement(channel_id, message_id, sampled_at, views, forwards,"
        " replies, reactions) VALUES (?,?,?,?,?,?,?)",
        (cid, mid, at, *counters),
    )
    if cur.rowcount == 1:
        stats.samples += 1
        chain.append(conn, "engagement", None, [cid, mid, at, *counters])
        conn.execute(
            "UPDATE posts SET views=?, forwards=?, replies=? WHERE channel_id=? AND message_id=?"
            " AND NOT EXISTS (SELECT 1 FROM engagement WHERE channel_id=? AND message_id=?"
            " AND sampled_at > ?)",
            (*counters[:3], cid, mid, cid, mid, at),
        )


def _ranges_archived(conn: sqlite3.Connection, group: Sequence[RangeArchived]) -> None:
    """Merge each [lo, hi] of ``group`` with every overlapping or adjacent
    stored range of its channel: the channels' stored ranges are read in one
    statement, merged here, and the changed ones replaced in two."""
    wanted: dict[int, list[tuple[int, int]]] = {}
    for ev in group:
        lo, hi = int(ev.lo_id), int(ev.hi_id)
        if lo > hi or lo < 0:
            raise ValueError(f"bad range {lo}..{hi}")
        wanted.setdefault(positive_id(ev.channel_id), []).append((lo, hi))
    spans = {c: (min(r[0] for r in rs), max(r[1] for r in rs)) for c, rs in wanted.items()}
    stored: dict[int, list[tuple[int, int]]] = {}
    for cid, lo, hi in sync.stored_ranges(conn, spans):
        stored.setdefault(cid, []).append((lo, hi))
    deletes: list[tuple[int, int]] = []
    inserts: list[tuple[int, int, int]] = []
    for cid, new in wanted.items():
        old = stored.get(cid, [])
        merged = _merge_ranges([*old, *new])
        old_set = set(old)
        keep = {r for r in merged if r in old_set}
        deletes += [(cid, lo) for lo, hi in old if (lo, hi) not in keep]
        inserts += [(cid, lo, hi) for lo, hi in merged if (lo, hi) not in keep]
    if deletes:
        send(conn, "DELETE FROM sync_ranges WHERE channel_id=? AND lo_id=?", deletes, many=True)
    if inserts:
        send(
            conn, "INSERT INTO sync_ranges(channel_id, lo_id, hi_id) VALUES (?,?,?)", inserts,
            many=True,
        )  # fmt: skip


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of closed integer intervals, adjacent ones joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _apply_posts(
    conn: sqlite3.Connection,
    group: Sequence[PostSeen],
    rules: Sequence[CompiledRule],
    stats: BatchStats,
    ready: Mapping[int, PreparedPost],
) -> None:
    """Prepare each event (a malformed one is counted and skipped), then
    write the run with store.posts.write_prepared."""
    prepared: list[PreparedPost] = []
    extras: list[PostSeen] = []
    for ev in group:
        try:
            prepared.append(ready.get(id(ev)) or prepare_post(ev))
        except Exception as err:
            stats.fail(ev, err)
            continue
        if ev.post.poll is not None or ev.post.pinned is not None:
            extras.append(ev)
    st = write_prepared(conn, prepared, rules)
    events.posts_seen(conn, extras)  # polls and pinned state (store/events.py)
    ok = {(p.channel_id, p.message_id) for p in prepared}
    for ev in group:
        post = ev.post
        if post.discussion is not None and (positive_id(post.channel_id), post.message_id) in ok:
            comments.record(conn, post, iso(ev.seen_at))
    stats.posts_new += st.posts_new
    stats.versions += st.versions
    stats.samples += st.samples
    stats.alerts += st.alerts
    stats.events += len(prepared)


# --------------------------------------------------------------------------
# Writer: the asyncio front end.
# --------------------------------------------------------------------------


class Writer:
    """The archive's single writer.

    ``async with Writer(path) as w: await w.put(event)``. Events are queued
    (bounded: ``put`` waits when the queue is full) and one task commits them
    in batches of up to ``batch_size`` events, waiting at most ``max_delay``
    seconds for a batch to fill. ``flush()`` returns once everything put so
    far is committed. Leaving the block flushes and closes. A committed batch
    survives kill -9 (WAL, synchronous=NORMAL). If a commit fails (disk full,
    database locked for longer than the busy timeout), ``put``/``flush``
    raise that error from then on."""

    def __init__(
        self,
        path: Path,
        *,
        rules: Sequence[AlertRule] = (),
        batch_size: int = 500,
        max_delay: float = 0.05,
    ) -> None:
        self.path = Path(path)
        self.batch_size = max(1, batch_size)
        self.max_delay = max_delay
        self.stats = BatchStats()
        self._rules = compile_rules(rules)
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=self.batch_size * 4)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telewatch-writer")
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        # Set by ``abandon``: the exit does not wait for what is still queued.
        self._abandoned = False
        self._identity: tuple[int, int] | None = None

    def set_rules(self, rules: Sequence[AlertRule]) -> None:
        """Replace the alert rules (config reload); batches from now on use them."""
        self._rules = compile_rules(rules)

    async def __aenter__(self) -> Writer:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open)
        self._task = asyncio.create_task(self._drain(), name="telewatch-writer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if (
                exc is None
                and not self._abandoned
                and self._failure is None
                and self._task is not None
                and not self._task.done()
            ):
                await self._queue.join()
        finally:
            if self._task is not None:
                self._task.cancel()
                # asyncio.wait, not ``suppress(CancelledError): await``: a
                # cancellation of the caller must not be swallowed with the task's.
                try:
                    await asyncio.wait({self._task})
                finally:  # even when the caller is cancelled meanwhile
                    t = self._task
                    if t.done() and not t.cancelled() and t.exception() is not None:
                        _log.error("writer task failed", exc_info=t.exception())
                    await self._close_connection()
            else:
                await self._close_connection()
        if self._failure is not None and exc is None:
            raise self._failure

    async def _close_connection(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=True)

    def _open(self) -> None:
        migrate(self.path)
        self._conn = connect(self.path, readonly=False)
        self._identity = _file_identity(self.path)

    def _check_identity(self) -> None:
        """ArchiveGone when the archive file is no longer the one opened (a
        deleted file stays writable through our descriptor, so SQLite would
        go on committing into it and everything would be lost at exit)."""
        now = _file_identity(self.path)
        if now == self._identity:
            return
        what = "was deleted" if now is None else "was replaced by another file"
        msg = (
            f"archive {self.path} {what} while the daemon was writing to it; stopping so that"
            " nothing more is written where nobody can read it. Restore the file (or move the"
            " new one away) and start again"
        )
        _log.error(msg)
        raise ArchiveGone(msg)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def put(self, event: Event) -> None:
        """Queue one event (waits while the queue is full)."""
        if self._failure is not None:
            raise self._failure
        if self._task is None:
            raise RuntimeError("Writer used outside `async with`")
        await self._queue.put(event)

    def abandon(self) -> int:
        """Leave the events still queued uncommitted (a stop past its budget):
        the exit then waits only for the batch being committed. Returns how
        many were left. Safe by design: a channel's catch-up state is committed
        with the events it covers, so the next start fetches them again."""
        self._abandoned = True
        return self._queue.qsize()

    async def flush(self) -> BatchStats:
        """Wait until every event put so far is committed; returns ``stats``."""
        if self._task is not None and not self._task.done():
            await self._queue.join()
        if self._failure is not None:
            raise self._failure
        return self.stats

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_delay
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can
                # lose the exit's cancellation when an event arrives in the
                # same loop turn (CPython gh-86296), and the exit then waited
                # for this task forever.
                try:
                    async with asyncio.timeout(remaining):
                        batch.append(await self._queue.get())
                except TimeoutError:
                    break
            try:
                if self._failure is None:
                    st = await loop.run_in_executor(self._executor, self._commit, batch)
                    self.stats.merge(st)
            except Exception as err:
                self._failure = err
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _commit(self, batch: Sequence[Event]) -> BatchStats:
        conn = self._conn
        assert conn is not None
        self._check_identity()
        ready = prepare_posts(batch)  # before the transaction (and its write lock)
        conn.execute("BEGIN IMMEDIATE")
        try:
            st = apply_events(conn, batch, self._rules, prepared=ready)
            conn.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (disk full):
            # a second ROLLBACK would replace the cause with "no transaction".
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if is_postgres(conn):
            # The next block's search index, built before a batch needs it
            # (not under the pool's write lock).
            from telewatch.store import pg

            assert isinstance(conn, pg.PgConnection)
            pg.build_ahead(conn)
        return st


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of ``path``, None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)
