"""PostgreSQL beside SQLite on the same posts, in one run: import rate and
search latency (p50/p95) of the same queries.

A throw-away PostgreSQL cluster (tests/fixtures/postgres.py: initdb in a
temporary folder, loopback, fsync on as a server would run) receives the
same generated Telegram Desktop export as a SQLite file, through the same
importer (`import_paths`); then the searches of bench_store (plain, by
channel, 7-day window) run on both. ``TELEWATCH_BENCH_PG_POSTS`` sets the
number of posts (default 100,000); ``TELEWATCH_BENCH_PG_KEEP=1`` leaves the
cluster running and both archives in place (recorded in CACHE/pg-kept.json);
``python -m bench pg:search`` then times the searches again on the kept
archives, without importing (after a change to the search path).

After the timed searches, the slowest query of each kind runs once more on
PostgreSQL with ``auto_explain`` (ANALYZE, BUFFERS) and its plan is
printed: where a slow search spends its time."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fixtures.postgres import PostgresCluster

from bench.bench_store import CACHE, CHANNELS, QUERIES, _p95, write_export
from telewatch.sources.desktop_export import import_paths
from telewatch.store.db import connect
from telewatch.store.queries import search

POSTS = int(os.environ.get("TELEWATCH_BENCH_PG_POSTS", "100000"))
KEEP = os.environ.get("TELEWATCH_BENCH_PG_KEEP", "") not in ("", "0")


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


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


Timed = list[tuple[float, str, dict[str, Any]]]


def _searches(address: Path) -> tuple[Timed, Timed, Timed, int]:
    conn = connect(address)
    channels = [r[0] for r in conn.execute("SELECT id FROM channels ORDER BY id")]
    lo, hi = conn.execute("SELECT min(date), max(date) FROM posts").fetchone()
    start = datetime.fromisoformat(lo.replace("Z", "+00:00"))
    span = (datetime.fromisoformat(hi.replace("Z", "+00:00")) - start).days
    for q in QUERIES:  # warm the caches once
        search(conn, q)
    plain: Timed = []
    by_channel: Timed = []
    windowed: Timed = []
    found = 0

    def timed(out: Timed, q: str, **kw: Any) -> int:
        t0 = time.perf_counter()
        n = len(search(conn, q, limit=20, **kw))
        out.append((time.perf_counter() - t0, q, kw))
        return n

    for rep in range(3):
        for i, q in enumerate(QUERIES):
            found += timed(plain, q)
            timed(by_channel, q, channel_id=channels[(i + rep) % len(channels)])
            since = start + timedelta(days=(i * 7 + rep * 3) % max(1, span - 7))
            timed(windowed, q, since=since, until=since + timedelta(days=7))
    conn.close()
    return plain, by_channel, windowed, found


def _explain_slowest(cluster: PostgresCluster, address: Path, kinds: list[Timed]) -> None:
    """The slowest search of each kind once more with auto_explain on: its
    full-text statement's plan from the server log."""
    conn = connect(address)
    conn.execute("LOAD 'auto_explain'")
    for setting in ("log_min_duration = 0", "log_analyze = on", "log_buffers = on"):
        conn.execute(f"SET auto_explain.{setting}")
    for kind in kinds:
        dt, q, kw = max(kind, key=lambda t: t[0])
        mark = cluster.log.stat().st_size
        t0 = time.perf_counter()
        search(conn, q, limit=20, **kw)
        again = time.perf_counter() - t0
        with cluster.log.open(errors="replace") as fh:
            fh.seek(mark)
            log = fh.read()
        args = ", ".join(f"{k}={v}" for k, v in kw.items())
        print(f"  slowest: {q!r} {args} {dt * 1e3:.1f} ms (again, explained: {again * 1e3:.1f} ms)")
        for block in log.split("LOG:  duration: ")[1:]:
            if "posts_fts" not in block:
                continue
            lines = block.splitlines()
            keep = (
                "->",
                "Limit",
                "Sort",
                "Heap Blocks",
                "Rows Removed",
                "Cond:",
                "Filter:",
                "Buffers",
            )
            plan = [ln for ln in lines if any(k in ln for k in keep)]
            print(f"    statement {lines[0].split()[0]} ms:")
            for ln in plan:
                print("     ", ln.rstrip())
    conn.close()


def _times(kind: Timed) -> list[float]:
    return [t[0] for t in kind]


def _opens(lite: Path, url: Path, n: int = 20) -> None:
    """Opening a read-only archive connection (what a reader, a feed request
    or a dashboard refresh pays): SQLite file against a PostgreSQL session."""
    out = []
    for address in (lite, url):
        t0 = time.perf_counter()
        for _ in range(n):
            conn = connect(address)
            conn.execute("SELECT count(*) FROM channels").fetchone()
            conn.close()
        out.append((time.perf_counter() - t0) / n * 1e3)
    print(f"open a reader + one query: SQLite {out[0]:.1f} ms, PostgreSQL {out[1]:.1f} ms")


def _search_both(cluster: PostgresCluster, lite: Path, url: Path) -> None:
    for name, address in (("SQLite", lite), ("PostgreSQL", url)):
        plain, by_channel, windowed, found = _searches(address)
        print(f"search on {name} ({found} hits): {_p95(_times(plain))}")
        print(f"  --channel: {_p95(_times(by_channel))}")
        print(f"  7-day window: {_p95(_times(windowed))}")
        print(f"  ({_load()})")
        if name == "PostgreSQL":
            _explain_slowest(cluster, address, [plain, by_channel, windowed])
    _opens(lite, url)


def main(parts: list[str] | None = None) -> None:
    kept = CACHE / "pg-kept.json"
    if parts == ["search"]:
        if not kept.exists():
            raise SystemExit(f"no kept archives ({kept}): run with TELEWATCH_BENCH_PG_KEEP=1 first")
        info = json.loads(kept.read_text())
        cluster = PostgresCluster.__new__(PostgresCluster)
        cluster.log = Path(info["root"]) / "server.log"
        print(f"kept archives of {info['posts']:,} posts; {_load()}")
        _search_both(cluster, Path(info["lite"]), Path(info["url"]))
        return
    exports = _exports()
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-pg-"))
    cluster = PostgresCluster(root, durable=True)
    lite = root / "bench.db"
    try:
        cluster.start()
        url = Path(cluster.create_database("bench"))
        print(f"before import: {_load()}")
        dt_lite = _import(lite, exports)
        print(f"SQLite import done: {_load()}")
        dt_pg = _import(url, exports)
        print(f"PostgreSQL import done: {_load()}")
        print(f"import {POSTS:,} posts ({CHANNELS} exports): SQLite {POSTS / dt_lite:,.0f} posts/s,"
              f" PostgreSQL {POSTS / dt_pg:,.0f} posts/s (ratio PG/SQLite"
              f" {dt_lite / dt_pg:.2f})")  # fmt: skip
        _search_both(cluster, lite, url)
    finally:
        if KEEP:
            kept.write_text(
                json.dumps({"url": str(url), "lite": str(lite), "root": str(root), "posts": POSTS})
            )
            print(f"kept: {url} (SQLite {lite}); stop with: pg_ctl -D {cluster.data} stop")
        else:
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)
