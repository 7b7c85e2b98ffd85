"""Media benchmarks (figures for docs/PERFORMANCE.md).

One emulator (rate model off), one set of videos, two downloaders in the
same run, each in its own process:

1. a plain Telethon loop: ``download_media`` of every message in turn (what
   a script would do), into files;
2. the daemon (``telewatch run``): its media queue fetching the same files
   into the content-addressed store after archiving the text,

reporting MB/s of each and the ratio. During the daemon's media backfill a
second channel receives LIVE_RATE text posts a second: their push → commit
latency (p50/p99) is measured by a reader polling the archive, and the
daemon's RSS is sampled every half second.

``TELEWATCH_BENCH_MEDIA_MB`` sets the backfill size (default 1000 MB, the
issue's 1 GB). Run: ``python -m bench media`` or ``python -m bench.bench_media``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.fixtures.daemon import TELEWATCH, query_archive

from telewatch.emulator import EmulatorThread, RateModel

FILE_MB = 20
TOTAL_MB = int(os.environ.get("TELEWATCH_BENCH_MEDIA_MB", "1000"))
MEDIA_CHANNEL, LIVE_CHANNEL = 1500003001, 1500003002
LIVE_RATE = 10
CONCURRENCY = int(os.environ.get("TELEWATCH_BENCH_MEDIA_CONCURRENCY", "2"))


def _config(root: Path) -> Path:
    lines = [
        "[telegram]",
        "api_id = 1",
        'api_hash = "0123456789abcdef0123456789abcdef"',
        f'session = "{root / "daemon.session"}"',
        "[storage]",
        f'db = "{root / "tw.db"}"',
        "[daemon]",
        "sweep_rate = 0.0",
        'budgets = {"upload.GetFile" = [100000, 31.0]}',
        "[media]",
        'kinds = ["video", "photo"]',
        "max_file_size = 0",
        "channel_budget = 0",
        "total_budget = 0",
        f"concurrency = {CONCURRENCY}",
        "[[channels]]",
        'username = "bench_media"',
        "[[channels]]",
        'username = "bench_media_live"',
    ]
    path = root / "telewatch.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


async def _plain(session: str, out: str) -> None:
    """The plain Telethon loop (run in a child process)."""
    from telethon import TelegramClient

    client = TelegramClient(session, 1, "emulator", flood_sleep_threshold=60)
    await client.connect()
    channel = await client.get_entity("bench_media")
    t0 = time.perf_counter()
    n = 0
    async for msg in client.iter_messages(channel, limit=None):
        if msg.media is not None:
            path = await client.download_media(msg, file=os.path.join(out, f"{msg.id}.mp4"))
            n += os.path.getsize(path)
            os.remove(path)
    print(f"{n} {time.perf_counter() - t0}")
    await client.disconnect()


def bench() -> dict[str, float]:
    """Both downloaders over the same files; latency and RSS of the daemon."""
    files = max(1, TOTAL_MB // FILE_MB)
    size = FILE_MB * 1_000_000
    with tempfile.TemporaryDirectory() as tmp, EmulatorThread(rate=RateModel(enabled=False)) as et:
        root = Path(tmp)

        def setup(emu: Any) -> None:
            emu.add_channel(MEDIA_CHANNEL, "bench_media", "Bench media")
            emu.add_channel(LIVE_CHANNEL, "bench_media_live", "Bench live")
            for i in range(files):
                emu.post(MEDIA_CHANNEL, f"video {i}",
                         media={"type": "video", "size": size, "seed": i}, push=False)  # fmt: skip

        et.call(setup, timeout=120)
        plain_session = et.write_session(root / "plain.session")
        et.write_session(root / "daemon.session")
        out = root / "plain"
        out.mkdir()
        r = subprocess.run(
            [sys.executable, "-m", "bench.bench_media", "plain", str(plain_session), str(out)],
            capture_output=True, text=True, timeout=3600, check=True,
        )  # fmt: skip
        plain_bytes, plain_s = (float(x) for x in r.stdout.split())
        cfg = _config(root)
        db = root / "tw.db"
        log = open(root / "daemon.log", "ab")  # noqa: SIM115 - the child owns it
        p = subprocess.Popen([TELEWATCH, "--config", str(cfg), "run"], stdout=log, stderr=log)
        log.close()
        rss: list[int] = []
        pushed: dict[int, float] = {}
        seen: dict[int, float] = {}
        stop = threading.Event()
        try:
            _wait(lambda: query_archive(db, "SELECT count(*) FROM media_refs"
                                        " WHERE role='file'") == [(files,)], p, root, 120)  # fmt: skip
            t0 = time.monotonic()

            def reader() -> None:
                conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
                next_rss, last = 0.0, 0
                while not stop.is_set():
                    if time.monotonic() >= next_rss:
                        rss.append(_rss_kb(p.pid))
                        next_rss = time.monotonic() + 0.5
                    for rid, mid in conn.execute(
                        "SELECT id, message_id FROM posts WHERE channel_id=? AND id > ?",
                        (LIVE_CHANNEL, last),
                    ):
                        seen.setdefault(mid, time.monotonic())
                        last = max(last, rid)
                    time.sleep(0.01)
                conn.close()

            th = threading.Thread(target=reader, daemon=True)
            th.start()
            # The live channel's first push makes Telethon fetch its difference
            # once; measured posts start after it.
            et.call(lambda emu: emu.post(LIVE_CHANNEL, "warm-up"))
            k = 0

            def stored() -> int:
                rows = query_archive(
                    db, "SELECT count(*) FROM media_refs WHERE role='file' AND state='stored'"
                )
                return int(rows[0][0]) if rows else 0

            next_push = time.monotonic() + 2.0  # after the channel's first difference
            next_check = 0.0
            while True:
                if time.monotonic() >= next_check:
                    if stored() >= files:
                        break
                    next_check = time.monotonic() + 0.2
                if time.monotonic() > t0 + 3600 or p.poll() is not None:
                    raise RuntimeError(
                        f"daemon did not finish: {(root / 'daemon.log').read_text()[-2000:]}"
                    )
                if time.monotonic() >= next_push:
                    t = time.monotonic()
                    mid = et.call(lambda emu, k=k: emu.post(LIVE_CHANNEL, f"live {k}"))
                    pushed[mid] = t
                    k += 1
                    next_push += 1 / LIVE_RATE
                time.sleep(0.01)
            daemon_s = time.monotonic() - t0
            # The same daemon idle, for comparison: as many posts at the same rate.
            during = dict(pushed)
            pushed.clear()
            for _ in range(max(20, min(len(during), LIVE_RATE * 10))):
                t = time.monotonic()
                mid = et.call(lambda emu, k=k: emu.post(LIVE_CHANNEL, f"idle {k}"))
                pushed[mid] = t
                k += 1
                time.sleep(1 / LIVE_RATE)
            idle = dict(pushed)
            pushed = {**during, **idle}
            deadline = time.monotonic() + 10
            while any(m not in seen for m in pushed) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            th.join(5)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        daemon_bytes = float(files * size)
        lat = sorted((seen[m] - t) * 1000 for m, t in during.items() if m in seen)
        base = sorted((seen[m] - t) * 1000 for m, t in idle.items() if m in seen)
        return {
            "idle_p50_ms": statistics.median(base) if base else float("nan"),
            "idle_p99_ms": base[max(0, int(len(base) * 0.99) - 1)] if base else float("nan"),
            "files": float(files),
            "mb": daemon_bytes / 1e6,
            "plain_mb_s": plain_bytes / 1e6 / plain_s,
            "daemon_mb_s": daemon_bytes / 1e6 / daemon_s,
            "live_posts": float(len(during)),
            "live_committed": float(len(lat)),
            "p50_ms": statistics.median(lat) if lat else float("nan"),
            "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)] if lat else float("nan"),
            "rss_start_mb": rss[0] / 1024 if rss else 0.0,
            "rss_max_mb": max(rss) / 1024 if rss else 0.0,
            "rss_end_mb": rss[-1] / 1024 if rss else 0.0,
        }


def _wait(cond: Any, p: subprocess.Popen[bytes], root: Path, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"daemon not ready: {(root / 'daemon.log').read_text()[-2000:]}")


def main(parts: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    r = bench()
    print(
        f"media backfill of {r['files']:.0f} videos, {r['mb']:.0f} MB, emulator on loopback: "
        f"plain Telethon download_media loop {r['plain_mb_s']:.1f} MB/s, "
        f"daemon {r['daemon_mb_s']:.1f} MB/s ({r['daemon_mb_s'] / r['plain_mb_s']:.2f}x, goal >= 0.9x)"
    )
    print(
        f"text during the backfill: {r['live_committed']:.0f}/{r['live_posts']:.0f} live posts, "
        f"push -> commit p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms (goal p99 < 200 ms); "
        f"the same daemon idle afterwards: p50 {r['idle_p50_ms']:.0f} ms, p99 {r['idle_p99_ms']:.0f} ms"
    )
    print(
        f"daemon RSS while downloading: {r['rss_start_mb']:.1f} MB at start, "
        f"max {r['rss_max_mb']:.1f} MB, {r['rss_end_mb']:.1f} MB at the end"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "plain":
        asyncio.run(_plain(sys.argv[2], sys.argv[3]))
    else:
        main()
