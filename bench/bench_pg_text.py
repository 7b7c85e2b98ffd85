"""What storing NUL costs on PostgreSQL (store/pg.py escape_text, schema 18).

PostgreSQL's text cannot hold NUL, so every statement's strings are checked
and escaped (``pg._params``) and each text column of a result is scanned for
the escape character (``pg._unescaped``). This times, in one run,
alternating: the import of the same export (every post's strings bound), a
read of every post's row (``SELECT p.* FROM posts``), ``export``'s rows
(``queries.export_rows``), and ``verify`` — each with the escaping and
without it (what telewatch did before schema 18, when a post with a NUL was
refused). ``TELEWATCH_BENCH_PG_TEXT_POSTS`` sets the
number of posts (default 50,000)."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fixtures.postgres import PostgresCluster

from bench.bench_store import CACHE, write_export
from telewatch.sources.desktop_export import import_paths
from telewatch.store import pg
from telewatch.store.chain import verify
from telewatch.store.db import connect
from telewatch.store.queries import export_rows

POSTS = int(os.environ.get("TELEWATCH_BENCH_PG_TEXT_POSTS", "50000"))
ROUNDS = 5


def _plain_params(p: Any) -> Any:
    """``pg._params`` before schema 18: no escaping."""
    if p is None:
        return ()
    if isinstance(p, Mapping):
        return dict(p)
    return tuple(p)


@contextmanager
def _unescaped_adapters() -> Iterator[None]:
    """Parameters bound as given and results read without the scan: the
    code before schema 18."""
    params, scan = pg._params, pg._unescaped
    pg._params = _plain_params
    pg._unescaped = lambda rows, description: rows
    try:
        yield
    finally:
        pg._params, pg._unescaped = params, scan


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall clock, this process's CPU) seconds of ``fn``: the escaping runs
    in telewatch's process, the server's work is the same either way."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _read_all(url: Path) -> int:
    conn = connect(url)
    try:
        return len(conn.execute("SELECT p.* FROM posts p").fetchall())
    finally:
        conn.close()


def _export(url: Path) -> int:
    conn = connect(url)
    try:
        return sum(1 for _ in export_rows(conn))
    finally:
        conn.close()


def _verify(url: Path) -> bool:
    conn = connect(url)
    try:
        return verify(conn).ok
    finally:
        conn.close()


def _round(url: Path, export: Path) -> list[tuple[str, tuple[float, float]]]:
    return [
        ("import", _timed(lambda: import_paths(url, [export]))),
        ("read rows", _timed(lambda: _read_all(url))),
        ("export rows", _timed(lambda: _export(url))),
        ("verify", _timed(lambda: _verify(url))),
    ]


def main() -> None:
    export = CACHE / f"pg-text-export-{POSTS}" / "result.json"
    if not export.exists():
        write_export(export, POSTS, channel_id=1_900_000_401, seed=401)
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-pgtext-"))
    cluster = PostgresCluster(root)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        cluster.start()
        kept: Path | None = None
        for r in range(ROUNDS):
            for variant in ("escaping", "plain") if r % 2 == 0 else ("plain", "escaping"):
                url = Path(cluster.create_database(f"r{r}{variant[0]}"))
                with _unescaped_adapters() if variant == "plain" else _nothing():
                    for what, dt in _round(url, export):
                        times.setdefault((what, variant), []).append(dt)
                kept = url
        assert kept is not None and _read_all(kept) == POSTS
        print(f"{POSTS:,} posts, {ROUNDS} rounds alternating; median (min–max) s, load "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
        for what in ("import", "read rows", "export rows", "verify"):
            for k, kind in ((0, "wall"), (1, "CPU")):
                esc = [t[k] for t in times[(what, "escaping")]]
                plain = [t[k] for t in times[(what, "plain")]]
                me, mp = statistics.median(esc), statistics.median(plain)
                print(
                    f"  {what:12s} {kind:4s} escaping {me:6.2f} ({min(esc):.2f}–{max(esc):.2f})"
                    f"  without {mp:6.2f} ({min(plain):.2f}–{max(plain):.2f})"
                    f"  {100 * (me - mp) / mp:+.1f} %"
                )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
