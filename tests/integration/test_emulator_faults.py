"""Faults as Telethon sees them: flood waits, renamed and private channels, garbage clients."""

from __future__ import annotations

import asyncio
import os
import struct
import tempfile
from pathlib import Path
from zlib import crc32

import pytest
from telethon import TelegramClient, functions
from telethon.errors import (
    ChannelPrivateError,
    FloodWaitError,
    InputMethodInvalidError,
    UsernameNotOccupiedError,
)

from telewatch.emulator import Emulator, RateModel
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory


async def test_history_over_budget_answers_flood_wait() -> None:
    """More than 10 GetHistory calls in 30 s raise FloodWaitError with the seconds until a slot frees."""
    async with Emulator(rate=RateModel()) as emu:
        emu.add_channel(EMU_CHANNEL, EMU_USERNAME, "Emu News")
        emu.post(EMU_CHANNEL, "hello")
        with tempfile.TemporaryDirectory() as tmp:
            client = TelegramClient(
                str(emu.write_session(Path(tmp) / "s")), 1, "x", flood_sleep_threshold=0
            )
            await client.connect()
            try:
                channel = await client.get_input_entity(EMU_USERNAME)
                for _ in range(10):
                    await client.get_messages(channel, limit=1)
                with pytest.raises(FloodWaitError) as caught:
                    await client.get_messages(channel, limit=1)
                assert 1 <= caught.value.seconds <= 30
                assert emu.stats["flood_waits"] == 1
            finally:
                await client.disconnect()


async def test_injected_flood_wait_is_slept_under_threshold(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """An injected FLOOD_WAIT_1 below Telethon's threshold is slept inside Telethon and the call succeeds."""
    emulator.post(EMU_CHANNEL, "hello")
    client = await telethon_client(flood_sleep_threshold=5)
    channel = await client.get_input_entity(EMU_USERNAME)
    emulator.inject_flood("messages.GetHistory", 1)
    started = asyncio.get_running_loop().time()
    got = await client.get_messages(channel, limit=1)
    assert got[0].text == "hello"
    assert asyncio.get_running_loop().time() - started >= 0.9


async def test_resolve_username_waits_escalate(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """ResolveUsername is scarce: past its budget each violation doubles the wait."""
    client = await telethon_client()
    waits = []
    for _ in range(2):
        for _ in range(5):
            await client(functions.contacts.ResolveUsernameRequest(EMU_USERNAME))
        with pytest.raises(FloodWaitError) as caught:
            await client(functions.contacts.ResolveUsernameRequest(EMU_USERNAME))
        waits.append(caught.value.seconds)
        # The 100x faster model blocks 0.6 s then 1.2 s; the 60 s window is 0.6 s.
        await asyncio.sleep(0.65 * len(waits) + 0.05)
    assert waits == [1, 2]


async def test_renamed_channel_old_name_not_occupied(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """After a rename the old @name answers USERNAME_NOT_OCCUPIED and the new one resolves to the same id."""
    emulator.rename(EMU_CHANNEL, "emu_news_2")
    client = await telethon_client()
    with pytest.raises(UsernameNotOccupiedError):
        await client(functions.contacts.ResolveUsernameRequest(EMU_USERNAME))
    renamed = await client.get_entity("emu_news_2")
    assert renamed.id == EMU_CHANNEL


async def test_private_channel_answers_channel_private(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A channel that went private answers CHANNEL_PRIVATE for history fetched by id."""
    emulator.post(EMU_CHANNEL, "soon gone")
    client = await telethon_client()
    channel = await client.get_input_entity(EMU_USERNAME)
    emulator.make_private(EMU_CHANNEL)
    with pytest.raises(ChannelPrivateError):
        await client.get_messages(channel, limit=10)
    with pytest.raises(UsernameNotOccupiedError):
        await client(functions.contacts.ResolveUsernameRequest(EMU_USERNAME))


async def test_unknown_method_answers_rpc_error(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A method the emulator does not serve answers an RPC error instead of hanging."""
    client = await telethon_client()
    with pytest.raises(InputMethodInvalidError):
        await asyncio.wait_for(client(functions.help.GetAppConfigRequest(hash=0)), 5)


async def test_garbage_client_does_not_disturb_a_good_one(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Garbage bytes close only their own connection; a Telethon client keeps working."""
    emulator.post(EMU_CHANNEL, "still here")
    client = await telethon_client()
    channel = await client.get_input_entity(EMU_USERNAME)
    answers = []
    for payload in (os.urandom(64), os.urandom(72), struct.pack("<ii", 10_000_000, 0), b""):
        reader, writer = await asyncio.open_connection(emulator.host, emulator.port)
        body = struct.pack("<ii", len(payload) + 12, 0) + payload
        writer.write(body + struct.pack("<I", crc32(body)) if payload else b"\xff" * 40)
        await writer.drain()
        answers.append(await asyncio.wait_for(reader.read(), 5))  # read() returns at EOF: closed
        writer.close()
        await writer.wait_closed()
    # An unknown auth key (72 aligned bytes) gets Telegram's -404 transport error; the rest just a close.
    assert answers[1][8:12] == struct.pack("<i", -404)
    assert answers[0] == answers[2] == answers[3] == b""
    got = await client.get_messages(channel, limit=1)
    assert got[0].text == "still here"
