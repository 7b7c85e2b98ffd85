"""Several accounts on one emulator, each seen by its own real Telethon client over TCP."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient, events, functions, types
from telethon.errors import (
    AuthKeyUnregisteredError,
    ChannelInvalidError,
    ChannelsTooMuchError,
    FloodWaitError,
    UserDeactivatedBanError,
)

from telewatch.emulator import Emulator, RateModel, Scenario, ScenarioError
from telewatch.emulator.server import SessionLocked
from telewatch.emulator.world import SELF_USER_ID
from tests.fixtures.daemon import TELEWATCH
from tests.fixtures.emulator import (
    ACCOUNTS,
    CHANNELS,
    EMU_CHANNEL,
    EMU_USERNAME,
    MAX_JOINED,
    AccountClientFactory,
)


async def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _resolved_hash(client: TelegramClient, username: str) -> int:
    found = await client(functions.contacts.ResolveUsernameRequest(username))
    chat = found.chats[0]
    assert isinstance(chat, types.Channel)
    return int(chat.access_hash)


def _history(channel_id: int, access_hash: int) -> functions.messages.GetHistoryRequest:
    return functions.messages.GetHistoryRequest(
        peer=types.InputPeerChannel(channel_id, access_hash),
        offset_id=0,
        offset_date=None,
        add_offset=0,
        limit=10,
        max_id=0,
        min_id=0,
        hash=0,
    )


async def test_each_account_has_its_own_user_and_access_hashes(
    accounts_emulator: Emulator, account_client: AccountClientFactory
) -> None:
    """Three clients at once: three users, three access hashes of one channel, and a
    hash of account 1 used by account 2 answers CHANNEL_INVALID."""
    emu = accounts_emulator
    emu.post(EMU_CHANNEL, "one post for everyone")
    clients = await asyncio.gather(*(account_client(k) for k in range(1, ACCOUNTS + 1)))
    mes = await asyncio.gather(*(c.get_me() for c in clients))
    assert [m.id for m in mes] == [SELF_USER_ID + k for k in range(ACCOUNTS)]
    assert len({m.phone for m in mes}) == ACCOUNTS
    hashes = await asyncio.gather(*(_resolved_hash(c, EMU_USERNAME) for c in clients))
    assert len(set(hashes)) == ACCOUNTS
    assert hashes == [emu.access_hash(EMU_CHANNEL, account=k) for k in range(1, ACCOUNTS + 1)]
    assert hashes[0] == emu.world.channel(EMU_CHANNEL).access_hash  # account 1 as before
    for k, client in enumerate(clients):
        page = await client(_history(EMU_CHANNEL, hashes[k]))
        assert [m.message for m in page.messages] == ["one post for everyone"]
        assert page.chats[0].access_hash == hashes[k]
    with pytest.raises(ChannelInvalidError):
        await clients[1](_history(EMU_CHANNEL, hashes[0]))
    with pytest.raises(ChannelInvalidError):
        await clients[0](
            functions.channels.GetChannelsRequest([types.InputChannel(EMU_CHANNEL, hashes[2])])
        )


async def test_joined_channels_and_pushes_are_per_account(
    accounts_emulator: Emulator, account_client: AccountClientFactory
) -> None:
    """A post reaches only the accounts that joined the channel, each with its own
    access hash in the pushed update; dialogs list each account's own channels."""
    emu = accounts_emulator
    one, two, three = await asyncio.gather(*(account_client(k) for k in (1, 2, 3)))
    got: dict[int, list[str]] = {1: [], 2: [], 3: []}
    for k, client in ((1, one), (2, two), (3, three)):

        async def on_new(event: Any, k: int = k) -> None:
            got[k].append(event.raw_text)

        client.add_event_handler(on_new, events.NewMessage())
        await client.get_me()
    channel = await one.get_input_entity(EMU_USERNAME)
    await one(functions.channels.JoinChannelRequest(channel))
    assert emu.joined(EMU_CHANNEL, account=1)
    assert not emu.joined(EMU_CHANNEL, account=2)
    emu.post(EMU_CHANNEL, "first")
    await _until(lambda: got[1] == ["first"])
    await asyncio.sleep(1.5)  # time for a wrong push to arrive too
    assert got[2] == [] and got[3] == []

    hash_two = await _resolved_hash(two, EMU_USERNAME)
    await two(functions.channels.JoinChannelRequest(types.InputChannel(EMU_CHANNEL, hash_two)))
    emu.post(EMU_CHANNEL, "second")
    await _until(lambda: got[1] == ["first", "second"] and got[2] == ["second"])
    await asyncio.sleep(1.5)
    assert got[3] == []
    # Telethon stores the chats of every pushed update: had the push carried
    # another account's hash, the session would now hold that one.
    pushed = two.session.get_input_entity(EMU_CHANNEL)
    assert pushed.access_hash == hash_two != emu.access_hash(EMU_CHANNEL, account=1)
    assert (await two.get_messages(pushed, limit=1))[0].text == "second"

    dialogs = {k: [d.id for d in await c.get_dialogs()] for k, c in ((2, two), (3, three))}
    assert dialogs == {2: [-1000000000000 - EMU_CHANNEL], 3: []}


