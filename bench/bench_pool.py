"""A pool of accounts into PostgreSQL (issue 13): 2,000 channels, 5 accounts.

One emulator serving 5 accounts (``accounts=5``, CHANNELS_TOO_MUCH past
``max_joined`` joined channels each) with CHANNELS channels of POSTS posts
each; JOIN_EVERY-th channel is in join mode (the rest poll); 5 ``telewatch
run`` daemons (one per account, its own session) on one durable PostgreSQL
15 cluster (tests/fixtures/postgres.py, fsync on) sharing the watch list
through leases. Measured:

(a) backfill: wall time from the daemons' launch until every channel's
    backfill is committed, beside the rate model's minimum for the pool
    (see ``minimum``); goal ratio <= 1.2;
(b) live: then LIVE_RATE posts/s for LIVE_SECONDS spread over the joined
    channels of every account (pushed), push -> commit as bench_daemon
    measures it (the emulator's post call to the post's row seen by a reader
    polling the archive); p50/p95/p99, goal p99 < 200 ms;
(c) each daemon's RSS (peak, end), the load average, the archive compared
    with the emulator's truth at the end (posts lost 0, no duplicate
    version) and ``verify``.

Env: TELEWATCH_BENCH_POOL_CHANNELS (2000), _POSTS (100 per channel),
_ACCOUNTS (5), _SCALE (rate-model scale, 0.05: windows 20x shorter),
_LIVE_SECONDS (60), _LIVE_RATE (200). ``python -m bench pool``.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.fixtures.daemon import TELEWATCH, truth_mismatches
from tests.fixtures.postgres import PostgresCluster

from telewatch.config import DEFAULT_BUDGETS
from telewatch.emulator import EmulatorThread, RateModel
from telewatch.emulator.rates import DEFAULT_BUDGETS as MODEL
from telewatch.models import UserError
from telewatch.store.chain import verify
from telewatch.store.db import connect, migrate
from telewatch.store.status import pg_statements


def _env(name: str, default: float) -> float:
    return float(os.environ.get(f"TELEWATCH_BENCH_POOL_{name}", default))


CHANNELS = int(_env("CHANNELS", 2000))
POSTS = int(_env("POSTS", 100))
ACCOUNTS = int(_env("ACCOUNTS", 5))
SCALE = _env("SCALE", 0.05)
LIVE_SECONDS = _env("LIVE_SECONDS", 60)
LIVE_RATE = int(_env("LIVE_RATE", 200))
JOIN_EVERY = 10  # 10 % of the channels in join mode
MAX_JOINED = max(1, CHANNELS // JOIN_EVERY // ACCOUNTS)  # room for an even share, no more
BASE = 1_700_000_000
PAGE = 100  # getHistory page


def _name(i: int) -> str:
    return f"pool_{i:04d}"


def minimum() -> dict[str, float]:
    """The rate model's minimum backfill time for the pool (seconds).

    Each account holds CHANNELS / ACCOUNTS channels and must, for each, resolve
    its username (contacts.ResolveUsername: 5 per 60 s) and fetch
    ceil(POSTS / 100) history pages (messages.GetHistory: 10 per 30 s); its
    join-mode share is also joined (channels.JoinChannel: 5 per 60 s). The
    budgets are per account and run in parallel, and a page of a channel can
    only follow its resolve, so the lower bound is the slowest of: all pages
    at the getHistory rate, all resolves at the resolve rate then the last
    resolved channel's pages, all joins at the join rate (each budget allows
    its first ``n`` requests at once: (requests / n - 1) windows)."""
    per = math.ceil(CHANNELS / ACCOUNTS)
    pages = math.ceil(POSTS / PAGE)

    def span(method: str, count: int) -> float:
        n, window = MODEL[method]
        return max(0.0, (math.ceil(count / n) - 1) * window * SCALE)

    history = span("messages.GetHistory", per * pages)
    resolve = span("contacts.ResolveUsername", per) + span("messages.GetHistory", pages)
    joins = span("channels.JoinChannel", math.ceil(per / JOIN_EVERY))
    return {
        "history": history,
        "resolve": resolve,
        "join": joins,
        "minimum": max(history, resolve, joins),
        "history_requests": float(per * pages * ACCOUNTS),
        "resolve_requests": float(per * ACCOUNTS),
    }


def _config(root: Path, url: str, session: Path) -> Path:
    lines = [
        "[telegram]",
        "api_id = 1",
        'api_hash = "0123456789abcdef0123456789abcdef"',
        f'session = "{session}"',
        f"max_joined = {MAX_JOINED}",
        "[storage]",
        f'db = "{url}"',
        "[daemon]",
        f"rate_scale = {SCALE!r}",
        # The background embedder loads a model and the full sweep re-reads
        # posts: both are CPU beside what is measured, off here.
        "embed = false",
        "sweep_rate = 0",
        # A PostgreSQL archive names its one media folder (docs/SCALE.md).
        "[media]",
        f'root = "{root.parent / "media"}"',
    ]
    for i in range(CHANNELS):
        mode = "join" if i % JOIN_EVERY == 0 else "poll"
        lines += ["[[channels]]", f'username = "{_name(i)}"', f'mode = "{mode}"']
    path = root / "telewatch.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Archive:
    """Read the shared archive through telewatch's own store connection."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            conn = connect(Path(self.url))
        except UserError:  # the daemons have not created the tables yet
            return []
        try:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """RSS of every daemon every 2 s (peak and last), load average."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0)
        self.last = dict.fromkeys(pids, 0)
        self.loads: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for pid in self.pids:
                kb = _rss_kb(pid)
                if kb:
                    self.last[pid] = kb
                    self.peak[pid] = max(self.peak[pid], kb)
            self.loads.append(os.getloadavg()[0])
            self.stop.wait(2)


def _tail(root: Path, k: int) -> str:
    log = root / f"acct{k}" / "daemon.log"
    return log.read_text(errors="replace")[-1500:] if log.exists() else ""


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _postgres_pids() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    out.append(int(d.name))
            except OSError:
                continue
    return out


def _cpu(procs: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU seconds so far: the daemons, every PostgreSQL process, and this
    process (the emulator's thread, the load generator and the reader).
    PostgreSQL backends that ended in between are not counted."""
    t = os.times()
    return {
        "daemons": sum(_cpu_of(p.pid) for p in procs),
        "postgres": sum(_cpu_of(pid) for pid in _postgres_pids()),
        "emulator": t.user + t.system,
        "wall": time.monotonic(),
    }


