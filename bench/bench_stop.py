"""SIGTERM stop time of ``telewatch run``, repeated, under CPU load.

Each round starts the daemon on the same archive (emulator on a thread,
rate model 100x faster, as in the tests), waits until it has written a
heartbeat, pushes posts, edits and deletions with a dropped connection for
a few seconds, sends SIGTERM and times the exit. A stop the 8 s watchdog
had to end shows in the daemon log ("still running ... exiting now") and is
counted. Busy-loop processes (``TELEWATCH_BENCH_STOP_LOAD``, default 2)
load the CPUs meanwhile.

Run: ``python -m bench stop`` (SQLite), ``python -m bench stop:pg``
(a throw-away PostgreSQL 15 cluster), ``stop:sqlite,pg`` (both).
``TELEWATCH_BENCH_STOPS`` rounds per backend (default 30).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.fixtures.daemon import RATE_SCALE, DaemonWorld, delete_if_live, edit_if_live

from telewatch.emulator import EmulatorThread, RateModel

ROUNDS = int(os.environ.get("TELEWATCH_BENCH_STOPS", "30"))
LOAD = int(os.environ.get("TELEWATCH_BENCH_STOP_LOAD", "2"))
BASE = 1500003000
CHANNELS = 10
HISTORY = 120
TRAFFIC = 3.0
WATCHDOG = "exiting now"


def _busy_loops(n: int) -> list[subprocess.Popen[bytes]]:
    code = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def _traffic(w: DaemonWorld, rng: random.Random, seconds: float) -> None:
    end = time.monotonic() + seconds
    drop_at = time.monotonic() + seconds / 2
    while time.monotonic() < end:
        ch = BASE + rng.randrange(CHANNELS)
        roll = rng.random()
        if roll < 0.7:
            w.emu.call(lambda emu, ch=ch: emu.post(ch, f"live {time.time()}"))
        elif roll < 0.85:
            mid = rng.randint(1, HISTORY)
            w.emu.call(lambda emu, ch=ch, m=mid: edit_if_live(emu, ch, m, f"edit {time.time()}"))
        else:
            mid = rng.randint(1, HISTORY)
            w.emu.call(lambda emu, ch=ch, m=mid: delete_if_live(emu, ch, m))
        if drop_at and time.monotonic() > drop_at:
            w.emu.call(lambda emu: emu.disconnect_all())
            drop_at = 0.0
        time.sleep(0.03)


def _stopped_line(text: str, sent: float, exited: float) -> dict[str, Any]:
    """Where the stop's time went, from the daemon's log: the signal to
    "stop requested" (``signal_s``), the daemon's own parts (the "stopped"
    line), "stopped" to "event loop closed" (``loop_close_s``) and from there
    to the process's exit (``exit_s``); wall-clock seconds."""
    out: dict[str, Any] = {}
    stamps: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        msg = rec.get("msg")
        if msg in ("stop requested", "stopped", "event loop closed; exiting"):
            stamps[msg] = datetime.fromisoformat(rec["ts"]).timestamp()
        if msg == "stopped":
            out.update({k: v for k, v in rec.items() if k.endswith("_s")})
    if "stop requested" in stamps:
        out["signal_s"] = round(stamps["stop requested"] - sent, 3)
    if "stopped" in stamps and "event loop closed; exiting" in stamps:
        out["loop_close_s"] = round(stamps["event loop closed; exiting"] - stamps["stopped"], 3)
    if "event loop closed; exiting" in stamps:
        out["exit_s"] = round(exited - stamps["event loop closed; exiting"], 3)
    return out


def _world(et: EmulatorThread, root: Path, backend: str, cluster: Any) -> DaemonWorld:
    if backend == "sqlite":
        return DaemonWorld(emu=et, root=root)
    from tests.integration.test_daemon_postgres import PgWorld

    world = PgWorld(emu=et, root=root)
    world.url = cluster.create_database("stop")
    return world