async def test_a_flood_wait_for_one_account_does_not_touch_another(tmp_path: Path) -> None:
    """Each account has its own rate model: account 1 over its GetHistory budget gets
    FLOOD_WAIT while account 2 is served; an injected wait hits only the account named."""
    model = RateModel(budgets={"messages.GetHistory": (2, 600.0)})
    async with Emulator(rate=model, accounts=2) as emu:
        emu.add_channel(EMU_CHANNEL, EMU_USERNAME, "Emu News")
        emu.post(EMU_CHANNEL, "hello")
        sessions = emu.write_sessions(tmp_path / "s")
        clients = [TelegramClient(str(s), 1, "x", flood_sleep_threshold=0) for s in sessions]
        try:
            for client in clients:
                await client.connect()
            one, two = clients
            peer_one = await one.get_input_entity(EMU_USERNAME)
            peer_two = await two.get_input_entity(EMU_USERNAME)
            for _ in range(2):
                await one.get_messages(peer_one, limit=1)
            with pytest.raises(FloodWaitError) as caught:
                await one.get_messages(peer_one, limit=1)
            assert caught.value.seconds > 500
            for _ in range(2):
                assert (await two.get_messages(peer_two, limit=1))[0].text == "hello"
            assert emu.stats["flood_waits"] == 1

            emu.inject_flood("channels.GetFullChannel", 900, account=2)
            with pytest.raises(FloodWaitError):
                await two(functions.channels.GetFullChannelRequest(peer_two))
            full = await one(functions.channels.GetFullChannelRequest(peer_one))
            assert full.full_chat.id == EMU_CHANNEL
        finally:
            for client in clients:
                await client.disconnect()


async def test_a_held_resolve_flood_answers_the_time_left_until_it_ends(tmp_path: Path) -> None:
    """Timeline step `flood` with `hold = true` and `account = 2`: every
    ResolveUsername of account 2 answers FLOOD_WAIT with the seconds still left
    (not only the next call, as Telegram keeps an hours-long resolve wait), account 1
    resolves meanwhile, and account 2 is served again once the wait is over."""
    scenario = Scenario.from_dict(
        {
            "autostart": False,
            "channels": [{"id": EMU_CHANNEL, "username": EMU_USERNAME, "title": "Emu News"}],
            "timeline": [
                {
                    "at": 0.0,
                    "action": "flood",
                    "method": "contacts.ResolveUsername",
                    "seconds": 3,
                    "account": 2,
                    "hold": True,
                }
            ],
        }
    )
    async with Emulator(scenario, accounts=2) as emu:
        sessions = emu.write_sessions(tmp_path / "s")
        clients = [TelegramClient(str(s), 1, "x", flood_sleep_threshold=0) for s in sessions]
        try:
            for client in clients:
                await client.connect()
            await emu.start_timeline()
            await asyncio.sleep(0.1)  # the step at 0.0 has run
            waits = []
            for _ in range(3):
                with pytest.raises(FloodWaitError) as caught:
                    await _resolved_hash(clients[1], EMU_USERNAME)
                waits.append(caught.value.seconds)
            assert all(1 <= w <= 3 for w in waits), waits
            assert await _resolved_hash(clients[0], EMU_USERNAME)
            await asyncio.sleep(3.1)
            assert await _resolved_hash(clients[1], EMU_USERNAME)
        finally:
            for client in clients:
                await client.disconnect()


async def test_join_past_max_joined_answers_channels_too_much(
    accounts_emulator: Emulator, account_client: AccountClientFactory
) -> None:
    """An account that has joined MAX_JOINED channels gets CHANNELS_TOO_MUCH for the
    next one (a repeated join still answers as before); another account can join it."""
    emu = accounts_emulator
    assert CHANNELS > MAX_JOINED
    one, two = await asyncio.gather(account_client(1), account_client(2))
    names = [EMU_USERNAME] + [f"emu_extra{k}" for k in range(1, CHANNELS)]
    for name in names[:MAX_JOINED]:
        await one(functions.channels.JoinChannelRequest(await one.get_input_entity(name)))
    with pytest.raises(ChannelsTooMuchError):
        await one(
            functions.channels.JoinChannelRequest(await one.get_input_entity(names[MAX_JOINED]))
        )
    again = await one(functions.channels.JoinChannelRequest(await one.get_input_entity(names[0])))
    assert isinstance(again, types.Updates) and again.updates == []
    await two(functions.channels.JoinChannelRequest(await two.get_input_entity(names[MAX_JOINED])))
    assert emu.joined(EMU_CHANNEL + MAX_JOINED, account=2)
    assert not emu.joined(EMU_CHANNEL + MAX_JOINED, account=1)
    # Leaving makes room again.
    await one(functions.channels.LeaveChannelRequest(await one.get_input_entity(names[0])))
    await one(functions.channels.JoinChannelRequest(await one.get_input_entity(names[MAX_JOINED])))


