"""Channel profile photos archived as files (issue 14): with media archiving
on, every photo the channel has while the daemon runs, and the one it got
while the daemon was stopped, is downloaded over upload.getFile
(InputPeerPhotoFileLocation) into the content-addressed store with the
emulator's truth's SHA-256, chained, shown by ``channels show``; ``verify``
and ``verify --media`` pass, and a replaced file or a changed row is
detected."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telewatch.daemon import photo_files
from telewatch.store import chain
from telewatch.store import media as media_store
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

CH = 1500004471
OLD = datetime(2024, 6, 1, tzinfo=UTC)


def _world(emu: Any) -> None:
    emu.add_channel(CH, "photo_watch", "Photo Watch", subscribers=300)
    for k in range(3):
        emu.post(CH, f"history post {k}", date=OLD + timedelta(hours=k), push=False)
    emu.set_photo(CH, 11, push=False)
    emu.join(CH)


def _current(w: DaemonWorld) -> tuple[int, dict[str, Any]]:
    """(photo id, {"sha256", "size"} of its big size) from the truth."""
    t = next(c for c in w.emu.truth()["channels"] if c["id"] == CH)
    return int(t["photo"]), t["photo_files"]["big"]


def _stored(w: DaemonWorld) -> dict[int, tuple[str, int, str]]:
    return {
        int(r[0]): (str(r[1]), int(r[2]), str(r[3]))
        for r in w.query(
            "SELECT photo_id, sha256, size, path FROM channel_photo_files WHERE channel_id = ?", CH
        )
    }


def _wait_stored(w: DaemonWorld, photo_id: int, want: dict[str, Any], timeout: float) -> None:
    def ok() -> bool:
        got = _stored(w).get(photo_id)
        return got is not None and got[:2] == (want["sha256"], want["size"])

    w.wait_for(ok, timeout, f"photo {photo_id} stored as {want['sha256'][:12]}: {_stored(w)}")


def _cli(w: DaemonWorld, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TELEWATCH, "--config", str(w.config), *args], capture_output=True, text=True, timeout=90
    )


def _verify(db: Path) -> chain.VerifyResult:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return chain.verify(conn)
    finally:
        conn.close()


def test_channel_photos_are_stored_live_and_after_a_restart(daemon_world: DaemonWorld) -> None:
    w = daemon_world
    w.emu.call(_world)
    w.write_config([{"username": "photo_watch"}], media={"backoff": 0.5, "backoff_max": 2.0})
    first_id, first = _current(w)

    p = w.start()
    w.wait_running(p)
    _wait_stored(w, first_id, first, 90)

    # A change while the daemon runs (updateChannel pushed).
    w.emu.call(lambda emu: emu.set_photo(CH, 12))
    live_id, live = _current(w)
    assert live_id != first_id and live["sha256"] != first["sha256"]
    _wait_stored(w, live_id, live, 90)
    assert w.stop(p) == 0

    # A change while it is stopped: seen at the next start, downloaded then.
    w.emu.call(lambda emu: emu.set_photo(CH, 13, push=False))
    offline_id, offline = _current(w)
    assert offline_id not in _stored(w)
    p = w.start()
    w.wait_running(p)
    _wait_stored(w, offline_id, offline, 90)
    assert w.stop(p) == 0

    stored = _stored(w)
    assert set(stored) == {first_id, live_id, offline_id}
    root = media_store.default_root(w.db)
    for sha, size, rel in stored.values():
        data = (root / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha and len(data) == size
        assert data[:2] == b"\xff\xd8"  # a JPEG
        assert rel == media_store.rel_path(sha, "image/jpeg")

    res = _verify(w.db)
    assert res.ok, res.problem
    out = _cli(w, "verify", "--media")
    assert out.returncode == 0, out.stdout + out.stderr

    shown = _cli(w, "channels", "show", "@photo_watch")
    assert shown.returncode == 0, shown.stderr
    for sha, size, rel in stored.values():
        assert sha in shown.stdout and str(root / rel) in shown.stdout, shown.stdout
        assert f"{size} bytes" in shown.stdout
    doc = json.loads(_cli(w, "channels", "show", "@photo_watch", "--json").stdout)
    assert {(f["photo_id"], f["sha256"], f["size"]) for f in doc["photo_files"]} == {
        (pid, sha, size) for pid, (sha, size, _) in stored.items()
    }

    # A replaced file is detected by verify --media (the chain alone still holds).
    sha, _size, rel = stored[live_id]
    path = root / rel
    original = path.read_bytes()
    path.write_bytes(original[:-10] + b"0123456789")
    try:
        bad = _cli(w, "verify", "--media")
        assert bad.returncode != 0
        assert sha in bad.stdout + bad.stderr, bad.stdout + bad.stderr
    finally:
        path.write_bytes(original)
    assert _cli(w, "verify", "--media").returncode == 0

    # A row changed outside telewatch is detected by verify.
    conn = sqlite3.connect(w.db)
    try:
        conn.execute(
            "UPDATE channel_photo_files SET sha256 = ? WHERE photo_id = ?",
            (first["sha256"], live_id),
        )
        conn.commit()
        problem = _verify(w.db).problem
        conn.execute("UPDATE channel_photo_files SET sha256 = ? WHERE photo_id = ?", (sha, live_id))
        conn.commit()
    finally:
        conn.close()
    assert problem is not None and "channel_photo_files" in problem, problem
    assert _verify(w.db).ok


def test_no_photo_files_when_media_is_off(daemon_world: DaemonWorld) -> None:
    w = daemon_world
    w.emu.call(_world)
    w.write_config([{"username": "photo_watch"}], media={"enabled": False})
    p = w.start()
    w.wait_running(p)
    w.wait_for(
        lambda: bool(w.query("SELECT 1 FROM channel_photos WHERE channel_id = ?", CH)),
        60,
        "the photo row",
    )
    w.wait_for(lambda: w.query("SELECT state FROM channel_status") == [("live",)], 60, "live")
    time.sleep(3 * photo_files.SCAN_INTERVAL)  # the photo loop has scanned, more than once
    assert w.stop(p) == 0
    assert w.query("SELECT count(*) FROM channel_photo_files") == [(0,)]
    assert _verify(w.db).ok
