"""The daemon's media archive against the emulator (daemon/media.py): every
file the policy wants is stored with the SHA-256 the emulator's truth gives,
through drops, FloodWaits on upload.getFile, expired file references, a post
deleted before its media was fetched, kill -9 mid-download and a restart;
nothing partial counts as stored; lost media carries its reason; the same
bytes in two channels are stored once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from telewatch.emulator import Emulator
from telewatch.store import media as store
from telewatch.store import phash
from telewatch.store.chain import verify
from telewatch.store.db import connect
from telewatch.xref.provenance import trace
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

A, B = 1500000801, 1500000802
MB = 1_000_000


def _truth_files(w: DaemonWorld) -> dict[tuple[int, int], dict[str, Any]]:
    """(channel, message) → {"deleted": bool, "files": {role: file}} from the truth."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for ch in w.emu.truth()["channels"]:
        for m in ch["messages"]:
            if m.get("files"):
                files = {f["role"]: f for f in m["files"] if f["role"] in ("file", "thumb")}
                out[(ch["id"], m["id"])] = {"deleted": m["deleted"], "files": files}
    return out


def _refs(w: DaemonWorld) -> dict[tuple[int, int, str], tuple[Any, ...]]:
    rows = w.query(
        "SELECT channel_id, message_id, role, state, sha256, size, reason, resume_offset"
        " FROM media_refs ORDER BY version_no"
    )  # the newest version's reference wins
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def _setup(emu: Emulator, video: int = 3 * MB) -> None:
    emu.add_channel(A, "media_a", "Media A")
    emu.add_channel(B, "media_b", "Media B")
    for i in range(5):
        emu.post(A, f"photo {i}", media={"type": "photo", "seed": 100 + i}, push=False)
    for i in range(3):
        emu.post(A, f"video {i}", media={"type": "video", "size": video + i * 4099, "seed": 7 + i},
                 push=False)  # fmt: skip
    # B re-posts A's first photo (same bytes, another Telegram file) and has
    # a video over the size cap (its thumbnail is still kept).
    emu.post(B, "same picture, no forward header", media={"type": "photo", "seed": 100}, push=False)
    emu.post(B, "long video", media={"type": "video", "size": 25 * MB, "seed": 99}, push=False)


def _config(w: DaemonWorld, **budget: Any) -> None:
    w.write_config(
        [{"username": "media_a"}, {"username": "media_b"}],
        budgets={"upload.GetFile": [budget.get("getfile", 4), 31.0]},
        media={
            "max_file_size": "20 MB",
            "concurrency": 2,
            "backoff": 0.5,
            "backoff_max": 2.0,
            "max_attempts": 50,
        },
    )


def _wanted_stored(w: DaemonWorld, truth: dict[tuple[int, int], dict[str, Any]]) -> list[str]:
    """What the policy wants but the archive does not (yet) have right."""
    refs = _refs(w)
    problems = []
    for (cid, mid), t in truth.items():
        for role, f in t["files"].items():
            ref = refs.get((cid, mid, role))
            over_cap = role == "file" and f["size"] > 20 * MB
            if ref is None:
                problems.append(f"{cid}/{mid} {role}: no reference")
            elif over_cap:
                if ref[0] != "skipped":
                    problems.append(f"{cid}/{mid} {role}: {ref[0]}, not skipped over the cap")
            elif t["deleted"] and ref[0] == "lost":
                continue
            elif ref[0] != "stored" or ref[1] != f["sha256"] or ref[2] != f["size"]:
                problems.append(f"{cid}/{mid} {role}: {ref[:3]} != {f['sha256'][:12]}")
    # Every stored picture (photo, thumbnail) also has its perceptual hash.
    for (sha,) in w.query(
        "SELECT DISTINCT r.sha256 FROM media_refs r LEFT JOIN media_phash h USING (sha256)"
        " WHERE r.state = 'stored' AND (r.kind = 'photo' OR r.role = 'thumb')"
        " AND h.sha256 IS NULL"
    ):
        problems.append(f"{sha[:12]}: stored picture without a perceptual hash")
    return problems


