"""Pushed updates, reconnects and catch-up, seen through plain Telethon event handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telethon import TelegramClient, events, functions

from telewatch.emulator import Emulator
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory

OTHER = 1500000199


class Seen:
    """Collects events from one client's handlers."""

    def __init__(self, client: TelegramClient) -> None:
        self.new: list[str] = []
        self.edited: list[str] = []
        self.deleted: list[int] = []
        client.add_event_handler(self._on_new, events.NewMessage())
        client.add_event_handler(self._on_edit, events.MessageEdited())
        client.add_event_handler(self._on_delete, events.MessageDeleted())

    async def _on_new(self, event: Any) -> None:
        self.new.append(event.raw_text)

    async def _on_edit(self, event: Any) -> None:
        self.edited.append(event.raw_text)

    async def _on_delete(self, event: Any) -> None:
        self.deleted.extend(event.deleted_ids)


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _joined_client(
    telethon_client: ClientFactory, session: Path | None = None, **kw: Any
) -> TelegramClient:
    client = await telethon_client(session, **kw)
    await client.get_me()
    channel = await client.get_entity(EMU_USERNAME)
    await client(functions.channels.JoinChannelRequest(channel))
    return client


async def test_joined_channel_delivers_new_edit_delete(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Joined channels deliver NewMessage, MessageEdited and MessageDeleted; unjoined ones deliver nothing."""
    emulator.add_channel(OTHER, "emu_other", "Other")
    client = await _joined_client(telethon_client)
    seen = Seen(client)
    assert emulator.joined(EMU_CHANNEL) and not emulator.joined(OTHER)
    first = emulator.post(EMU_CHANNEL, "breaking: first")
    emulator.post(OTHER, "not joined")
    await _until(lambda: seen.new == ["breaking: first"])
    emulator.edit(EMU_CHANNEL, first, "breaking: first (corrected)")
    await _until(lambda: seen.edited == ["breaking: first (corrected)"])
    emulator.delete(EMU_CHANNEL, [first])
    await _until(lambda: seen.deleted == [first])
    await asyncio.sleep(0.2)
    assert "not joined" not in seen.new


async def test_dropped_connections_recover_through_channel_difference(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """After every connection is dropped while posts arrive, Telethon reconnects and gets them via getChannelDifference."""
    client = await _joined_client(telethon_client)
    seen = Seen(client)
    emulator.post(EMU_CHANNEL, "before drop")
    await _until(lambda: seen.new == ["before drop"])
    await emulator.disconnect_all()
    for n in range(3):
        emulator.post(EMU_CHANNEL, f"while down {n}")
    await _until(lambda: len(seen.new) == 4)
    assert seen.new[1:] == ["while down 0", "while down 1", "while down 2"]
    assert emulator.stats["requests"].get("updates.GetChannelDifference", 0) >= 1


async def test_suppressed_pushes_are_a_gap_filled_by_difference(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Updates that were never pushed (a gap) are fetched when the next push reveals the pts jump."""
    client = await _joined_client(telethon_client)
    seen = Seen(client)
    emulator.post(EMU_CHANNEL, "one")
    await _until(lambda: seen.new == ["one"])
    emulator.suppress_pushes(EMU_CHANNEL, 2)
    emulator.post(EMU_CHANNEL, "two")
    emulator.post(EMU_CHANNEL, "three")
    emulator.post(EMU_CHANNEL, "four")
    await _until(lambda: len(seen.new) == 4)
    assert seen.new == ["one", "two", "three", "four"]


async def test_too_long_difference_skips_messages(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """ChannelDifferenceTooLong makes Telethon skip the gap: the skipped posts never arrive as events."""
    client = await _joined_client(telethon_client)
    seen = Seen(client)
    emulator.post(EMU_CHANNEL, "one")
    await _until(lambda: seen.new == ["one"])
    emulator.too_long(EMU_CHANNEL)
    emulator.suppress_pushes(EMU_CHANNEL, 2)
    emulator.post(EMU_CHANNEL, "lost a")
    emulator.post(EMU_CHANNEL, "lost b")
    emulator.post(EMU_CHANNEL, "after")
    # Wait until the TooLong answer was served, so "next" comes after the skipped range.
    await _until(lambda: EMU_CHANNEL not in emulator.methods.too_long)
    await asyncio.sleep(0.2)
    emulator.post(EMU_CHANNEL, "next")
    await _until(lambda: "next" in seen.new)
    assert "lost a" not in seen.new and "lost b" not in seen.new


async def test_restart_with_sqlite_session_catches_up(
    emulator: Emulator, telethon_client: ClientFactory, emulator_session: Path
) -> None:
    """A client restarted on its SQLite session with catch_up=True receives what was posted while it was down."""
    client = await _joined_client(telethon_client, emulator_session)
    seen = Seen(client)
    emulator.post(EMU_CHANNEL, "seen live")
    await _until(lambda: seen.new == ["seen live"])
    await client.disconnect()
    emulator.post(EMU_CHANNEL, "while offline 1")
    emulator.post(EMU_CHANNEL, "while offline 2")
    restarted = TelegramClient(str(emulator_session), 1, "emulator", catch_up=True)
    seen2 = Seen(restarted)
    await restarted.connect()
    try:
        await _until(lambda: seen2.new == ["while offline 1", "while offline 2"])
    finally:
        await restarted.disconnect()


async def test_drop_right_after_join_still_recovers(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Posts made while the connection is down right after joining (no push seen yet) still arrive."""
    client = await _joined_client(telethon_client)
    seen = Seen(client)
    await emulator.disconnect_all()
    emulator.post(EMU_CHANNEL, "first ever")
    emulator.post(EMU_CHANNEL, "second ever")
    await _until(lambda: seen.new == ["first ever", "second ever"])


async def test_invoke_without_updates_connection_gets_no_pushes(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A client with receive_updates=False (InvokeWithoutUpdates) is not pushed anything, a normal one is."""
    listener = await _joined_client(telethon_client)
    seen = Seen(listener)
    quiet = await telethon_client(receive_updates=False)
    quiet_seen = Seen(quiet)
    await quiet.get_me()
    emulator.post(EMU_CHANNEL, "for listeners")
    await _until(lambda: seen.new == ["for listeners"])
    await asyncio.sleep(0.2)
    assert quiet_seen.new == []