def _cpu_line(label: str, a: dict[str, float], b: dict[str, float], updates: int) -> str:
    wall = b["wall"] - a["wall"]
    parts = {k: b[k] - a[k] for k in ("daemons", "postgres", "emulator")}
    cores = sum(parts.values()) / wall
    line = (
        f"    CPU {label} over {wall:.0f} s: "
        + ", ".join(f"{k} {v / wall:.2f} cores" for k, v in parts.items())
        + f" = {cores:.2f} of {os.cpu_count()} cores"
    )
    if updates:
        line += "; per pushed update: " + ", ".join(
            f"{k} {v / updates * 1000:.2f} ms" for k, v in parts.items()
        )
    return line


def _live(
    et: EmulatorThread, arch: Archive, joined: list[int], procs: list[subprocess.Popen[bytes]]
) -> dict[str, float]:
    """LIVE_RATE posts/s over ``joined`` for LIVE_SECONDS; push -> commit."""
    pushed: dict[tuple[int, int], float] = {}
    seen: dict[tuple[int, int], float] = {}
    stop = threading.Event()
    start_id = int(arch.query("SELECT COALESCE(MAX(id), 0) FROM posts")[0][0])

    def reader() -> None:
        conn = connect(Path(arch.url))
        last = start_id
        try:
            while not stop.is_set():
                for rid, cid, mid in conn.execute(
                    "SELECT id, channel_id, message_id FROM posts WHERE id > ? ORDER BY id",
                    (last,),
                ).fetchall():
                    seen.setdefault((int(cid), int(mid)), time.monotonic())
                    last = int(rid)
                conn.commit()  # a fresh snapshot for the next round
                # 10 ms: the latency's resolution. Every 2 ms, this reader
                # alone cost PostgreSQL most of its statement time.
                time.sleep(0.01)
        finally:
            conn.close()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    # Warm-up, as bench_daemon: each channel's first pushed update makes
    # Telethon fetch the channel's difference once; measured apart.
    warm: dict[tuple[int, int], float] = {}
    for cid in joined:
        t = time.monotonic()
        mid = et.call(lambda emu, cid=cid: emu.post(cid, "warm-up"))
        warm[(cid, mid)] = t
    end = time.monotonic() + 30
    while any(k not in seen for k in warm) and time.monotonic() < end:
        time.sleep(0.05)
    cold = [seen[k] - t for k, t in warm.items() if k in seen]
    # Posts go out in ticks of TICK seconds (several per emulator call, so
    # that the call's own round trip does not cap the rate); each post's push
    # time is taken before the call that makes it (its latency includes the
    # posts made before it in the same call).
    # The pool's cost with no pushes (the poll-mode channels' rounds, leases,
    # heartbeats), then during the pushes: how many cores the live rate needs.
    idle0 = _cpu(procs)
    time.sleep(10)
    idle1 = _cpu(procs)
    tick = 0.02
    per_tick = LIVE_RATE * tick
    t_start = time.monotonic()
    t_next = t_start
    k = 0
    owed = 0.0
    while time.monotonic() - t_start < LIVE_SECONDS:
        owed += per_tick
        n = int(owed)
        owed -= n
        cids = [joined[(k + j) % len(joined)] for j in range(n)]
        k += n
        t = time.monotonic()
        mids = et.call(lambda emu, cids=cids: [emu.post(c, f"live {time.time()}") for c in cids])
        for c, m in zip(cids, mids, strict=True):
            pushed[(c, m)] = t
        t_next += tick
        time.sleep(max(0.0, t_next - time.monotonic()))
    sent_for = time.monotonic() - t_start
    busy = _cpu(procs)
    print(_cpu_line("with no pushes (polling only)", idle0, idle1, 0))
    print(_cpu_line(f"while pushing {LIVE_RATE}/s", idle1, busy, k))
    deadline = time.monotonic() + 30
    while any(key not in seen for key in pushed) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    th.join(10)
    for p in procs:
        if p.poll() is not None:
            raise RuntimeError(f"daemon {p.pid} exited {p.returncode} during the live phase")
    lat = sorted((seen[key] - t) * 1000 for key, t in pushed.items() if key in seen)

    def q(x: float) -> float:
        return lat[min(len(lat) - 1, int(x * len(lat)))] if lat else float("nan")

    return {
        "updates": float(len(pushed)),
        "rate": len(pushed) / sent_for,
        "committed": float(len(lat)),
        "p50": q(0.50),
        "p95": q(0.95),
        "p99": q(0.99),
        "max": lat[-1] if lat else float("nan"),
        "cold_max": max(cold) * 1000 if cold else float("nan"),
        "channels": float(len(joined)),
    }


