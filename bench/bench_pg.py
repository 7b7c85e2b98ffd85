"""PostgreSQL beside SQLite on the same posts, in one run: import rate and
search latency (p50/p95) of the same queries.

A throw-away PostgreSQL cluster (tests/fixtures/postgres.py: initdb in a
temporary folder, loopback, fsync on as a server would run) receives the
same generated Telegram Desktop export as a SQLite file, through the same
importer (`import_paths`); then the searches of bench_store (plain, by
channel, 7-day window) run on both. ``TELEWATCH_BENCH_PG_POSTS`` sets the
number of posts (default 100,000)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from tests.fixtures.postgres import PostgresCluster

from bench.bench_store import CACHE, CHANNELS, QUERIES, _p95, write_export
from telewatch.sources.desktop_export import import_paths
from telewatch.store.db import connect
from telewatch.store.queries import search

POSTS = int(os.environ.get("TELEWATCH_BENCH_PG_POSTS", "100000"))


def _exports() -> list[Path]:
    per = POSTS // CHANNELS
    out = []
    for k in range(CHANNELS):
        export = CACHE / f"pg-export-{per}-{k}" / "result.json"
        if not export.exists():
            write_export(export, per, channel_id=1_900_000_301 + k, seed=300 + k)
        out.append(export)
    return out


def _import(address: Path, exports: list[Path]) -> float:
    t0 = time.perf_counter()
    for e in exports:
        import_paths(address, [e])
    return time.perf_counter() - t0


def _searches(address: Path) -> tuple[list[float], list[float], list[float], int]:
    conn = connect(address)
    channels = [r[0] for r in conn.execute("SELECT id FROM channels ORDER BY id")]
    lo, hi = conn.execute("SELECT min(date), max(date) FROM posts").fetchone()
    start = datetime.fromisoformat(lo.replace("Z", "+00:00"))
    span = (datetime.fromisoformat(hi.replace("Z", "+00:00")) - start).days
    for q in QUERIES:  # warm the caches once
        search(conn, q)
    plain: list[float] = []
    by_channel: list[float] = []
    windowed: list[float] = []
    found = 0
    for rep in range(3):
        for i, q in enumerate(QUERIES):
            t0 = time.perf_counter()
            found += len(search(conn, q, limit=20))
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            search(conn, q, channel_id=channels[(i + rep) % len(channels)])
            by_channel.append(time.perf_counter() - t0)
            since = start + timedelta(days=(i * 7 + rep * 3) % max(1, span - 7))
            t0 = time.perf_counter()
            search(conn, q, since=since, until=since + timedelta(days=7))
            windowed.append(time.perf_counter() - t0)
    conn.close()
    return plain, by_channel, windowed, found


def main() -> None:
    exports = _exports()
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-pg-"))
    cluster = PostgresCluster(root, durable=True)
    lite = root / "bench.db"
    try:
        cluster.start()
        url = Path(cluster.create_database("bench"))
        dt_lite = _import(lite, exports)
        dt_pg = _import(url, exports)
        print(f"import {POSTS:,} posts ({CHANNELS} exports): SQLite {POSTS / dt_lite:,.0f} posts/s,"
              f" PostgreSQL {POSTS / dt_pg:,.0f} posts/s (ratio PG/SQLite"
              f" {dt_lite / dt_pg:.2f})")  # fmt: skip
        for name, address in (("SQLite", lite), ("PostgreSQL", url)):
            plain, by_channel, windowed, found = _searches(address)
            print(f"search on {name} ({found} hits): {_p95(plain)}")
            print(f"  --channel: {_p95(by_channel)}")
            print(f"  7-day window: {_p95(windowed)}")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
