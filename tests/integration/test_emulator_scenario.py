"""Scenario files, Desktop exports and the `telewatch emulator serve` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from telewatch.emulator import Emulator, EmulatorThread, Scenario, ScenarioError

SCENARIO = """
speed = 20.0
autostart = true

[[channels]]
id = 1500000301
username = "scen_one"
title = "Scenario One"
subscribers = 10

[[channels.history]]
id = 10
date = "2024-03-01T08:00:00Z"
text = "Explosion reported near the bridge"
views = 1200
entities = [{ type = "bold", offset = 0, length = 9 }]

[[timeline]]
at = 1
action = "post"
channel = 1500000301
text = "Live: second explosion"

[[timeline]]
at = 2
action = "edit"
channel = 1500000301
id = 11
text = "Live: second explosion (corrected)"

[[timeline]]
at = 3
action = "delete"
channel = 1500000301
id = 10
"""


async def test_scenario_timeline_plays_at_speed(tmp_path: Path) -> None:
    """A TOML scenario preloads history and plays its timeline (post, edit, delete) at the speed factor."""
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    scenario = Scenario.load(path)
    async with Emulator(scenario) as emu:
        await asyncio.sleep(3 / 20 + 0.3)
        messages = {m["id"]: m for m in emu.truth()["channels"][0]["messages"]}
    assert messages[10]["deleted"] is True and messages[10]["views"] == 1200
    assert (
        messages[11]["text"] == "Live: second explosion (corrected)" and messages[11]["edit_date"]
    )


async def test_start_timeline_plays_a_scenario_without_autostart(tmp_path: Path) -> None:
    """Without autostart the timeline waits until start_timeline() is called, then plays in the background."""
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.replace("autostart = true", "autostart = false"), encoding="utf-8")
    async with Emulator(Scenario.load(path)) as emu:
        await asyncio.sleep(1 / 20 + 0.2)
        assert [m["id"] for m in emu.truth()["channels"][0]["messages"]] == [10]
        task = emu.start_timeline()
        await asyncio.wait_for(task, 5)
        messages = {m["id"]: m for m in emu.truth()["channels"][0]["messages"]}
    assert messages[10]["deleted"] is True
    assert messages[11]["text"] == "Live: second explosion (corrected)"


def test_bad_scenario_names_the_problem(tmp_path: Path) -> None:
    """A scenario with an unknown action fails with one line naming the step and the allowed actions."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"timeline": [{"at": 1, "action": "explode"}]}), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"timeline\[0\].*unknown action 'explode'"):
        Scenario.load(path)
    path.write_text(json.dumps({"timeline": [{"at": 1, "action": "edit", "channel": 5}]}), "utf-8")
    with pytest.raises(ScenarioError, match=r"timeline\[0\]: action 'edit' needs id, text"):
        Scenario.load(path)


def test_export_served_through_thread_to_sync_telethon(xref_dev: Path, tmp_path: Path) -> None:
    """A Desktop export loaded into an EmulatorThread is served to Telethon with ids, texts and entities kept."""
    export = xref_dev / "channels" / "rafidain_watch" / "result.json"
    raw = json.loads(export.read_text(encoding="utf-8"))
    wanted = {m["id"] for m in raw["messages"] if m["type"] == "message"}
    with EmulatorThread() as et:
        cid = et.call(lambda emu: emu.load_export(export, username="rafidain_watch"))
        session = et.write_session(tmp_path / "t")

        async def fetch() -> dict[int, str]:
            client = TelegramClient(str(session), 1, "x")
            await client.connect()
            try:
                return {
                    m.id: m.raw_text
                    async for m in client.iter_messages("rafidain_watch", limit=None, wait_time=0)
                }
            finally:
                await client.disconnect()

        got = asyncio.run(fetch())
        assert cid == raw["id"]
        new_id = et.call(lambda emu: emu.post(cid, "posted from another thread"))
        assert new_id > max(wanted)
        et.call(lambda emu: emu.disconnect_all())  # coroutines are awaited on the emulator's loop
        assert et.call(lambda emu: emu.stats["clients"]) == 0
    assert set(got) == wanted
    for m in raw["messages"]:
        if m["type"] == "message":
            assert got[m["id"]] == "".join(part["text"] for part in m["text_entities"])


