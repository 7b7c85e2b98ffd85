"""`channels show`, the poll and pin part of `show`, export's poll fields and the
dashboard's post detail, on an archive written through the writer (issue 14)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from telewatch.cli import main
from telewatch.dashboard.screens import render_history
from telewatch.models import (
    Channel,
    ChannelActionSeen,
    ChannelPhoto,
    ChannelSeen,
    Event,
    Media,
    PinChanged,
    Poll,
    PollAnswer,
    PollResults,
    PollResultsSeen,
    Post,
    PostSeen,
)
from telewatch.store.db import connect, migrate
from telewatch.store.feed import post_history
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0

CID = 1500000088
HOSTILE = "Which\x1b[31m bridge\u202e?"


def _events() -> list[Event]:
    poll = Poll(
        9001,
        HOSTILE,
        (PollAnswer("00", "North"), PollAnswer("01", "South")),
        results=PollResults(False, 3, (("00", 1), ("01", 2))),
    )
    at = T0 + timedelta(minutes=1)
    return [
        ChannelSeen(Channel(CID, "Bridges", "bridges", "first", photo=ChannelPhoto(None)), T0),
        PostSeen(Post(CID, 1, T0, "poll post", media=Media("poll"), poll=poll, pinned=False), T0),
        PostSeen(Post(CID, 2, T0, "plain post", pinned=False), T0),
        PollResultsSeen(9001, PollResults(True, 7, (("00", 5), ("01", 2))), at),
        PinChanged(CID, (1,), True, at, "push", pts=10),
        ChannelActionSeen(CID, 3, at, "title", at, "Bridges Daily"),
        ChannelActionSeen(CID, 4, at, "title", at, HOSTILE),
        ChannelSeen(
            Channel(CID, "Bridges Daily", "bridges", "second", photo=ChannelPhoto(5, 2, "cd" * 32)),
            at,
        ),
    ]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    db = tmp_path / "a.db"
    migrate(db)
    conn = connect(db, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    stats = apply_events(conn, _events(), [])
    conn.execute("COMMIT")
    conn.close()
    assert stats.errors == 0, stats.reasons
    return db


def _run(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_channels_show_lists_the_history(archive: Path) -> None:
    code, out = _run(archive, "channels", "show", "@bridges")
    assert code == 0, out
    assert "\x1b" not in out and "\u202e" not in out
    assert "pinned     post 1" in out
    for needle in ("Bridges → Bridges Daily", "first → second", "photo 5", "service:title", "push"):
        assert needle in out, (needle, out)
    code, out = _run(archive, "channels", "show", "--json", str(CID))
    assert code == 0, out
    doc = json.loads(out)
    assert doc["pinned"] == [1] and doc["photo"] == {"photo_id": 5, "thumb_sha256": "cd" * 32}
    assert {h["what"] for h in doc["history"]} >= {
        "title",
        "about",
        "photo",
        "service:title",
        "pin",
    }
    code, out = _run(archive, "channels", "show", "@nobody_here")
    assert code == 2 and out.startswith("error: no channel")


def test_show_prints_the_poll_safely_and_json_has_samples(archive: Path) -> None:
    code, out = _run(archive, "show", "@bridges/1")
    assert code == 0, out
    assert "\x1b" not in out and "\u202e" not in out  # hostile text shown, never obeyed
    assert "PINNED" in out and "closed, 7 voters" in out
    assert "sample" in out and "1 / 2" in out and "5 / 2" in out
    code, out = _run(archive, "show", "--json", "@bridges/1")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["poll"]["question"] == HOSTILE
    assert [s["counts"] for s in doc["poll"]["samples"]] == [[1, 2], [5, 2]]
    assert [p["pinned"] for p in doc["pins"]] == [True]
    code, out = _run(archive, "show", "@bridges/2")
    assert code == 0 and "poll" not in out.split("── version")[0]


def test_export_has_poll_fields(archive: Path) -> None:
    code, out = _run(archive, "export")
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["poll_answers"] == ["North", "South"] and rows[0]["poll_counts"] == [5, 2]
    assert rows[0]["poll_closed"] is True and rows[0]["pinned"] is True
    assert rows[1]["poll_question"] is None and rows[1]["pinned"] is False
    code, out = _run(archive, "export", "--format", "csv")
    assert code == 0, out
    first = next(csv.DictReader(io.StringIO(out)))
    assert json.loads(first["poll_counts"]) == [5, 2] and first["poll_total_voters"] == "7"


def test_dashboard_post_detail_shows_poll_and_pin(archive: Path) -> None:
    conn = connect(archive)
    post = post_history(conn, CID, 1)
    conn.close()
    assert post is not None
    console = Console(width=100, record=True, color_system=None)
    console.print(render_history(post, 96))
    text = console.export_text()
    assert "PINNED" in text and "closed, 7 voters" in text and "North" in text
    assert "poll results over time" in text
    assert "\x1b[31m" not in text


def test_evidence_bundle_carries_the_poll_and_pin_records(archive: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b.zip"
    code, out = _run(archive, "evidence", "@bridges/1", "-o", str(bundle))
    assert code == 0, out
    zipfile.ZipFile(bundle).extractall(tmp_path / "x")
    base = tmp_path / "x" / "evidence"
    kinds = [
        json.loads(json.loads(line)["record"])[0]
        for line in (base / "chain" / "records.jsonl").read_text().splitlines()
    ]
    assert kinds.count("poll") == 1 and kinds.count("poll_sample") == 2 and "pin" in kinds
    ok = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=base, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
