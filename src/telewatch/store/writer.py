"""The one write path into the archive.

``apply_events`` turns events (models.Event) into rows inside the caller's
transaction; ``Writer`` is the asyncio front end the daemon and importers
use: a bounded queue drained by one task that commits each batch in one
``BEGIN IMMEDIATE`` transaction on a dedicated thread.

Why a thread of our own rather than aiosqlite's per-statement hops: a batch
is hundreds of statements prepared in Python; running the whole
``apply_events`` call in one executor job costs one thread hop per batch
instead of one per statement (measured in bench/bench_store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from telewatch.models import (
    AlertRule,
    BackfillProgressed,
    ChannelSeen,
    ChannelStatusChanged,
    DaemonHeartbeat,
    Engagement,
    EngagementSampled,
    Entity,
    Event,
    Media,
    Post,
    PostDeleted,
    PostSeen,
    RangeArchived,
)
from telewatch.store import chain
from telewatch.store.alerts import AlertKind, CompiledRule, compile_rules, evaluate
from telewatch.store.db import connect, iso, migrate, now_iso
from telewatch.text import guess_language, index_text

MAX_REASONS = 50  # error reasons kept per BatchStats (the count is exact)


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
    if isinstance(event, PostDeleted | EngagementSampled):
        return f"{type(event).__name__} {event.channel_id}/{event.message_id}"
    return type(event).__name__


# --------------------------------------------------------------------------
# Encodings shared with queries/export (docs/SCHEMA.md documents them).
# --------------------------------------------------------------------------


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def entities_json(entities: Sequence[Entity]) -> str | None:
    """Stored form of entities: compact JSON list, None when there are none."""
    if not entities:
        return None
    out = []
    for e in entities:
        d: dict[str, Any] = {"type": e.type, "offset": e.offset, "length": e.length}
        if e.url is not None:
            d["url"] = e.url
        out.append(d)
    return _dumps(out)


def media_json(media: Media | None) -> str | None:
    """Stored form of a media summary: compact JSON without null fields."""
    if media is None:
        return None
    return _dumps({k: v for k, v in asdict(media).items() if v is not None})


def reactions_json(reactions: Sequence[tuple[str, int]]) -> str | None:
    """Stored form of reactions: JSON object {emoji_or_id: count}."""
    return _dumps(dict(reactions)) if reactions else None


_URL = re.compile(r"(?:https?://|(?<![\w.])t\.me/)[^\s<>\"'«»()\[\]]+", re.IGNORECASE)
_TME = re.compile(
    r"(?:https?://)?(?:t|telegram)\.me/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})(?:/(\d+))?",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z][A-Za-z0-9_]{3,31})")


def extract_links(text: str, entities: Sequence[Entity]) -> tuple[str | None, str | None]:
    """(links JSON, tme_refs JSON) for a post: outgoing URLs from the text and
    text_link entities; t.me references and @mentions as
    ``{"username", "message_id"?}``. None when empty."""
    links: list[str] = [e.url for e in entities if e.url]
    if "http" in text or "t.me" in text or "T.me" in text:
        links.extend(m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text))
    refs: list[dict[str, Any]] = []
    seen: set[tuple[str, int | None]] = set()
    for url in links:
        m = _TME.match(url) or _TME.search(url)
        if m and m.group(1).lower() not in {"joinchat", "addstickers", "share", "proxy", "c"}:
            key = (m.group(1).lower(), int(m.group(2)) if m.group(2) else None)
            if key not in seen:
                seen.add(key)
                refs.append({"username": key[0], **({"message_id": key[1]} if key[1] else {})})
    if "@" in text:
        for m in _MENTION.finditer(text):
            key = (m.group(1).lower(), None)
            if key not in seen:
                seen.add(key)
                refs.append({"username": key[0]})
    uniq = list(dict.fromkeys(links))
    return (_dumps(uniq) if uniq else None, _dumps(refs) if refs else None)


# --------------------------------------------------------------------------
# apply_events
# --------------------------------------------------------------------------


def apply_events(
    conn: sqlite3.Connection, events: Sequence[Event], rules: Sequence[CompiledRule]
) -> BatchStats:
    """Write ``events`` in order inside the caller's open transaction.

    Idempotent: an event already reflected in the archive changes nothing.
    A malformed event is skipped and counted in ``errors`` (each event, or
    run of PostSeen events, is applied under a SAVEPOINT, so a failure never
    leaves half an event behind). See the module docs of each handler for
    the rows written."""
    stats = BatchStats(batches=1)
    i, n = 0, len(events)
    while i < n:
        if isinstance(events[i], PostSeen):
            j = i
            while j < n and isinstance(events[j], PostSeen):
                j += 1
            _posts_guarded(conn, events[i:j], rules, stats)  # type: ignore[arg-type]
            i = j
        else:
            _one_guarded(conn, events[i], rules, stats)
            i += 1
    return stats


def _one_guarded(
    conn: sqlite3.Connection, ev: Event, rules: Sequence[CompiledRule], stats: BatchStats
) -> None:
    local = BatchStats()
    conn.execute("SAVEPOINT tw_event")
    try:
        _apply_one(conn, ev, rules, local)
    except Exception as err:
        conn.execute("ROLLBACK TO tw_event")
        conn.execute("RELEASE tw_event")
        stats.fail(ev, err)
        return
    conn.execute("RELEASE tw_event")
    local.events += 1
    stats.merge(local)


def _posts_guarded(
    conn: sqlite3.Connection,
    group: Sequence[PostSeen],
    rules: Sequence[CompiledRule],
    stats: BatchStats,
) -> None:
    local = BatchStats()
    conn.execute("SAVEPOINT tw_posts")
    try:
        _apply_posts(conn, group, rules, local)
    except Exception as err:
        conn.execute("ROLLBACK TO tw_posts")
        conn.execute("RELEASE tw_posts")
        if len(group) == 1:
            stats.fail(group[0], err)
        else:
            # Find the bad event(s): apply one by one, each under its own savepoint.
            for ev in group:
                _posts_guarded(conn, [ev], rules, stats)
        return
    conn.execute("RELEASE tw_posts")
    stats.merge(local)


def _apply_one(
    conn: sqlite3.Connection, ev: Event, rules: Sequence[CompiledRule], stats: BatchStats
) -> None:
    if isinstance(ev, ChannelSeen):
        _channel_seen(conn, ev)
    elif isinstance(ev, PostDeleted):
        _post_deleted(conn, ev, rules, stats)
    elif isinstance(ev, EngagementSampled):
        _engagement(conn, ev, stats)
    elif isinstance(ev, RangeArchived):
        _range_archived(conn, ev)
    elif isinstance(ev, BackfillProgressed):
        conn.execute(
            "INSERT INTO sync_state(channel_id, backfill_oldest, backfill_done, backfill_target,"
            " updated_at) VALUES (?,?,?,?,?) ON CONFLICT(channel_id) DO UPDATE SET"
            " backfill_oldest=excluded.backfill_oldest, backfill_done=excluded.backfill_done,"
            " backfill_target=coalesce(excluded.backfill_target, backfill_target),"
            " updated_at=excluded.updated_at"
            " WHERE backfill_oldest IS NOT excluded.backfill_oldest"
            " OR backfill_done IS NOT excluded.backfill_done"
            " OR (excluded.backfill_target IS NOT NULL"
            " AND backfill_target IS NOT excluded.backfill_target)",
            (_id(ev.channel_id), ev.oldest_id, int(bool(ev.done)), ev.target_count, now_iso()),
        )
    elif isinstance(ev, ChannelStatusChanged):
        conn.execute(
            "INSERT INTO channel_status(key, channel_id, state, detail, flood_until, changed_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET"
            " channel_id=coalesce(excluded.channel_id, channel_id), state=excluded.state,"
            " detail=excluded.detail, flood_until=excluded.flood_until,"
            " changed_at=excluded.changed_at",
            (
                ev.key,
                ev.channel_id,
                ev.state,
                ev.detail,
                iso(ev.flood_until) if ev.flood_until else None,
                iso(ev.changed_at),
            ),
        )
    elif isinstance(ev, DaemonHeartbeat):
        conn.execute(
            "INSERT INTO daemon_runs(pid, version, started_at, beat_at, counters)"
            " VALUES (?,?,?,?,?) ON CONFLICT(pid, started_at) DO UPDATE SET"
            " version=excluded.version, beat_at=excluded.beat_at, counters=excluded.counters",
            (
                ev.pid,
                ev.version,
                iso(ev.started_at),
                iso(ev.beat_at),
                _dumps(dict(ev.counters)) if ev.counters else None,
            ),
        )
    else:
        raise TypeError(f"not an archive event: {type(ev).__name__}")


def _id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"ids must be positive bare Telegram ids, got {value!r}")
    return value


def _channel_seen(conn: sqlite3.Connection, ev: ChannelSeen) -> None:
    """Upsert the channel; a title/username/about that differs from a known
    previous value adds a channel_changes row. ``None`` means "not known"
    and never overwrites; an empty string username records its removal."""
    ch = ev.channel
    cid = _id(ch.id)
    at = iso(ev.seen_at)
    row = conn.execute("SELECT title, username, about FROM channels WHERE id=?", (cid,)).fetchone()
    new = {"title": ch.title, "username": ch.username, "about": ch.about}
    if row is None:
        conn.execute(
            "INSERT INTO channels(id, access_hash, username, title, about, subscribers,"
            " first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?)",
            (cid, ch.access_hash, ch.username or None, ch.title, ch.about, ch.subscribers, at, at),
        )
        return
    sets: list[str] = []
    args: list[Any] = []
    for i, name in enumerate(("title", "username", "about")):
        value = new[name]
        if value is None:
            continue
        stored = value or None  # "" = removed
        old = row[i]
        if stored != old:
            if old is not None:
                conn.execute(
                    "INSERT INTO channel_changes(channel_id, field, old_value, new_value,"
                    " captured_at) VALUES (?,?,?,?,?)",
                    (cid, name, old, stored, at),
                )
            sets.append(f"{name}=?")
            args.append(stored)
    if ch.access_hash is not None:
        sets.append("access_hash=?")
        args.append(ch.access_hash)
    if ch.subscribers is not None:
        sets.append("subscribers=?")
        args.append(ch.subscribers)
    sets.append("last_seen=max(last_seen, ?)")
    sets.append("first_seen=min(first_seen, ?)")
    args.extend((at, at, cid))
    conn.execute(f"UPDATE channels SET {', '.join(sets)} WHERE id=?", args)


def _append_chain(conn: sqlite3.Connection, kind: str, ref_id: int, record: str) -> None:
    seq, prev = chain.chain_head(conn)
    conn.execute(
        "INSERT INTO chain(seq, kind, ref_id, prev_hash, hash) VALUES (?,?,?,?,?)",
        (seq + 1, kind, ref_id, prev, chain.link(prev, record)),
    )


def _post_deleted(
    conn: sqlite3.Connection, ev: PostDeleted, rules: Sequence[CompiledRule], stats: BatchStats
) -> None:
    """One tombstone per post (later detections change nothing), chained,
    mirrored into posts.deleted_at, and evaluated as a ``delete`` alert."""
    cid, mid = _id(ev.channel_id), _id(ev.message_id)
    if ev.method not in ("event", "reconcile", "import"):
        raise ValueError(f"unknown deletion method {ev.method!r}")
    at = iso(ev.detected_at)
    cur = conn.execute(
        "INSERT OR IGNORE INTO deletions(channel_id, message_id, detected_at, method)"
        " VALUES (?,?,?,?)",
        (cid, mid, at, ev.method),
    )
    if cur.rowcount != 1:
        return
    assert cur.lastrowid is not None
    _append_chain(conn, "deletion", cur.lastrowid, chain.deletion_record(cid, mid, at, ev.method))
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


def _engagement_row(e: Engagement) -> tuple[int | None, int | None, int | None, str | None]:
    return (e.views, e.forwards, e.replies, reactions_json(e.reactions))


def _latest_sample(conn: sqlite3.Connection, cid: int, mid: int) -> tuple[Any, ...] | None:
    row = conn.execute(
        "SELECT views, forwards, replies, reactions FROM engagement"
        " WHERE channel_id=? AND message_id=? ORDER BY sampled_at DESC LIMIT 1",
        (cid, mid),
    ).fetchone()
    return None if row is None else tuple(row)


def _engagement(conn: sqlite3.Connection, ev: EngagementSampled, stats: BatchStats) -> None:
    """Append one sample (a sample at the same time is kept once); the posts
    row mirrors the newest sample's counters."""
    cid, mid = _id(ev.channel_id), _id(ev.message_id)
    at = iso(ev.sampled_at)
    counters = _engagement_row(ev.engagement)
    cur = conn.execute(
        "INSERT OR IGNORE INTO engagement(channel_id, message_id, sampled_at, views, forwards,"
        " replies, reactions) VALUES (?,?,?,?,?,?,?)",
        (cid, mid, at, *counters),
    )
    if cur.rowcount == 1:
        stats.samples += 1
        conn.execute(
            "UPDATE posts SET views=?, forwards=?, replies=? WHERE channel_id=? AND message_id=?"
            " AND NOT EXISTS (SELECT 1 FROM engagement WHERE channel_id=? AND message_id=?"
            " AND sampled_at > ?)",
            (*counters[:3], cid, mid, cid, mid, at),
        )