def test_serve_command_serves_export_and_dumps_state(xref_dev: Path, tmp_path: Path) -> None:
    """`telewatch emulator serve --channel @name=result.json --dump-state` serves the export and dumps it on SIGINT."""
    export = xref_dev / "channels" / "rafidain_watch" / "result.json"
    raw = json.loads(export.read_text(encoding="utf-8"))
    count = sum(1 for m in raw["messages"] if m["type"] == "message")
    dump = tmp_path / "out.json"
    session = tmp_path / "cli.session"
    telewatch = Path(sys.executable).with_name("telewatch")
    proc = subprocess.Popen(
        [
            str(telewatch),
            "emulator",
            "serve",
            "--channel",
            f"@rafidain_watch={export}",
            "--session",
            str(session),
            "--dump-state",
            str(dump),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        listening = proc.stdout.readline().strip()
        written = proc.stdout.readline().strip()
        assert listening.startswith("listening on 127.0.0.1:")
        assert written == f"session written to {session}"
        assert os.stat(session).st_mode & 0o777 == 0o600

        async def fetch() -> int:
            client = TelegramClient(str(session), 1, "x")
            await client.connect()
            try:
                return len(
                    [
                        m
                        async for m in client.iter_messages(
                            "rafidain_watch", limit=None, wait_time=0
                        )
                    ]
                )
            finally:
                await client.disconnect()

        assert asyncio.run(fetch()) == count
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    state = json.loads(dump.read_text(encoding="utf-8"))
    (channel,) = state["channels"]
    assert channel["username"] == "rafidain_watch" and channel["id"] == raw["id"]
    assert len(channel["messages"]) == count and not any(m["deleted"] for m in channel["messages"])


def test_serve_rejects_missing_export(tmp_path: Path) -> None:
    """A --channel pointing at a missing file exits 2 with one line naming the file."""
    telewatch = Path(sys.executable).with_name("telewatch")
    proc = subprocess.run(
        [str(telewatch), "emulator", "serve", "--channel", f"@x={tmp_path / 'nope.json'}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --channel") and "nope.json" in proc.stderr


async def test_real_telegram_session_is_never_overwritten(tmp_path: Path) -> None:
    """write_session refuses a session file that points at another server, leaving it unchanged."""
    real = tmp_path / "real.session"
    session = SQLiteSession(str(real))
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(os.urandom(256))
    session.save()
    session.close()
    before = real.read_bytes()
    async with Emulator() as emu:
        with pytest.raises(FileExistsError, match=r"149\.154\.167\.51"):
            emu.write_session(real)
    assert real.read_bytes() == before


def test_serve_plays_scenario_and_dumps_on_sigterm(tmp_path: Path) -> None:
    """`serve --scenario` plays the timeline; SIGTERM stops it and the dump holds the edited and deleted posts."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    dump = tmp_path / "state.json"
    telewatch = Path(sys.executable).with_name("telewatch")
    proc = subprocess.Popen(
        [
            str(telewatch),
            "emulator",
            "serve",
            "--scenario",
            str(scenario),
            "--session",
            str(tmp_path / "s.session"),
            "--dump-state",
            str(dump),
            "--speed",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("listening on ")
        assert proc.stdout.readline().startswith("session written to ")
        assert proc.stdout.readline().strip() == "login code 12345"
        assert proc.stdout.readline().strip() == "channel 1500000301 @scen_one: 1 messages"
        time.sleep(3 / 30 + 0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    (channel,) = json.loads(dump.read_text(encoding="utf-8"))["channels"]
    by_id = {m["id"]: m for m in channel["messages"]}
    assert by_id[10]["deleted"] and by_id[11]["text"].endswith("(corrected)")