def _settle(w: DaemonWorld, truth: dict[tuple[int, int], dict[str, Any]], timeout: float) -> None:
    end = time.monotonic() + timeout
    problems = _wanted_stored(w, truth)
    while problems and time.monotonic() < end:
        time.sleep(0.5)
        problems = _wanted_stored(w, truth)
    assert problems == [], f"{problems}\n{w.log_tail()}"


def test_daemon_stores_what_the_policy_wants(daemon_world: DaemonWorld) -> None:
    """Text first, then every photo, video and thumbnail the policy wants,
    with the truth's SHA-256; the video over the cap keeps its thumbnail;
    the picture posted in two channels is one file."""
    w = daemon_world
    w.emu.call(_setup)
    _config(w, getfile=50)
    p = w.start()
    w.wait_running(p)
    truth = _truth_files(w)
    _settle(w, truth, 90)
    # An edit that changes the photo: version 2 gets its own file, version 1 keeps its.
    w.emu.call(
        lambda emu: emu.edit(A, 2, "photo 1, replaced", media={"type": "photo", "seed": 555})
    )
    new = _truth_files(w)[(A, 2)]["files"]["file"]["sha256"]
    w.wait_for(
        lambda: bool(w.query("SELECT 1 FROM media_refs WHERE channel_id=? AND message_id=2"
                             " AND version_no=2 AND role='file' AND sha256=?", A, new)),
        60, "version 2's photo",
    )  # fmt: skip
    versions = w.query(
        "SELECT version_no, sha256 FROM media_refs WHERE channel_id=? AND message_id=2"
        " AND role='file' ORDER BY version_no",
        A,
    )
    assert versions == [(1, truth[(A, 2)]["files"]["file"]["sha256"]), (2, new)]
    assert w.stop(p) == 0
    _check_archive(w, _truth_files(w))
    # B's post of A's photo (no forward header, other words) is in A's trace by its media.
    conn = connect(w.db)
    try:
        spread = {(s.post.channel_id, s.post.message_id): s for s in trace(conn, A, 1).spread}
    finally:
        conn.close()
    assert spread[(B, 1)].kind == "same-media" and spread[(B, 1)].media is not None


def _check_archive(w: DaemonWorld, truth: dict[tuple[int, int], dict[str, Any]]) -> None:
    refs = _refs(w)
    stored = {r[0] for r in w.query("SELECT sha256 FROM media_refs WHERE state='stored'")}
    files = w.query("SELECT sha256, path FROM media_files")
    assert {f[0] for f in files} == stored  # each distinct content once
    dup = truth[(A, 1)]["files"]["file"]["sha256"]
    assert truth[(B, 1)]["files"]["file"]["sha256"] == dup
    assert refs[(A, 1, "file")][1] == refs[(B, 1, "file")][1] == dup
    root = w.db.parent / "media"
    for sha, path in files:
        assert (root / path).is_file()
        assert store.hash_file(root / path)[0] == sha
    for sha, hexhash in w.query("SELECT sha256, phash FROM media_phash"):
        path = next(root / p for s, p in files if s == sha)
        assert phash.compute(path) == phash.from_hex(hexhash)
    # nothing partial is left or counted
    assert list((root / store.PARTIAL_DIR).glob("*.part")) == []
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "verify", "--media"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "media:" in r.stdout
    conn = sqlite3.connect(w.db)
    try:
        res = verify(conn)
    finally:
        conn.close()
    assert res.ok and res.media >= len(stored), res.problem