def main() -> None:
    """Run the pool bench and print its figures."""
    os.environ.setdefault("TELEWATCH_DEBUG", "1")
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-pool-"))
    pg_root = Path(tempfile.mkdtemp(prefix="telewatch-bench-pool-pg-"))
    # TELEWATCH_BENCH_POOL_STATEMENTS=1: pg_stat_statements on, and the
    # statements that cost the server most are printed at the end.
    statements = bool(os.environ.get("TELEWATCH_BENCH_POOL_STATEMENTS"))
    cluster = PostgresCluster(
        pg_root,
        durable=True,
        conf="shared_preload_libraries = 'pg_stat_statements'\n" if statements else "",
    )
    procs: list[subprocess.Popen[bytes]] = []
    mn = minimum()
    print(
        f"{CHANNELS} channels x {POSTS} posts, {ACCOUNTS} accounts (max_joined {MAX_JOINED},"
        f" {CHANNELS // JOIN_EVERY} join-mode), rate model scale {SCALE:g};"
        f" PostgreSQL 15 fsync on; load {os.getloadavg()[0]:.2f} at start"
    )
    try:
        cluster.start()
        url = cluster.create_database("pool")
        if statements:
            migrate(Path(url))
            conn = connect(Path(url), readonly=False)
            try:
                pg_statements(conn, reset=True)
            finally:
                conn.close()
        arch = Archive(url)
        with EmulatorThread(
            rate=RateModel(scale=SCALE), accounts=ACCOUNTS, max_joined=MAX_JOINED
        ) as et:
            t0 = time.monotonic()

            def setup(emu: Any) -> None:
                for i in range(CHANNELS):
                    emu.add_channel(BASE + i, _name(i), f"Pool {i}")
                    for n in range(POSTS):
                        emu.post(BASE + i, f"post {i}/{n} " + "x" * 60, push=False)

            et.call(setup, timeout=1800)
            print(f"emulator world ready in {time.monotonic() - t0:.1f} s")
            for k in range(1, ACCOUNTS + 1):
                d = root / f"acct{k}"
                d.mkdir()
                et.write_session(d / "tw.session", account=k)
                _config(d, url, d / "tw.session")
            launched = time.monotonic()
            for k in range(1, ACCOUNTS + 1):
                d = root / f"acct{k}"
                log = open(d / "daemon.log", "ab")  # noqa: SIM115 - the child owns it
                procs.append(
                    subprocess.Popen(
                        [TELEWATCH, "--config", str(d / "telewatch.toml"), "run"],
                        stdout=log,
                        stderr=log,
                    )
                )
                log.close()
            sampler = Sampler([p.pid for p in procs])
            first_commit: float | None = None
            spread_at: float | None = None
            progress_at = launched
            while True:
                rows = arch.query("SELECT COUNT(*) FROM sync_state WHERE backfill_done = 1") or [
                    (0,)
                ]
                done = int(rows[0][0])
                now = time.monotonic()
                if first_commit is None and done:
                    first_commit = now
                if spread_at is None:
                    held = arch.query(
                        "SELECT COUNT(DISTINCT holder), COUNT(*) FROM channel_leases"
                        " WHERE expires >= extract(epoch FROM clock_timestamp())"
                    )
                    if held and int(held[0][0]) == ACCOUNTS and int(held[0][1]) == CHANNELS:
                        spread_at = now
                if done >= CHANNELS:
                    break
                if now >= progress_at:
                    print(f"  {now - launched:6.0f} s: {done}/{CHANNELS} channels backfilled")
                    progress_at = now + 30
                for k, p in enumerate(procs, 1):
                    if p.poll() is not None:
                        raise RuntimeError(f"daemon {k} exited {p.returncode}: {_tail(root, k)}")
                if now - launched > 20 * mn["minimum"] + 300:
                    raise RuntimeError(f"backfill not done: {done}/{CHANNELS}")
                time.sleep(0.5)
            backfill = time.monotonic() - launched
            load_backfill = os.getloadavg()
            posts = int(arch.query("SELECT COUNT(*) FROM posts")[0][0])
            per_daemon = arch.query(
                "SELECT d.pid, COUNT(*) FROM channel_leases l JOIN daemons d ON d.id = l.holder"
                " GROUP BY d.pid ORDER BY d.pid"
            )
            joined = et.call(
                lambda emu: [
                    BASE + i
                    for i in range(0, CHANNELS, JOIN_EVERY)
                    if any(emu.joined(BASE + i, account=k) for k in range(1, ACCOUNTS + 1))
                ]
            )
            print(
                f"(a) backfill: {posts} posts of {CHANNELS} channels in {backfill:.1f} s from"
                f" the daemons' launch (first channel done at"
                f" {(first_commit or launched) - launched:.1f} s, leases spread over"
                f" {ACCOUNTS} daemons at {(spread_at or now) - launched:.1f} s);"
                f" load {load_backfill[0]:.2f} {load_backfill[1]:.2f} {load_backfill[2]:.2f}"
            )
            print(
                f"    rate-model minimum {mn['minimum']:.1f} s (per account, in parallel:"
                f" {mn['history_requests'] / ACCOUNTS:.0f} getHistory at 10 per {30 * SCALE:g} s"
                f" = {mn['history']:.1f} s; {mn['resolve_requests'] / ACCOUNTS:.0f} resolves at"
                f" 5 per {60 * SCALE:g} s then the last one's pages = {mn['resolve']:.1f} s;"
                f" joins {mn['join']:.1f} s); ratio {backfill / mn['minimum']:.3f}"
                " (goal <= 1.2)"
            )
            nr, wr = DEFAULT_BUDGETS["contacts.ResolveUsername"]
            print(
                f"    the daemons' own resolve budget ({nr} per {wr * SCALE:g} s + jitter) allows at"
                f" best {(math.ceil(CHANNELS / ACCOUNTS / nr) - 1) * (wr * SCALE + 0.1):.1f} s"
                f" for the resolves; channels held per daemon: {[int(n) for _, n in per_daemon]};"
                f" joined channels: {len(joined)}"
            )
            live = _live(et, arch, joined, procs)
            load_live = os.getloadavg()
            print(
                f"(b) live: {live['updates']:.0f} posts at {live['rate']:.0f}/s over"
                f" {live['channels']:.0f} joined channels for {LIVE_SECONDS:g} s,"
                f" {live['committed']:.0f} committed; push -> commit p50 {live['p50']:.1f} ms,"
                f" p95 {live['p95']:.1f} ms, p99 {live['p99']:.1f} ms, max {live['max']:.1f} ms"
                f" (goal p99 < 200 ms); cold start max {live['cold_max']:.0f} ms;"
                f" load {load_live[0]:.2f} {load_live[1]:.2f} {load_live[2]:.2f}"
            )
            # Every post of the run (polled channels by their next poll) must
            # reach the archive: wait for the truth, then compare.
            truth = et.truth()
            end = time.monotonic() + max(120.0, 3 * mn["history"])
            problems = truth_mismatches(arch.query, truth)
            while problems and time.monotonic() < end:
                time.sleep(2)
                problems = truth_mismatches(arch.query, truth)
            sampler.stop.set()
            rss = [(sampler.peak[p.pid] / 1024, sampler.last[p.pid] / 1024) for p in procs]
            codes = []
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    codes.append(p.wait(60))
                except subprocess.TimeoutExpired:
                    p.kill()
                    codes.append(p.wait(10))
        conn = connect(Path(url))
        try:
            res = verify(conn)
        finally:
            conn.close()
        if statements:
            conn = connect(Path(url))
            try:
                top = pg_statements(conn)
            finally:
                conn.close()
            print("    PostgreSQL statements by total execution time (pg_stat_statements):")
            for calls, total_ms, mean_ms, query in top:
                print(f"      {total_ms / 1000:8.1f} s {calls:9d} calls {mean_ms:7.3f} ms  {query}")
        total = sum(len(ch["messages"]) for ch in truth["channels"])
        print(
            "(c) RSS per daemon, peak/end MB: "
            + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in rss)
            + f"; load over the run: median {statistics.median(sampler.loads):.2f},"
            f" max {max(sampler.loads):.2f}"
        )
        print(
            f"    archive vs truth ({total} messages): {len(problems)} problems"
            f" (missing: {sum(1 for x in problems if x.endswith('missing'))})"
            + (f" e.g. {problems[:3]}" if problems else "")
            + f"; verify {'ok' if res.ok else res.problem}, {res.records} records;"
            f" daemon exit codes {codes}"
        )
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        cluster.stop()
        if os.environ.get("TELEWATCH_BENCH_POOL_KEEP"):
            print(f"kept {root} and {pg_root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(pg_root, ignore_errors=True)