def run(backend: str, rounds: int = ROUNDS) -> dict[str, float]:
    """``rounds`` SIGTERM stops; returns max, p95, median and watchdog count."""
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if backend == "pg":
            from tests.fixtures.postgres import PostgresCluster

            # Its own folder: the server runs as `postgres`, which cannot enter ours.
            cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="telewatch-pg-")))
            cluster.start()
        try:
            with EmulatorThread(rate=RateModel(scale=RATE_SCALE)) as et:
                (root / "w").mkdir()
                w = _world(et, root / "w", backend, cluster)
                et.write_session(w.session)

                def setup(emu: Any) -> None:
                    for i in range(CHANNELS):
                        emu.add_channel(BASE + i, f"stop_chan_{i:02d}", f"Stop {i}")
                        for k in range(HISTORY):
                            emu.post(BASE + i, f"history {i}/{k}", push=False)

                et.call(setup, timeout=120)
                w.write_config(
                    [
                        {"username": f"stop_chan_{i:02d}", "mode": "poll" if i >= 8 else "join"}
                        for i in range(CHANNELS)
                    ]
                )
                return _rounds(w, rounds)
        finally:
            if cluster is not None:
                cluster.stop()
                shutil.rmtree(cluster.root, ignore_errors=True)


def _rounds(w: DaemonWorld, rounds: int) -> dict[str, float]:
    rng = random.Random(7)
    times: list[float] = []
    slow: list[tuple[float, dict[str, Any]]] = []
    overdue = 0
    log = w.root / "daemon.log"
    for n in range(rounds):
        before = log.stat().st_size if log.exists() else 0
        p = w.start()
        w.wait_running(p, 60)
        # Vary where in its life the daemon is stopped: backfill, live, a reconnect.
        _traffic(w, rng, rng.uniform(0.5, TRAFFIC))
        t0, sent = time.monotonic(), time.time()
        p.send_signal(signal.SIGTERM)
        code = p.wait(30)
        took, exited = time.monotonic() - t0, time.time()
        times.append(took)
        with open(log, "rb") as f:
            f.seek(before)
            text = f.read().decode(errors="replace")
        phases = _stopped_line(text, sent, exited)
        slow.append((took, phases))
        if WATCHDOG in text:
            overdue += 1
            keep = Path(os.environ.get("TELEWATCH_BENCH_STOP_KEEP", tempfile.gettempdir()))
            dump = keep / f"telewatch-stop-overdue-{os.getpid()}-{n}.log"
            dump.write_text(text)
            print(f"  round {n}: watchdog after {took:.2f} s (exit {code}); log in {dump}")
        elif code != 0:
            print(f"  round {n}: exit {code} after {took:.2f} s")
    times.sort()
    for took, phases in sorted(slow, key=lambda x: -x[0])[:3]:
        print(f"  slowest: {took:.2f} s; the daemon's own account: {phases or 'no stopped line'}")
    return {
        "rounds": float(rounds),
        "median_s": statistics.median(times),
        "p95_s": times[max(0, round(0.95 * len(times)) - 1)],
        "max_s": times[-1],
        "watchdog": float(overdue),
    }


def main(parts: list[str] | None = None) -> None:
    backends = parts or ["sqlite"]
    # A SIGTERM ends the run through the finally blocks: no busy loop, daemon
    # or PostgreSQL server is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    load = _busy_loops(LOAD)
    try:
        for backend in backends:
            t0 = time.monotonic()
            r = run(backend)
            print(
                f"stop on {backend}: {int(r['rounds'])} rounds under {LOAD} busy loops,"
                f" median {r['median_s']:.2f} s, p95 {r['p95_s']:.2f} s, max {r['max_s']:.2f} s,"
                f" watchdog {int(r['watchdog'])}; load average {os.getloadavg()[0]:.1f}"
                f" ({time.monotonic() - t0:.0f} s)"
            )
    finally:
        for p in load:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