def _range_archived(conn: sqlite3.Connection, ev: RangeArchived) -> None:
    """Merge [lo, hi] with every overlapping or adjacent stored range."""
    cid = _id(ev.channel_id)
    lo, hi = int(ev.lo_id), int(ev.hi_id)
    if lo > hi or lo < 0:
        raise ValueError(f"bad range {lo}..{hi}")
    rows = conn.execute(
        "SELECT lo_id, hi_id FROM sync_ranges WHERE channel_id=? AND lo_id <= ? AND hi_id >= ?",
        (cid, hi + 1, lo - 1),
    ).fetchall()
    if len(rows) == 1 and rows[0][0] <= lo and rows[0][1] >= hi:
        return
    for r in rows:
        lo, hi = min(lo, r[0]), max(hi, r[1])
    conn.executemany(
        "DELETE FROM sync_ranges WHERE channel_id=? AND lo_id=?", [(cid, r[0]) for r in rows]
    )
    conn.execute("INSERT INTO sync_ranges(channel_id, lo_id, hi_id) VALUES (?,?,?)", (cid, lo, hi))


# --------------------------------------------------------------------------
# PostSeen runs: the hot path (imports, backfill), prepared in Python and
# written with executemany. Ids are assigned here (single writer, inside
# BEGIN IMMEDIATE) so that versions, chain and FTS rows can be batched.
# --------------------------------------------------------------------------