async def test_scenario_steps_ban_one_account_and_log_out_another(tmp_path: Path) -> None:
    """Timeline steps `ban` and `logout` mid-run: account 2 answers USER_DEACTIVATED_BAN,
    account 3 AUTH_KEY_UNREGISTERED, account 1 carries on and still gets its pushes."""
    scenario = Scenario.from_dict(
        {
            "autostart": False,
            "channels": [{"id": EMU_CHANNEL, "username": EMU_USERNAME, "title": "Emu News"}],
            "timeline": [
                {"at": 0.2, "action": "ban", "account": 2},
                {"at": 0.2, "action": "logout", "account": 3},
                {"at": 0.4, "action": "post", "channel": EMU_CHANNEL, "text": "after"},
            ],
        }
    )
    async with Emulator(scenario, rate=RateModel(scale=0.01), accounts=3) as emu:
        sessions = emu.write_sessions(tmp_path / "s")
        clients = [TelegramClient(str(s), 1, "x", flood_sleep_threshold=0) for s in sessions]
        try:
            for client in clients:
                await client.connect()
            got: list[str] = []

            async def on_new(event: Any) -> None:
                got.append(event.raw_text)

            clients[0].add_event_handler(on_new, events.NewMessage())
            peers = [await c.get_input_entity(EMU_USERNAME) for c in clients]
            for client, peer in zip(clients, peers, strict=True):
                await client(functions.channels.JoinChannelRequest(peer))
            await emu.start_timeline()
            await _until(lambda: got == ["after"])
            assert (await clients[0].get_messages(peers[0], limit=1))[0].text == "after"
            with pytest.raises(UserDeactivatedBanError):
                await clients[1].get_messages(peers[1], limit=1)
            with pytest.raises(AuthKeyUnregisteredError):
                await clients[2].get_messages(peers[2], limit=1)
        finally:
            for client in clients:
                await client.disconnect()


def test_ban_and_logout_steps_need_the_account() -> None:
    """A `ban` or `logout` step without `account` fails loading with one line naming it."""
    for kind in ("ban", "logout"):
        with pytest.raises(ScenarioError, match=f"{kind}.*account"):
            Scenario.from_dict({"timeline": [{"at": 1, "action": kind}]})


async def test_accounts_survive_a_state_file(tmp_path: Path) -> None:
    """--state keeps which account each key is, every account's joined channels and
    bans."""
    state = tmp_path / "world.json"
    async with Emulator(accounts=2) as emu:
        emu.add_channel(EMU_CHANNEL, EMU_USERNAME, "Emu News")
        sessions = emu.write_sessions(tmp_path / "s")
        emu.join(EMU_CHANNEL, account=2)
        emu.ban(1)
        emu.save_state(state)
    restored = Emulator(accounts=2)
    restored.load_state(state)
    async with restored:
        assert restored.joined(EMU_CHANNEL, account=2)
        assert not restored.joined(EMU_CHANNEL, account=1)
        assert [a.banned for a in restored.accounts] == [True, False]
        restored.write_sessions(tmp_path / "s")
        client = TelegramClient(str(sessions[1]), 1, "x")
        await client.connect()
        try:
            assert (await client.get_me()).id == SELF_USER_ID + 1
            dialogs = await client.get_dialogs()
            assert [d.entity.id for d in dialogs] == [EMU_CHANNEL]
        finally:
            await client.disconnect()


def test_serve_accounts_writes_one_session_per_account(tmp_path: Path) -> None:
    """`emulator serve --accounts 3 --session-dir DIR --max-joined 1` prints one
    `session written to` line per account and writes DIR/account1…3.session, mode 0600;
    --accounts without --session-dir is refused with one line."""
    folder = tmp_path / "sessions"
    args = ["--accounts", "3", "--session-dir", str(folder), "--max-joined", "1", "--port", "0"]
    p = subprocess.Popen(
        [TELEWATCH, "emulator", "serve", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline().startswith("listening on 127.0.0.1:")
        written = [p.stdout.readline().strip() for _ in range(3)]
        names = [f"account{k}.session" for k in (1, 2, 3)]
        assert written == [f"session written to {folder / n}" for n in names]
        for n in names:
            assert stat.S_IMODE((folder / n).stat().st_mode) == 0o600
    finally:
        p.send_signal(signal.SIGTERM)
        _out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    refused = subprocess.run(
        [TELEWATCH, "emulator", "serve", "--accounts", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: --accounts 2 writes one session per account: give --session-dir DIR"
    ]


async def test_a_session_file_locked_by_a_client_raises_session_locked(tmp_path: Path) -> None:
    """Rewriting a session that another process holds locked raises SessionLocked (an
    OSError with the database's reason), never a driver error, and leaves it as it was."""
    async with Emulator() as first:
        path = first.write_session(tmp_path / "held.session")
    before = path.read_bytes()
    holder = sqlite3.connect(path)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        async with Emulator() as second:  # another port: the session must be rewritten
            with pytest.raises(SessionLocked, match="locked"):
                second.write_session(path)
    finally:
        holder.close()
    assert path.read_bytes() == before
