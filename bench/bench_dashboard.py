"""Dashboard figures on a 1,000,000-post archive: start-up to the first full screen,
the cost of each poll query, and how far the live feed trails a writer adding 50
posts/s. The archive is generated with fast SQL (not the writer: we measure reads)
and cached under /tmp."""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telewatch.dashboard.app import make_app
from telewatch.dashboard.panels import FeedPanel
from telewatch.models import Channel, ChannelSeen, Post, PostSeen
from telewatch.store import feed
from telewatch.store.db import migrate
from telewatch.store.writer import Writer

POSTS = 1_000_000
CHANNELS = 200
CACHE = Path("/tmp/telewatch-bench-dashboard-1m.db")
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
WORDS = [
    "взрыв",
    "порт",
    "ميناء",
    "انفجار",
    "بندر",
    "خبر",
    "news",
    "port",
    "ship",
    "tanker",
    "convoy",
    "fire",
    "smoke",
]


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_archive(path: Path) -> None:
    """Write POSTS posts over 200 channels and 60 days, 3% edited, 1% deleted."""
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    migrate(tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(7)
    conn.execute("BEGIN")
    first = _iso(NOW - timedelta(days=61))
    conn.executemany(
        "INSERT INTO channels(id, username, title, first_seen, last_seen) VALUES (?,?,?,?,?)",
        [
            (1600000000 + c, f"bench_{c}", f"Bench channel {c}", first, first)
            for c in range(CHANNELS)
        ],
    )
    span = 60 * 86400
    batch_p, batch_v, batch_d = [], [], []
    vid = 0
    for i in range(1, POSTS + 1):
        cid = 1600000000 + rng.randrange(CHANNELS)
        date = _iso(NOW - timedelta(seconds=span * (POSTS - i) / POSTS))
        text = " ".join(rng.choice(WORDS) for _ in range(12))
        edited = rng.random() < 0.03
        vid += 1
        batch_v.append(
            (vid, cid, i, 1, text, hashlib.sha256(text.encode()).hexdigest(), date, date)
        )
        if edited:
            vid += 1
            batch_v.append((vid, cid, i, 2, text + " upd", "x" * 64, date, date))
        batch_p.append((i, cid, i, date, text, vid, 2 if edited else 1, date, "ru"))
        if rng.random() < 0.01:
            batch_d.append((cid, i, date))
        if len(batch_p) == 50_000 or i == POSTS:
            conn.executemany(
                "INSERT INTO posts(id, channel_id, message_id, date, text, version_id,"
                " version_count, first_seen, lang) VALUES (?,?,?,?,?,?,?,?,?)",
                batch_p,
            )
            conn.executemany(
                "INSERT INTO post_versions(id, channel_id, message_id, version_no, text,"
                " content_hash, captured_at, source) VALUES (?,?,?,?,?,?,?,?) ",
                [(*v[:6], v[6], "backfill") for v in batch_v],
            )
            conn.executemany(
                "INSERT INTO deletions(channel_id, message_id, detected_at, method)"
                " VALUES (?,?,?,'reconcile')",
                batch_d,
            )
            batch_p, batch_v, batch_d = [], [], []
    conn.executemany(
        "INSERT INTO watchlist(key, username, channel_id, added_at) VALUES (?,?,?,?)",
        [(f"username:bench_{c}", f"bench_{c}", 1600000000 + c, first) for c in range(CHANNELS)],
    )
    conn.execute(
        "INSERT INTO daemon_runs(pid, version, started_at, beat_at, counters)"
        " VALUES (1, 'bench', ?, ?, '{}')",
        (_iso(NOW), _iso(NOW)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    tmp.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def _timed(label: str, fn: object, repeat: int = 5) -> None:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    print(f"  {label:<44} median {statistics.median(times) * 1000:8.1f} ms  (n={repeat})")


async def _startup(db: Path) -> tuple[float, float]:
    app = make_app(db)
    t0 = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        first_frame = time.perf_counter() - t0
        while not app.loaded:
            await pilot.pause(0.01)
        loaded = time.perf_counter() - t0
    return first_frame, loaded


async def _live(db: Path, rate: int = 50, seconds: float = 10.0) -> list[float]:
    """Write ``rate`` posts/s for ``seconds``; return how long each took to show in the feed."""
    app = make_app(db, poll_interval=0.5)
    lags: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.loaded:
            await pilot.pause(0.01)
        panel = app.query_one(FeedPanel)
        cid = 1600000000
        written: dict[int, float] = {}
        async with Writer(db) as writer:
            await writer.put(ChannelSeen(Channel(id=cid, username="bench_0"), datetime.now(UTC)))
            start = time.perf_counter()
            n = 0
            while time.perf_counter() - start < seconds:
                due = int((time.perf_counter() - start) * rate)
                while n < due:
                    mid = POSTS + 1_000_000 + n
                    post = Post(
                        channel_id=cid, message_id=mid, date=datetime.now(UTC), text=f"live {n}"
                    )
                    await writer.put(PostSeen(post, seen_at=datetime.now(UTC)))
                    written[mid] = time.perf_counter()
                    n += 1
                await writer.flush()
                seen = {i.message_id for i in panel.items.values()}
                now = time.perf_counter()
                for mid in [m for m in written if m in seen]:
                    lags.append(now - written.pop(mid))
                await pilot.pause(0.02)
            deadline = time.perf_counter() + 5
            while written and time.perf_counter() < deadline:
                await pilot.pause(0.05)
                seen = {i.message_id for i in panel.items.values()}
                now = time.perf_counter()
                for mid in [m for m in written if m in seen]:
                    lags.append(now - written.pop(mid))
        lags.extend([float("inf")] * len(written))
    return lags


def main() -> None:
    if not CACHE.exists():
        t0 = time.perf_counter()
        build_archive(CACHE)
        print(f"  built {POSTS:,}-post archive in {time.perf_counter() - t0:.1f} s ({CACHE})")
    migrate(CACHE)  # a cache from an older telewatch
    work = Path("/tmp/telewatch-bench-dashboard-work.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    work.write_bytes(CACHE.read_bytes())
    print(
        f"  archive: {feed.approximate_post_count(feed.open_reader(work)):,} posts, {CHANNELS} channels"
    )
    conn = feed.open_reader(work)
    cursor = feed.recent_activity(conn, 300)[1]
    _timed("recent_activity(300) (first poll)", lambda: feed.recent_activity(conn, 300))
    _timed("activity_since(cursor) (each poll, idle)", lambda: feed.activity_since(conn, cursor))
    _timed("channel_rows(200 channels, 24h sparkline)", lambda: feed.channel_rows(conn, NOW), 3)
    _timed(
        "alert_counters + alert_hits(20)",
        lambda: (feed.alert_counters(conn), feed.alert_hits(conn)),
    )
    conn.close()
    frames, loads = [], []
    for _ in range(3):
        first, loaded = asyncio.run(_startup(work))
        frames.append(first)
        loads.append(loaded)
    print(
        f"  start-up to first frame                      median {statistics.median(frames) * 1000:8.1f} ms  (n=3)"
    )
    print(
        f"  start-up to feed + channels shown            median {statistics.median(loads) * 1000:8.1f} ms  (n=3)"
    )
    lags = asyncio.run(_live(work))
    shown = [x for x in lags if x != float("inf")]
    print(
        f"  live 50 posts/s for 10 s: {len(shown)}/{len(lags)} shown, lag median "
        f"{statistics.median(shown):.2f} s, max {max(shown):.2f} s"
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