_POST_COLS = (
    "id, channel_id, message_id, date, text, entities, media_kind, media, grouped_id,"
    " reply_to_id, fwd_channel_id, fwd_name, fwd_message_id, fwd_date, post_author, links,"
    " tme_refs, lang, edit_date, version_id, version_count, first_seen, views, forwards, replies"
)


@dataclass
class _State:
    """A post as the archive has it (or will have it after this run)."""

    post_id: int
    version_id: int | None
    version_no: int
    chash: str | None
    text: str
    db_text: str | None  # text indexed in FTS before this run; None = new post
    row: list[Any] | None = None  # full posts row for new posts
    changed: bool = False
    latest_sample: tuple[Any, ...] | None = None
    sample_loaded: bool = False
    pending: tuple[Post, str | None, str | None, str | None] | None = None  # update to write


def _load_states(
    conn: sqlite3.Connection, keys: set[tuple[int, int]]
) -> dict[tuple[int, int], _State]:
    by_channel: dict[int, list[int]] = {}
    for cid, mid in keys:
        by_channel.setdefault(cid, []).append(mid)
    out: dict[tuple[int, int], _State] = {}
    for cid, mids in by_channel.items():
        for k in range(0, len(mids), 900):
            part = mids[k : k + 900]
            q = (
                "SELECT p.message_id, p.id, p.version_id, v.version_no, v.content_hash, p.text"
                " FROM posts p LEFT JOIN post_versions v ON v.id = p.version_id"
                f" WHERE p.channel_id=? AND p.message_id IN ({','.join('?' * len(part))})"
            )
            for r in conn.execute(q, (cid, *part)):
                out[(cid, r[0])] = _State(r[1], r[2], r[3] or 0, r[4], r[5], r[5])
    return out


