"""Catch-up benchmark (issue 17; figures for docs/PERFORMANCE.md).

200 joined channels of 50 posts each are archived by a first run; the daemon
is stopped; while it is down every channel gets one new post, one edit and
one deletion (every tenth channel's deletion 45 posts deep); then it is
restarted with the default config except ``rate_scale`` (both the emulator's
rate model and the daemon's budgets run ``SCALE`` times Telegram's windows).

Reported: seconds from the restart to "the archive equals the emulator's
truth" (every post, current text, every deletion tombstoned), the requests
per method the restart made, FloodWaits, and the time the same requests take
at Telegram's scale under the default budgets (requests / budget x window).

Run: ``python -m bench catchup``.
"""

from __future__ import annotations

import math
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fixtures.daemon import DaemonWorld

from telewatch.config import DEFAULT_BUDGETS
from telewatch.emulator import EmulatorThread, RateModel

SCALE = 0.05
CHANNELS, POSTS = 200, 50
BASE = 1500005000


def _setup(emu: Any) -> None:
    for i in range(CHANNELS):
        cid = BASE + i
        emu.add_channel(cid, f"bench_cu_{i:03d}", f"Catch-up {i}")
        for k in range(POSTS):
            emu.post(cid, f"post {i}/{k} " + "x" * 60, push=False)
        emu.join(cid)


def _changes(emu: Any) -> None:
    for i in range(CHANNELS):
        cid = BASE + i
        emu.post(cid, f"new while down {i}")
        emu.edit(cid, POSTS - 3, f"edited while down {i}")
        emu.delete(cid, [5 if i % 10 == 0 else POSTS - 1])


def bench_restart() -> dict[str, Any]:
    """One restart after downtime; returns the figures."""
    with tempfile.TemporaryDirectory() as tmp, EmulatorThread(rate=RateModel(scale=SCALE)) as et:
        root = Path(tmp)
        w = DaemonWorld(emu=et, root=root)
        try:
            et.call(_setup, timeout=300)
            et.write_session(w.session)
            w.write_config(
                [{"username": f"bench_cu_{i:03d}"} for i in range(CHANNELS)],
                defaults=True,
                rate_scale=SCALE,
            )
            first = w.start()
            t0 = time.monotonic()
            problems = w.settle(900)
            first_run = time.monotonic() - t0
            assert problems == [], problems[:5]
            w.stop(first, signal.SIGTERM, timeout=30)
            et.call(_changes)
            before = dict(et.emulator.stats["requests"])
            floods_before = et.emulator.stats["flood_waits"]
            second = w.start()
            t0 = time.monotonic()
            problems = w.settle(900)
            elapsed = time.monotonic() - t0
            after = et.emulator.stats
            w.stop(second, signal.SIGTERM, timeout=30)
        finally:
            w.close()
    used = {
        m: int(n) - int(before.get(m, 0))
        for m, n in after["requests"].items()
        if int(n) - int(before.get(m, 0)) > 0
    }
    return {
        "first_run_s": first_run,
        "restart_to_truth_s": elapsed,
        "equal": not problems,
        "left": problems[:5],
        "requests": used,
        "flood_waits": int(after["flood_waits"]) - int(floods_before),
    }


def _telegram_time(method: str, n: int) -> float:
    """Seconds ``n`` requests of ``method`` take at Telegram's scale under the
    default budget (the first window's worth goes at once)."""
    if method not in DEFAULT_BUDGETS:
        return 0.0
    per, window = DEFAULT_BUDGETS[method]
    return max(0, math.ceil(n / per) - 1) * window


def main() -> None:
    r = bench_restart()
    print(
        f"catch-up: {CHANNELS} channels x {POSTS} posts, rate scale {SCALE}: first run "
        f"{r['first_run_s']:.1f} s; restart to archive == truth {r['restart_to_truth_s']:.1f} s "
        f"(equal: {r['equal']}{'' if r['equal'] else ', left: ' + repr(r['left'])}); "
        f"FloodWaits {r['flood_waits']}"
    )
    for method, n in sorted(r["requests"].items()):
        t = _telegram_time(method, n)
        print(f"  {method:<32} {n:>5} requests  ~{t:>5.0f} s at Telegram scale")


if __name__ == "__main__":
    main()
