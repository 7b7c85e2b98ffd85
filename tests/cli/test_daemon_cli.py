"""The daemon's commands: login, channels add|remove|list, status, run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.emulator import EmulatorThread, RateModel
from telewatch.models import ChannelStatusChanged, DaemonHeartbeat
from telewatch.store.db import connect, migrate
from telewatch.store.status import (
    apply_channel_status,
    apply_heartbeat,
    channel_statuses,
    daemon_status,
)
from tests.fixtures.daemon import TELEWATCH, DaemonWorld


def _cli(*args: str, db: Path) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return r.exit_code, r.output


def test_watch_list_add_remove_list_round_trip(tmp_path: Path) -> None:
    """Channels added by name/link/id are listed; removal by another form of
    the same reference works and keeps the row for --all."""
    db = tmp_path / "a.db"
    assert (
        _cli("channels", "add", "@Rafidain_Watch", "--mode", "poll", "--backfill", "500", db=db)[0]
        == 0
    )
    assert _cli("channels", "add", "https://t.me/other_watch", db=db)[0] == 0
    assert _cli("channels", "add", "1500000009", "--backfill", "2022-01-01", db=db)[0] == 0
    code, out = _cli("channels", "list", db=db)
    assert code == 0
    assert (
        "@Rafidain_Watch" in out and "poll" in out and "@other_watch" in out and "1500000009" in out
    )
    code, out = _cli("channels", "remove", "t.me/rafidain_watch", db=db)
    assert code == 0 and "stopped watching @Rafidain_Watch" in out
    code, out = _cli("channels", "list", "--json", db=db)
    keys = {e["key"] for e in json.loads(out)}
    assert keys == {"username:other_watch", "id:1500000009"}
    code, out = _cli("channels", "list", "--all", db=db)
    assert "removed" in out


def test_watch_list_errors_are_one_line(tmp_path: Path) -> None:
    """Bad references, depths and unknown channels give `error: ...` and exit 2."""
    db = tmp_path / "a.db"
    r = CliRunner().invoke(main, ["--db", str(db), "channels", "add", "https://example.com/x"])
    assert r.exit_code == 2 and r.output.startswith("error: ") and r.output.count("\n") == 1
    r = CliRunner().invoke(
        main, ["--db", str(db), "channels", "add", "good_name", "--backfill", "soon"]
    )
    assert r.exit_code == 2 and "--backfill" in r.output
    r = CliRunner().invoke(main, ["--db", str(db), "channels", "remove", "@nobody_here"])
    assert r.exit_code == 2 and "not on the watch list" in r.output


def test_status_shows_heartbeat_and_channel_states(tmp_path: Path) -> None:
    """`status` and `status --json` show the run and each channel's state,
    flood wait, backfill and errors; an old heartbeat counts as not running."""
    db = tmp_path / "a.db"
    migrate(db)
    _cli("channels", "add", "@rafidain_watch", db=db)
    _cli("channels", "add", "@quiet_chan", db=db)
    conn = connect(db, readonly=False)
    now = datetime.now(UTC)
    apply_heartbeat(
        conn,
        DaemonHeartbeat(
            123, "0.1.0", now, now, (("posts", 5), ("errors/username:rafidain_watch", 2))
        ),
    )
    apply_channel_status(
        conn,
        ChannelStatusChanged(
            "username:rafidain_watch",
            1500000001,
            "flood_wait",
            "messages.GetHistory parked",
            now,
            now,
        ),
    )
    conn.close()
    code, out = _cli("status", db=db)
    assert code == 0 and "daemon: running, pid 123" in out
    assert "@rafidain_watch" in out and "flood" in out and "pending" in out
    code, out = _cli("status", "--json", db=db)
    data = json.loads(out)
    assert data["daemon"]["running"] is True and data["daemon"]["counters"]["posts"] == 5
    by_key = {c["key"]: c for c in data["channels"]}
    assert by_key["username:rafidain_watch"]["state"] == "flood_wait"
    assert by_key["username:rafidain_watch"]["errors"] == 2
    assert by_key["username:quiet_chan"]["state"] == "pending"
    ro = connect(db, readonly=True)
    later = datetime.fromtimestamp(now.timestamp() + 120, UTC)
    run = daemon_status(ro, later)
    assert run is not None and run.is_stale
    assert len(channel_statuses(ro)) == 2
    ro.close()


def test_login_against_the_emulator_writes_a_private_session(daemon_world: DaemonWorld) -> None:
    """`telewatch login` with phone and code signs in a fresh device, prints
    who is logged in and leaves the session readable by the owner only."""
    w = daemon_world
    w.write_config([])
    w.session.unlink()
    w.emu.write_session(w.session, authorized=False)
    r = subprocess.run(
        [
            TELEWATCH,
            "--config",
            str(w.config),
            "login",
            "--phone",
            "+15550000000",
            "--code",
            "12345",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "logged in as" in r.stdout
    assert stat.S_IMODE(os.stat(w.session).st_mode) == 0o600
    assert "0123456789abcdef" not in r.stdout + r.stderr


def test_run_refuses_a_logged_out_session_and_a_second_daemon(daemon_world: DaemonWorld) -> None:
    """`run` on a second process using the same session fails in one line;
    after SIGTERM the first exits 0 and `status` says it stopped."""
    w = daemon_world
    w.emu.call(lambda emu: emu.add_channel(1500000901, "cli_chan", "CLI"))
    w.write_config([{"username": "cli_chan"}])
    p = w.start()
    w.wait_running(p)
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "run"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "in use by another telewatch process" in r.stderr
    t0 = time.monotonic()
    assert w.stop(p) == 0 and time.monotonic() - t0 < 5
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "status"], capture_output=True, text=True, timeout=60
    )
    assert "daemon: stopped" in r.stdout
    log = w.log_tail(100_000)
    assert "0123456789abcdef" not in log
    assert all(line.startswith("{") for line in log.splitlines() if line.strip())


def test_login_with_two_factor_password_and_wrong_code(tmp_path: Path) -> None:
    """An account with 2FA needs --password; a wrong code is one clear line."""
    with EmulatorThread(rate=RateModel(scale=0.01), password="hunter2") as et:
        session = tmp_path / "tw.session"
        et.write_session(session, authorized=False)
        cfg = tmp_path / "telewatch.toml"
        cfg.write_text(
            f'[telegram]\napi_id = 1\napi_hash = "0123456789abcdef0123456789abcdef"\nsession = "{session}"\n'
            f'[storage]\ndb = "{tmp_path / "tw.db"}"\n'
        )
        base = [TELEWATCH, "--config", str(cfg), "login", "--phone", "+15550000000"]
        bad = subprocess.run([*base, "--code", "99999"], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "login code is wrong" in bad.stderr
        good = subprocess.run(
            [*base, "--code", "12345", "--password", "hunter2"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert good.returncode == 0, good.stderr
        assert "logged in as" in good.stdout and "hunter2" not in good.stdout


def test_run_and_login_without_a_config_name_the_files_looked_for(tmp_path: Path) -> None:
    """With no config anywhere, `run` and `login` say which files were looked for and
    what to copy; exit 2, nothing asked."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEWATCH_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    for cmd in ("run", "login"):
        r = subprocess.run(
            [TELEWATCH, cmd],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1, r.stderr
        assert f"looked for ./telewatch.toml (in {tmp_path}) and " in r.stderr, r.stderr
        assert str(home / ".config" / "telewatch" / "telewatch.toml") in r.stderr
        assert "config/telewatch.example.toml" in r.stderr


def test_login_on_a_logged_in_session_says_so_without_asking(daemon_world: DaemonWorld) -> None:
    """`login` with an authorized session asks for no phone number and says who is logged in."""
    w = daemon_world
    w.write_config([])
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "login"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("already logged in as ") and "Phone" not in r.stdout, r.stdout
    assert str(w.session) in r.stdout


def test_login_and_run_on_an_emulator_session_without_the_emulator_say_so(
    tmp_path: Path,
) -> None:
    """The session points at a local emulator that is not running: `login` and `run` say
    so, and how to go on, instead of a bare connection error."""
    with EmulatorThread(rate=RateModel(scale=0.01)) as et:
        et.write_session(tmp_path / "tw.session")
    cfg = tmp_path / "telewatch.toml"
    cfg.write_text(
        '[telegram]\napi_id = 1\napi_hash = "0123456789abcdef0123456789abcdef"\n'
        f'session = "{tmp_path / "tw.session"}"\n[storage]\ndb = "{tmp_path / "tw.db"}"\n'
    )
    for cmd in ("login", "run"):
        r = subprocess.run(
            [TELEWATCH, "--config", str(cfg), cmd],
            capture_output=True,
            text=True,
            timeout=90,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 2, (cmd, r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        assert "belongs to a local emulator at 127.0.0.1:" in last, r.stderr
        assert "telewatch emulator serve" in last and "telegram.session" in last