def test_chaos_drops_floods_expired_references_deletion_kill_restart(
    daemon_world: DaemonWorld,
) -> None:
    """The must-show run: downloads slowed by a small GetFile budget and
    FloodWaits, connections dropped, every file reference expired, the
    daemon killed with SIGKILL mid-download, a post deleted while it is
    down; after a restart every wanted file is stored with the truth's
    hash, the deleted post's video is lost "deleted before download"."""
    w = daemon_world
    w.emu.call(lambda emu: _setup(emu, video=12 * MB))
    _config(w, getfile=2)
    p = w.start()
    w.wait_running(p)
    # Mid-download: some video has a recorded resume offset (a partial file).
    w.wait_for(
        lambda: bool(w.query("SELECT 1 FROM media_refs WHERE resume_offset > 0")),
        90,
        "a download in progress",
    )
    w.emu.call(lambda emu: emu.inject_flood("upload.GetFile", 1, 2))
    w.emu.call(lambda emu: emu.disconnect_all())
    time.sleep(0.5)
    w.emu.call(lambda emu: emu.expire_file_references())
    time.sleep(0.5)
    assert w.stop(p, signal.SIGKILL) == -signal.SIGKILL
    partial = w.query(
        "SELECT channel_id, message_id, resume_offset FROM media_refs"
        " WHERE state='queued' AND role='file' AND resume_offset > 0"
    )
    # A post whose video was not fetched yet is deleted while the daemon is down.
    waiting = w.query(
        "SELECT message_id FROM media_refs WHERE channel_id=? AND role='file'"
        " AND state='queued' AND kind='video' ORDER BY resume_offset, message_id",
        A,
    )
    assert waiting, "every video was already stored: the run was too fast to test"
    gone = waiting[0][0]
    w.emu.call(lambda emu: emu.delete(A, [gone]))
    w.emu.call(lambda emu: emu.expire_file_references())
    w.emu.call(lambda emu: emu.inject_flood("upload.GetFile", 1, 1))
    served = w.emu.call(lambda emu: emu.methods.files.served_bytes)
    p = w.start()
    w.wait_running(p)
    truth = _truth_files(w)
    assert truth[(A, gone)]["deleted"]
    # Mid-download again: every reference expires and the connection drops.
    w.wait_for(
        lambda: w.emu.call(lambda emu: emu.methods.files.served_bytes) > served + 2 * MB,
        90,
        "downloads after the restart",
    )
    w.emu.call(lambda emu: emu.expire_file_references())
    w.emu.call(lambda emu: emu.disconnect_all())
    _settle(w, truth, 120)
    counters = json.loads(w.query("SELECT counters FROM daemon_runs WHERE pid=?", p.pid)[0][0])
    assert counters.get("media_reference_refreshes", 0) >= 1, counters
    refs = _refs(w)
    assert refs[(A, gone, "file")][0] == "lost"
    assert refs[(A, gone, "file")][3] == "deleted before download"
    stats = w.emu.call(lambda emu: emu.stats)
    assert stats["flood_waits"] >= 1
    assert w.stop(p) == 0
    _check_archive(w, truth)
    # A partial download survived the kill and was resumed, not restarted:
    # the emulator served less than twice the bytes of every file.
    assert partial, "the kill did not land mid-download"
    total = w.emu.call(lambda emu: emu.methods.files.served_bytes)
    wanted = sum(
        f["size"]
        for t in truth.values()
        for role, f in t["files"].items()
        if not (role == "file" and f["size"] > 20 * MB)
    )
    assert total < 2 * wanted


def test_media_status_and_fetch_commands(daemon_world: DaemonWorld, tmp_path: Path) -> None:
    """``telewatch media status`` after a run; ``media fetch`` downloads a
    skipped file now, ignoring the policy; ``media verify`` re-hashes."""
    w = daemon_world
    w.emu.call(_setup)
    _config(w, getfile=50)
    p = w.start()
    w.wait_running(p)
    truth = _truth_files(w)
    _settle(w, truth, 90)
    assert w.stop(p) == 0
    run = lambda *a: subprocess.run(  # noqa: E731
        [TELEWATCH, "--config", str(w.config), "media", *a],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    st = run("status")
    assert st.returncode == 0, st.stderr
    assert "skipped" in st.stdout and "stored" in st.stdout
    f = run("fetch", "media_b/2")
    assert f.returncode == 0, f.stdout + f.stderr
    ref = _refs(w)[(B, 2, "file")]
    assert ref[0] == "stored" and ref[1] == truth[(B, 2)]["files"]["file"]["sha256"]
    v = run("verify")
    assert v.returncode == 0, v.stdout + v.stderr