def _next_id(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]) + 1


def _apply_posts(
    conn: sqlite3.Connection,
    group: Sequence[PostSeen],
    rules: Sequence[CompiledRule],
    stats: BatchStats,
) -> None:
    """New post → posts row + version 1; different content → version n+1 and
    the posts row follows; same content → nothing (engagement aside)."""
    prepared: list[tuple[PostSeen, str, str | None, str | None, str, str, str | None]] = []
    for ev in group:
        try:
            p = ev.post
            _id(p.channel_id)
            _id(p.message_id)
            if not isinstance(p.text, str):
                raise TypeError(f"text must be str, got {type(p.text).__name__}")
            ents = entities_json(p.entities)
            med = media_json(p.media)
            prepared.append(
                (
                    ev,
                    iso(p.date),
                    ents,
                    med,
                    chain.content_hash(p.text, ents, med),
                    iso(ev.seen_at),
                    iso(p.edit_date) if p.edit_date else None,
                )
            )
        except Exception as err:
            stats.fail(ev, err)
    if not prepared:
        return
    keys = {(x[0].post.channel_id, x[0].post.message_id) for x in prepared}
    states = _load_states(conn, keys)
    channel_ids = {k[0] for k in keys}
    first_seen: dict[int, str] = {}
    for x in prepared:
        first_seen.setdefault(x[0].post.channel_id, x[5])
    conn.executemany(
        "INSERT OR IGNORE INTO channels(id, first_seen, last_seen) VALUES (?,?,?)",
        [(c, first_seen[c], first_seen[c]) for c in channel_ids],
    )
    next_post = _next_id(conn, "posts")
    next_version = _next_id(conn, "post_versions")
    seq, prev = chain.chain_head(conn)
    versions: list[tuple[Any, ...]] = []
    chain_rows: list[tuple[Any, ...]] = []
    samples: list[tuple[Any, ...]] = []
    alerts: list[tuple[AlertKind, int, int, str, str]] = []

    for ev, date, ents, med, chash, seen, edit in prepared:
        p = ev.post
        key = (p.channel_id, p.message_id)
        st = states.get(key)
        new_version = st is None or st.chash != chash
        if st is None:
            st = _State(next_post, None, 0, None, p.text, None)
            next_post += 1
            states[key] = st
            links, refs = extract_links(p.text, p.entities)
            fwd = p.forward
            st.row = [
                st.post_id, p.channel_id, p.message_id, date, p.text, ents,
                p.media.kind if p.media else None, med, p.grouped_id, p.reply_to,
                fwd.channel_id if fwd else None, fwd.name if fwd else None,
                fwd.message_id if fwd else None,
                iso(fwd.date) if fwd and fwd.date else None,
                p.post_author, links, refs, guess_language(p.text), edit, None, 1, seen,
                None, None, None,
            ]  # fmt: skip
            stats.posts_new += 1
        if new_version:
            vid = next_version
            next_version += 1
            st.version_no += 1
            st.version_id = vid
            st.chash = chash
            st.text = p.text
            versions.append(
                (vid, p.channel_id, p.message_id, st.version_no, p.text, ents, med, chash,
                 edit, seen, ev.source)
            )  # fmt: skip
            record = chain.version_record(
                p.channel_id, p.message_id, st.version_no, chash, edit, seen, ev.source
            )
            seq += 1
            h = chain.link(prev, record)
            chain_rows.append((seq, "version", vid, prev, h))
            prev = h
            stats.versions += 1
            if st.row is not None:
                row = st.row
                row[4], row[5], row[7], row[18] = p.text, ents, med, edit
                row[6] = p.media.kind if p.media else None
                row[19], row[20] = vid, st.version_no
                if st.version_no > 1:
                    links, refs = extract_links(p.text, p.entities)
                    row[15], row[16], row[17] = links, refs, guess_language(p.text)
            else:
                st.changed = True
                st.pending = (p, ents, med, edit)
            kind: AlertKind = "new" if st.version_no == 1 else "edit"
            if rules or kind == "edit":
                alerts.append((kind, p.channel_id, p.message_id, p.text, seen))
        if p.engagement is not None:
            counters = _engagement_row(p.engagement)
            if not st.sample_loaded:
                st.latest_sample = (
                    _latest_sample(conn, p.channel_id, p.message_id)
                    if st.db_text is not None
                    else None
                )
                st.sample_loaded = True
            if st.latest_sample != counters:
                st.latest_sample = counters
                samples.append((p.channel_id, p.message_id, seen, *counters))

    # Write: posts before versions (FK-free but readable order), then FTS.
    new_rows = [st.row for st in states.values() if st.row is not None and st.db_text is None]
    if new_rows:
        conn.executemany(f"INSERT INTO posts({_POST_COLS}) VALUES ({','.join('?' * 25)})", new_rows)
    if versions:
        conn.executemany(
            "INSERT INTO post_versions(id, channel_id, message_id, version_no, text, entities,"
            " media, content_hash, edit_date, captured_at, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            versions,
        )
        conn.executemany(
            "INSERT INTO chain(seq, kind, ref_id, prev_hash, hash) VALUES (?,?,?,?,?)", chain_rows
        )
    updates = []
    fts_delete = []
    for st in states.values():
        if st.pending is not None:
            p, ents, med, edit = st.pending
            links, refs = extract_links(p.text, p.entities)
            updates.append(
                (p.text, ents, p.media.kind if p.media else None, med, links, refs,
                 guess_language(p.text), edit, st.version_id, st.version_no, st.post_id)
            )  # fmt: skip
            old = index_text(st.db_text or "")
            if old:
                fts_delete.append(("delete", st.post_id, old))
    if updates:
        conn.executemany(
            "UPDATE posts SET text=?, entities=?, media_kind=?, media=?, links=?, tme_refs=?,"
            " lang=?, edit_date=?, version_id=?, version_count=? WHERE id=?",
            updates,
        )
    if fts_delete:
        conn.executemany("INSERT INTO posts_fts(posts_fts, rowid, body) VALUES (?,?,?)", fts_delete)
    fts_insert = []
    for st in states.values():
        if st.row is not None or st.changed:
            body = index_text(st.text)
            if body:
                fts_insert.append((st.post_id, body))
    if fts_insert:
        conn.executemany("INSERT INTO posts_fts(rowid, body) VALUES (?,?)", fts_insert)
    if samples:
        cur = conn.executemany(
            "INSERT OR IGNORE INTO engagement(channel_id, message_id, sampled_at, views,"
            " forwards, replies, reactions) VALUES (?,?,?,?,?,?,?)",
            samples,
        )
        stats.samples += max(cur.rowcount, 0)
        conn.executemany(
            "UPDATE posts SET views=?, forwards=?, replies=? WHERE channel_id=? AND message_id=?",
            [(s[3], s[4], s[5], s[0], s[1]) for s in samples],
        )
    usernames: dict[int, str | None] = {}
    for kind_, cid, mid, text, at in alerts:
        if cid not in usernames:
            r = conn.execute("SELECT username FROM channels WHERE id=?", (cid,)).fetchone()
            usernames[cid] = r[0] if r else None
        stats.alerts += evaluate(conn, rules, kind_, cid, mid, text, usernames[cid], at)
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
            if self._failure is None and self._task is not None and not self._task.done():
                await self._queue.join()
        finally:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._close)
            self._executor.shutdown(wait=True)
        if self._failure is not None and exc is None:
            raise self._failure

    def _open(self) -> None:
        migrate(self.path)
        self._conn = connect(self.path, readonly=False)

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
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
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
        conn.execute("BEGIN IMMEDIATE")
        try:
            st = apply_events(conn, batch, self._rules)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return st
