"""The daemon's status as the archive records it (tables ``daemon_runs`` and
``channel_status``), for the dashboard and ``telewatch status``.

Write side (called by the store's writer inside its transaction, or by any
single writer): ``apply_heartbeat`` and ``apply_channel_status``.

Read side (any read-only connection; cheap, safe to call every second):

* ``daemon_status(conn) -> DaemonStatus | None``: the latest daemon run, or
  None when no daemon ever ran on this archive. ``is_stale`` is True when the
  run stopped cleanly or has not beaten for ``STALE_AFTER`` seconds (the
  daemon beats every few seconds, so a stale run is dead or hung).
* ``channel_statuses(conn) -> list[ChannelStatusRow]``: one row per active
  watch-list entry (state ``pending`` until the daemon reports on it) plus any
  other channel with a status row, ordered by label.

Counters in the heartbeat are ``{"posts": n, "errors": n, "malformed": n,
"flood_waits": n, "requests": n, "reconnects": n, "errors/<key>": n, ...}``;
``stopped`` = 1 marks a clean shutdown.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from telewatch.models import ChannelStatusChanged, DaemonHeartbeat
from telewatch.store import sync
from telewatch.store.db import iso, send

STALE_AFTER = 20.0
"""Seconds without a heartbeat after which a run counts as not running."""


def _iso(dt: datetime) -> str:
    return iso(dt)


def _parse(s: str | None) -> datetime | None:
    if not s:
        return None
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def apply_heartbeat(conn: sqlite3.Connection, hb: DaemonHeartbeat) -> None:
    """Insert or refresh the ``daemon_runs`` row of ``(pid, started_at)``."""
    conn.execute(
        "INSERT INTO daemon_runs (pid, version, started_at, beat_at, counters) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(pid, started_at) DO UPDATE SET "
        "beat_at = excluded.beat_at, counters = excluded.counters, version = excluded.version",
        (
            hb.pid,
            hb.version,
            _iso(hb.started_at),
            _iso(hb.beat_at),
            json.dumps(dict(hb.counters), separators=(",", ":"), sort_keys=True)
            if hb.counters
            else None,
        ),
    )


def apply_channel_status(conn: sqlite3.Connection, ev: ChannelStatusChanged) -> None:
    """Upsert the ``channel_status`` row of ``ev.key``."""
    apply_channel_statuses(conn, [ev])


def apply_channel_statuses(
    conn: sqlite3.Connection, events: Sequence[ChannelStatusChanged]
) -> None:
    """Upsert the ``channel_status`` rows of ``events`` in one statement, one
    row per key: the key's last event, with the last channel id any of its
    events named (what applying them one by one leaves, since a status
    without a channel id keeps the stored one). A polling daemon reports
    every channel each round, so a writer batch often holds several
    statuses of one key."""
    last: dict[str, tuple[ChannelStatusChanged, int | None]] = {}
    for ev in events:
        prev = last.get(ev.key)
        cid = ev.channel_id if ev.channel_id is not None else (prev[1] if prev else None)
        last[ev.key] = (ev, cid)
    send(
        conn,
        "INSERT INTO channel_status (key, channel_id, state, detail, flood_until, changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
        "channel_id = COALESCE(excluded.channel_id, channel_status.channel_id), "
        "state = excluded.state, detail = excluded.detail, "
        "flood_until = excluded.flood_until, changed_at = excluded.changed_at",
        [
            (
                ev.key,
                cid,
                ev.state,
                ev.detail,
                None if ev.flood_until is None else _iso(ev.flood_until),
                _iso(ev.changed_at),
            )
            for ev, cid in last.values()
        ],
        many=True,
    )


def pg_statements(
    conn: sqlite3.Connection, *, reset: bool = False, limit: int = 15
) -> list[tuple[int, float, float, str]]:
    """(calls, total ms, mean ms, query) of the statements that cost a
    PostgreSQL server most, from ``pg_stat_statements`` (benchmarks: the
    server must preload it); ``reset`` creates the extension and clears it."""
    if reset:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
        conn.commit()
        return []
    return [
        (int(r[0]), float(r[1]), float(r[2]), " ".join(str(r[3]).split())[:150])
        for r in conn.execute(
            "SELECT calls, total_exec_time, mean_exec_time, query FROM pg_stat_statements"
            " ORDER BY total_exec_time DESC LIMIT ?",
            (limit,),
        )
    ]


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """The latest daemon run."""

    pid: int
    version: str
    started_at: datetime
    beat_at: datetime
    counters: dict[str, int]
    now: datetime

    @property
    def stopped(self) -> bool:
        """The daemon shut down cleanly (its last beat said so)."""
        return bool(self.counters.get("stopped"))

    @property
    def is_stale(self) -> bool:
        """Not running: stopped cleanly or silent for ``STALE_AFTER`` seconds."""
        return self.stopped or (self.now - self.beat_at).total_seconds() > STALE_AFTER

    @property
    def uptime(self) -> float:
        """Seconds from start to the last beat."""
        return (self.beat_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class ChannelStatusRow:
    """One watched channel as the dashboard shows it.

    ``state``: pending | resolving | backfilling | live | polling | flood_wait |
    private | renamed | error | stopped. ``lag`` is seconds between the newest
    post's publication and its capture (None without posts).
    ``backfill_progress`` is 0..1 (1 when done; None when unknown)."""

    key: str
    channel_id: int | None
    username: str | None
    title: str | None
    mode: str | None
    state: str
    detail: str | None
    flood_until: datetime | None
    changed_at: datetime | None
    last_post_at: datetime | None
    lag: float | None
    posts: int
    backfill_done: bool
    backfill_progress: float | None
    errors: int
    sweep_checked: int = 0
    """Posts the full sweep re-read in its current pass."""
    sweep_total: int = 0
    """Archived, not deleted posts (what one pass re-reads)."""
    sweep_last_pass_at: datetime | None = None
    """End of the last complete pass (None: not swept yet)."""
    sweep_passes: int = 0

    @property
    def sweep_progress(self) -> float | None:
        """Share of the current pass done (0..1); None before the first look."""
        if self.sweep_checked == 0 and self.sweep_last_pass_at is None:
            return None
        return min(1.0, self.sweep_checked / max(1, self.sweep_total))

    @property
    def label(self) -> str:
        """``@username``, the title or the id, for humans."""
        if self.username:
            return f"@{self.username}"
        if self.title:
            return self.title
        return self.key.split(":", 1)[-1]


def daemon_status(conn: sqlite3.Connection, now: datetime | None = None) -> DaemonStatus | None:
    """The latest run (see the module contract), or None."""
    r = conn.execute(
        "SELECT pid, version, started_at, beat_at, counters FROM daemon_runs "
        "ORDER BY beat_at DESC, id DESC LIMIT 1"
    ).fetchone()
    if r is None:
        return None
    counters = {str(k): int(v) for k, v in json.loads(r[4] or "{}").items()}
    started, beat = _parse(r[2]), _parse(r[3])
    assert started is not None and beat is not None
    return DaemonStatus(
        pid=int(r[0]),
        version=str(r[1]),
        started_at=started,
        beat_at=beat,
        counters=counters,
        now=now or datetime.now(UTC),
    )


def channel_statuses(conn: sqlite3.Connection) -> list[ChannelStatusRow]:
    """Every active watch-list entry and every channel with a status row."""
    run = daemon_status(conn)
    counters = run.counters if run else {}
    rows: dict[str, dict[str, object]] = {}
    for key, username, channel_id, mode in conn.execute(
        "SELECT key, username, channel_id, mode FROM watchlist WHERE removed_at IS NULL"
    ):
        rows[key] = {"username": username, "channel_id": channel_id, "mode": mode}
    status: dict[str, tuple[object, ...]] = {}
    for r in conn.execute(
        "SELECT key, channel_id, state, detail, flood_until, changed_at FROM channel_status"
    ):
        status[str(r[0])] = tuple(r)
        rows.setdefault(str(r[0]), {"username": None, "channel_id": r[1], "mode": None})
    out = []
    for key, base in rows.items():
        st = status.get(key)
        cid = st[1] if st and st[1] is not None else base["channel_id"]
        channel_id = None if cid is None else int(str(cid))
        username, title = base["username"], None
        posts, last_post, lag = 0, None, None
        done, progress = False, None
        sweep: tuple[int, int, datetime | None, int] = (0, 0, None, 0)
        if channel_id is not None:
            ch = conn.execute(
                "SELECT username, title FROM channels WHERE id = ?", (channel_id,)
            ).fetchone()
            if ch is not None:
                username, title = ch[0] or username, ch[1]
            last = conn.execute(
                "SELECT date, first_seen FROM posts WHERE channel_id = ? "
                "ORDER BY date DESC LIMIT 1",
                (channel_id,),
            ).fetchone()
            if last is not None:
                last_post = _parse(last[0])
                seen = _parse(last[1])
                if last_post and seen:
                    lag = max(0.0, (seen - last_post).total_seconds())
            posts = int(
                conn.execute(
                    "SELECT COUNT(*) FROM posts WHERE channel_id = ?", (channel_id,)
                ).fetchone()[0]
            )
            ss = conn.execute(
                "SELECT backfill_done, backfill_target FROM sync_state WHERE channel_id = ?",
                (channel_id,),
            ).fetchone()
            if ss is not None:
                done = bool(ss[0])
                if done:
                    progress = 1.0
                elif ss[1]:
                    progress = min(1.0, posts / max(1, int(ss[1])))
            sw = sync.sweep_states(conn, channel_id).get(channel_id)
            if sw is not None:
                sweep = (sw.checked, 0, sw.last_pass_at, sw.passes)
            sweep = (sweep[0], sync.live_post_count(conn, channel_id), sweep[2], sweep[3])
        out.append(
            ChannelStatusRow(
                key=key,
                channel_id=channel_id,
                username=None if username is None else str(username),
                title=None if title is None else str(title),
                mode=None if base["mode"] is None else str(base["mode"]),
                state=str(st[2]) if st else "pending",
                detail=None if not st or st[3] is None else str(st[3]),
                flood_until=_parse(None if not st else _opt_str(st[4])),
                changed_at=_parse(None if not st else _opt_str(st[5])),
                last_post_at=last_post,
                lag=lag,
                posts=posts,
                backfill_done=done,
                backfill_progress=progress,
                errors=int(counters.get(f"errors/{key}", 0)),
                sweep_checked=sweep[0],
                sweep_total=sweep[1],
                sweep_last_pass_at=sweep[2],
                sweep_passes=sweep[3],
            )
        )
    out.sort(key=lambda r: r.label.lower())
    return out


def _opt_str(v: object) -> str | None:
    return None if v is None else str(v)


def reported_count(conn: sqlite3.Connection) -> int:
    """How many channels the daemon has reported a working state for (past
    ``pending`` and ``resolving``)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM channel_status WHERE state NOT IN ('pending', 'resolving')"
        ).fetchone()[0]
    )
