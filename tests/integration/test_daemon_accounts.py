"""Two daemons, each with its own emulator account and archive, archive the same
channels: each equals the truth, and each archive keeps its own account's access hash
(another account's hash would be CHANNEL_INVALID for it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telewatch.emulator import Emulator, EmulatorThread, RateModel
from tests.fixtures.daemon import RATE_SCALE, DaemonWorld

CHANNELS = [(1500000991, "acct_join"), (1500000992, "acct_poll")]


@pytest.fixture
def two_accounts(tmp_path: Path) -> Iterator[tuple[DaemonWorld, DaemonWorld]]:
    """One emulator serving two accounts; a DaemonWorld per account (own session, config,
    archive)."""
    with EmulatorThread(rate=RateModel(scale=RATE_SCALE), accounts=2) as et:
        worlds = (
            DaemonWorld(emu=et, root=tmp_path / "a1"),
            DaemonWorld(emu=et, root=tmp_path / "a2"),
        )
        for k, w in enumerate(worlds, start=1):
            w.root.mkdir()
            et.write_session(w.session, account=k)
        try:
            yield worlds
        finally:
            for w in worlds:
                w.close()


def test_two_accounts_archive_the_same_channels_with_their_own_hashes(
    two_accounts: tuple[DaemonWorld, DaemonWorld],
) -> None:
    """Accounts 1 and 2 each join @acct_join and poll @acct_poll into their own archive:
    history, a live post and a polled edit reach both; each archive holds its account's
    access hash of each channel."""
    one, two = two_accounts
    base = datetime.now(UTC) - timedelta(hours=1)

    def setup(emu: Emulator) -> None:
        for cid, name in CHANNELS:
            emu.add_channel(cid, name, name)
            for k in range(5):
                emu.world.add_message(emu.world.channel(cid), f"{name} {k}", date=base, log=False)

    one.emu.call(setup)
    procs = []
    for w in (one, two):
        w.write_config(
            [{"username": "acct_join", "mode": "join"}, {"username": "acct_poll", "mode": "poll"}]
        )
        p = w.start()
        w.wait_running(p)
        procs.append(p)
    for w in (one, two):
        w.wait_for(
            lambda w=w: w.query("SELECT count(*) FROM posts") == [(10,)], 60, "history archived"
        )
    joined = one.emu.call(lambda emu: [emu.joined(CHANNELS[0][0], account=k) for k in (1, 2)])
    assert joined == [True, True]
    mid = one.emu.call(lambda emu: emu.post(CHANNELS[0][0], "live for both accounts"))
    one.emu.call(lambda emu: emu.edit(CHANNELS[1][0], 3, "polled edit"))
    for w in (one, two):
        assert w.settle(60) == []
        assert w.query(
            "SELECT text FROM posts WHERE channel_id = ? AND message_id = ?", CHANNELS[0][0], mid
        ) == [("live for both accounts",)]
    for cid, _name in CHANNELS:
        hashes = [
            w.query("SELECT access_hash FROM channels WHERE id = ?", cid)[0][0] for w in (one, two)
        ]
        expected = one.emu.call(lambda emu, c=cid: [emu.access_hash(c, account=k) for k in (1, 2)])
        assert hashes == expected and hashes[0] != hashes[1]
    for w, p in zip((one, two), procs, strict=True):
        assert w.stop(p) == 0
