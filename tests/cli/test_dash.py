"""The dashboard area's commands: `alerts`, `watch-post`, `dash` errors and the headless
`demo` (real archive, real emulator and daemon)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.cli.dash import parse_post_ref
from telewatch.models import UserError

TELEWATCH = Path(sys.executable).parent / "telewatch"

CONFIG = """
[storage]
db = "{db}"

[[alerts]]
name = "explosion"
keywords = ["انفجار", "взрыв", "explosion"]

[[alerts]]
name = "port"
regex = "\\\\bport\\\\b|ميناء"

[[alerts]]
name = "quiet-rule"
keywords = ["nothing matches this"]
on = ["delete"]
"""


def _config(tmp_path: Path, db: Path) -> Path:
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG.format(db=db), encoding="utf-8")
    return path


def test_alerts_json_lists_rules_with_counters(tmp_path: Path, dash_archive: Path) -> None:
    """`alerts --json` lists every configured rule (even without hits) with counts by kind,
    the built-in watched-post rule, and the latest hits with t.me links."""
    cfg = _config(tmp_path, dash_archive)
    result = CliRunner().invoke(main, ["--config", str(cfg), "alerts", "--json", "--hits", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rules = {r["name"]: r for r in data["rules"]}
    assert rules["port"]["hits"] == {"total": 7, "new": 5, "edit": 1, "delete": 1}
    assert rules["quiet-rule"]["hits"]["total"] == 0 and rules["quiet-rule"]["on"] == ["delete"]
    assert rules["watched-post"]["configured"] is False
    assert data["hits"][0]["url"] == "https://t.me/harbour_monitor/403"
    assert len(data["hits"]) == 2


def test_alerts_table_and_unknown_rule(tmp_path: Path, dash_archive: Path) -> None:
    """The table names each rule's terms; an unknown --rule is a one-line error, exit 2."""
    cfg = _config(tmp_path, dash_archive)
    ok = CliRunner().invoke(main, ["--config", str(cfg), "alerts"])
    assert ok.exit_code == 0
    assert "explosion" in ok.output and "/\\bport\\b|ميناء/" in ok.output
    bad = CliRunner().invoke(main, ["--config", str(cfg), "alerts", "--rule", "nope"])
    assert bad.exit_code == 2 and bad.output.startswith("error: no alert rule named 'nope'")


def test_watch_post_marks_lists_and_removes(dash_archive: Path) -> None:
    """watch-post accepts a t.me link, lists it, refuses an unknown post, removes it."""
    db = ["--db", str(dash_archive)]
    r = CliRunner().invoke(main, [*db, "watch-post", "https://t.me/harbour_monitor/402"])
    assert r.exit_code == 0 and "watching https://t.me/harbour_monitor/402" in r.output
    listed = CliRunner().invoke(main, [*db, "watch-post", "--list"])
    assert "https://t.me/harbour_monitor/402" in listed.output
    assert "https://t.me/rafidain_watch/103" in listed.output
    missing = CliRunner().invoke(main, [*db, "watch-post", "@harbour_monitor/999"])
    assert missing.exit_code == 2 and "is not in the archive" in missing.output
    gone = CliRunner().invoke(main, [*db, "watch-post", "--remove", "harbour_monitor/402"])
    assert gone.exit_code == 0 and "no longer watching" in gone.output


def test_post_refs() -> None:
    """CHANNEL/ID forms: @name/12, t.me links (public and /c/), id/12; others are errors."""
    assert parse_post_ref("@Name_1/12") == ("Name_1", None, 12)
    assert parse_post_ref("https://t.me/some_name/7?single") == ("some_name", None, 7)
    assert parse_post_ref("t.me/c/1500000001/3") == (None, 1500000001, 3)
    assert parse_post_ref("1500000001/3") == (None, 1500000001, 3)
    for bad in ("some_name", "https://example.com/x/3"):
        try:
            parse_post_ref(bad)
        except UserError as err:
            assert bad in str(err)
        else:
            raise AssertionError(f"{bad!r} accepted")


def test_dash_without_archive_is_a_clear_error(tmp_path: Path) -> None:
    """`dash` on a missing archive says so in one line and exits 2 (installed entry point)."""
    proc = subprocess.run(
        [str(TELEWATCH), "--db", str(tmp_path / "none.db"), "dash"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: archive") and "does not exist" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_demo_stops_its_daemon_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM to `telewatch demo` stops it like `q`: summary, status 0, and the daemon it
    started is gone (no orphan left running)."""
    proc = subprocess.Popen(
        [str(TELEWATCH), "demo", "--headless", "--duration", "120", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    db = tmp_path / "demo.db"
    pid = None
    try:
        deadline = time.monotonic() + 60
        while pid is None and time.monotonic() < deadline:
            time.sleep(0.5)
            if db.exists():
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    row = conn.execute("SELECT pid FROM daemon_runs LIMIT 1").fetchone()
                except sqlite3.OperationalError:
                    row = None  # the file is there, its tables not yet
                finally:
                    conn.close()
                pid = row[0] if row else None
        assert pid is not None, "the demo daemon never wrote a heartbeat"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failure above: leave no demo running
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("telewatch demo:") and "channels   4" in out
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"the demo daemon (pid {pid}) was left running")


def test_show_names_the_archived_origin_of_a_forward_and_says_utc(dash_archive: Path) -> None:
    """`show` of a forward names its archived origin (title, @username, id) and links the
    original post; every time it prints says UTC."""
    r = CliRunner().invoke(main, ["--db", str(dash_archive), "show", "harbour_monitor/404"])
    assert r.exit_code == 0, r.output
    assert "forwarded  from مرصد الرافدين (@rafidain_watch, id 1500000101) post 103" in r.output
    assert "original   https://t.me/rafidain_watch/103" in r.output
    assert "published  2026-11-25 11:20:00 UTC" in r.output
    assert "forwarded from 1500000101" not in r.output
