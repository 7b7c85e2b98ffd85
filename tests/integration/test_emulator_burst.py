"""Bursts of pushed updates across several joined channels reach plain Telethon completely."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from telethon import TelegramClient, events, functions, types

from telewatch.emulator import Emulator
from tests.fixtures.emulator import ClientFactory

CHANNELS = [1500000301 + n for n in range(5)]


def _peer(channel_id: int) -> int:
    return -1_000_000_000_000 - channel_id


class Tally:
    """Every (chat, message id) a client saw as new, edited or deleted."""

    def __init__(self, client: TelegramClient) -> None:
        self.new: set[tuple[int, int]] = set()
        self.edited: set[tuple[int, int, str]] = set()
        self.deleted: set[tuple[int, int]] = set()
        client.add_event_handler(self._on_new, events.NewMessage())
        client.add_event_handler(self._on_edit, events.MessageEdited())
        client.add_event_handler(self._on_delete, events.MessageDeleted())

    def saw_all(self, expected: set[tuple[int, int]]) -> bool:
        """Whether every expected (chat, message id) arrived as a NewMessage."""
        return self.new >= expected

    async def _on_new(self, event: Any) -> None:
        self.new.add((event.chat_id, event.id))

    async def _on_edit(self, event: Any) -> None:
        self.edited.add((event.chat_id, event.id, event.raw_text))

    async def _on_delete(self, event: Any) -> None:
        self.deleted.update((event.chat_id, i) for i in event.deleted_ids)


async def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _joined(emulator: Emulator, telethon_client: ClientFactory) -> TelegramClient:
    for n, cid in enumerate(CHANNELS):
        emulator.add_channel(cid, f"emu_burst{n}", f"Burst {n}")
    client = await telethon_client()
    await client.get_me()
    for cid in CHANNELS:
        ch = emulator.world.channels[cid]
        await client(functions.channels.JoinChannelRequest(types.InputChannel(cid, ch.access_hash)))
    return client


async def test_burst_of_posts_edits_deletions_all_arrive(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """600 posts at ~1,000/s over 5 joined channels, then edits and deletions: every event arrives."""
    client = await _joined(emulator, telethon_client)
    seen = Tally(client)
    posted: list[tuple[int, int]] = []
    for k in range(600):
        cid = CHANNELS[k % len(CHANNELS)]
        posted.append((cid, emulator.post(cid, f"burst {k}")))
        if k % 5 == 4:
            await asyncio.sleep(0.005)
    expected_new = {(_peer(c), m) for c, m in posted}
    assert await _until(lambda: seen.new >= expected_new, 5.0), (
        f"{len(expected_new - seen.new)} of {len(expected_new)} posts never arrived"
    )
    edits = posted[::7]
    for cid, mid in edits:
        emulator.edit(cid, mid, f"edited {cid}/{mid}")
        await asyncio.sleep(0.002)
    gone = posted[3::11]
    for cid, mid in gone:
        emulator.delete(cid, [mid])
        await asyncio.sleep(0.002)
    expected_edits = {(_peer(c), m, f"edited {c}/{m}") for c, m in edits}
    expected_gone = {(_peer(c), m) for c, m in gone}
    assert await _until(
        lambda: seen.edited >= expected_edits and seen.deleted >= expected_gone, 5.0
    ), (
        f"missing {len(expected_edits - seen.edited)} edits, "
        f"{len(expected_gone - seen.deleted)} deletions"
    )


async def test_push_in_flight_when_connection_drops_is_recovered(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """The last post of a burst, pushed just before the connection drops, still arrives after the reconnect."""
    client = await _joined(emulator, telethon_client)
    seen = Tally(client)
    for round_ in range(3):
        burst = [
            (cid, emulator.post(cid, f"round {round_} post {k}"))
            for k in range(20)
            for cid in CHANNELS
        ]
        # Dropped while the burst's pushes sit unsent or unacknowledged: no
        # later post reveals a pts gap, so only the server can say they are lost.
        await emulator.disconnect_all()
        expected = {(_peer(c), m) for c, m in burst}
        assert await _until(functools.partial(seen.saw_all, expected), 8.0), (
            f"round {round_}: {len(expected - seen.new)} of {len(expected)} posts never arrived"
        )
