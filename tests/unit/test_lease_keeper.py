"""daemon/leases.py's LeaseKeeper against a real PostgreSQL server: daemons
started a moment apart reach the even spread within a few START_ROUNDs, not
one ``lease_renew`` per step (the first takes everything, being alone)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from telewatch.config import DaemonSettings
from telewatch.daemon.leases import START_ROUND, LeaseKeeper
from telewatch.store import watchlist
from telewatch.store.db import connect, migrate

N = 12


def test_daemons_started_apart_spread_sooner_than_lease_renew(pg_url: str) -> None:
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    try:
        watchlist.merge_config(conn, [(f"c{i:02d}", None, "poll", "all") for i in range(N)])
    finally:
        conn.close()
    settings = DaemonSettings(lease_ttl=30.0, lease_renew=10.0)

    async def scenario() -> tuple[float, list[int]]:
        keepers = [
            LeaseKeeper(Path(pg_url), settings, account_id=k, account=f"a{k}", max_joined=500)
            for k in (1, 2, 3)
        ]
        await keepers[0].start()
        assert len(keepers[0].held) == N  # alone: the whole watch list
        for k in keepers[1:]:
            await k.start()
        assert all(not k.held for k in keepers[1:])  # everything was held
        t0 = time.monotonic()
        tasks = [asyncio.create_task(k.run()) for k in keepers]
        try:
            while sorted(len(k.held) for k in keepers) != [N // 3] * 3:
                assert time.monotonic() - t0 < settings.lease_renew, [len(k.held) for k in keepers]
                await asyncio.sleep(0.05)
            return time.monotonic() - t0, [len(k.held) for k in keepers]
        finally:
            for t in tasks:
                t.cancel()
            for k in keepers:
                await k.release()

    took, held = asyncio.run(scenario())
    assert held == [N // 3] * 3
    # One round to give back, one to take (each START_ROUND), well below lease_renew.
    assert took < 4 * START_ROUND + 2, took
