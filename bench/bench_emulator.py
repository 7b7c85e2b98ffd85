"""Emulator throughput: history messages per second to one Telethon client,
and 50 Telethon clients served at once.

The emulator runs in its own process (as `telewatch emulator serve` does), so
the server and the client do not share one interpreter lock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from telethon import TelegramClient

from telewatch.emulator import Emulator, RateModel

CHANNEL = 1500000901
USERNAME = "bench_channel"
HISTORY = 20_000
CLIENTS = 50


def _server(conn: Connection, workdir: str) -> None:
    async def run() -> None:
        async with Emulator(rate=RateModel(enabled=False)) as emu:
            emu.add_channel(CHANNEL, USERNAME, "Bench")
            start = datetime(2024, 1, 1, tzinfo=UTC)
            for n in range(HISTORY):
                emu.post(
                    CHANNEL,
                    f"Report {n}: shelling reported near the bridge, #update https://example.org/{n}",
                    date=start + timedelta(seconds=30 * n),
                    views=n * 3,
                )
            sessions = [str(emu.write_session(Path(workdir) / f"c{i}")) for i in range(CLIENTS)]
            conn.send(sessions)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)

    asyncio.run(run())


async def _history_rate(session: str, limit: int = HISTORY) -> tuple[int, float]:
    client = TelegramClient(session, 1, "bench")
    await client.connect()
    try:
        entity = await client.get_input_entity(USERNAME)
        started = time.perf_counter()
        count = 0
        async for _ in client.iter_messages(entity, limit=limit, wait_time=0):
            count += 1
        return count, time.perf_counter() - started
    finally:
        await client.disconnect()


async def _one_client(session: str) -> int:
    client = TelegramClient(session, 1, "bench")
    await client.connect()
    try:
        me = await client.get_me()
        assert me is not None
        msgs = await client.get_messages(USERNAME, limit=100)
        return len(msgs)
    finally:
        await client.disconnect()


async def _many(sessions: list[str]) -> tuple[int, float]:
    started = time.perf_counter()
    got = await asyncio.gather(*(_one_client(s) for s in sessions))
    return sum(1 for n in got if n == 100), time.perf_counter() - started


async def _same_loop() -> tuple[int, float]:
    # How tests run it: emulator and client share one event loop and one core.
    async with Emulator(rate=RateModel(enabled=False)) as emu:
        emu.add_channel(CHANNEL, USERNAME, "Bench")
        for n in range(HISTORY // 4):
            emu.post(CHANNEL, f"Report {n}: shelling reported near the bridge", views=n)
        with tempfile.TemporaryDirectory() as workdir:
            return await _history_rate(str(emu.write_session(Path(workdir) / "same")), HISTORY // 4)


def main() -> None:
    """Print messages/s for one client and the time to serve 50 concurrent clients."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as workdir:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_server, args=(child, workdir), daemon=True)
        t0 = time.perf_counter()
        proc.start()
        sessions: list[str] = parent.recv()
        print(f"emulator with {HISTORY} messages ready in {time.perf_counter() - t0:.1f} s")
        try:
            count, seconds = asyncio.run(_history_rate(sessions[0]))
            print(
                f"history to one Telethon client: {count} messages in {seconds:.2f} s = {count / seconds:,.0f} msg/s"
            )
            ok, seconds = asyncio.run(_many(sessions))
            print(
                f"{CLIENTS} concurrent clients (connect, get_me, 100 messages): {ok}/{CLIENTS} served in {seconds:.2f} s"
            )
        finally:
            parent.send("stop")
            proc.join(30)
    count, seconds = asyncio.run(_same_loop())
    print(
        f"same process and loop as the client: {count} messages in {seconds:.2f} s = {count / seconds:,.0f} msg/s"
    )
