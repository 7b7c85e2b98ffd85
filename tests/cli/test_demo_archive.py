"""One run of the bundled demo shows what it is for: its summary (channels, posts,
versions, deletions, alerts), a poll whose votes change, a pin and a title change
(issue 14), and media arriving (issue 12): the photos and the video are stored
content-addressed (the blast photo re-posted in another channel once), the dashboard's
feed marks those posts and the post screen lists their files."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

from telewatch.dashboard.app import make_app
from telewatch.dashboard.screens import PostScreen
from telewatch.store import media
from tests.cli.test_dash import TELEWATCH
from tests.dashboard.helpers import until


def _screen_text(app: object) -> str:
    return "".join(
        s.text
        for strip in app.screen._compositor.render_strips()  # type: ignore[attr-defined]
        for s in strip
    )


async def test_demo_archives_polls_pins_title_changes_and_media(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(TELEWATCH), "demo", "--headless", "--duration", "55", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    # The summary it prints: channels, posts, versions, deletions and alerts (the edit
    # and the deletion of the opening script are archived).
    lines = dict(line.split(None, 1) for line in proc.stdout.splitlines()[1:])
    assert lines["channels"].startswith("4 ")
    assert int(lines["posts"]) >= 25
    assert int(lines["versions"].split()[0]) > int(lines["posts"])
    assert int(lines["deletions"]) >= 1
    assert "explosion" in lines["alerts"] and int(lines["alerts"].split()[0]) > 0
    conn = sqlite3.connect(f"file:{tmp_path / 'demo.db'}?mode=ro", uri=True)
    try:
        polls = conn.execute("SELECT channel_id, message_id, question FROM polls").fetchall()
        assert len(polls) == 1 and polls[0][2] == "Какой мост откроют первым?"
        cid, mid, _ = polls[0]
        samples = conn.execute(
            "SELECT voters FROM poll_samples WHERE channel_id = ? AND message_id = ?"
            " ORDER BY sampled_at",
            (cid, mid),
        ).fetchall()
        # the two pushed vote changes made samples; the newest are the final counts
        assert len(samples) >= 2 and samples[-1][0] == '[["00",41],["01",17],["02",9]]'
        assert conn.execute(
            "SELECT pinned FROM pin_events WHERE channel_id = ? AND message_id = ?", (cid, mid)
        ).fetchall() == [(1,)]
        assert conn.execute(
            "SELECT old_value, new_value FROM channel_changes WHERE field = 'title'"
        ).fetchall() == [("Harbour Monitor", "Harbour Monitor (Gulf)")]
        assert conn.execute("SELECT count(*) FROM channel_actions").fetchone()[0] >= 2
    finally:
        conn.close()
    out = subprocess.run(
        [str(TELEWATCH), "--db", str(tmp_path / "demo.db"), "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr

    # Media arrived: every stored file has the bytes its name says, the demo's
    # blast photo (posted in two channels) is one file, the video is there.
    db = tmp_path / "demo.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        stored = conn.execute(
            "SELECT r.channel_id, r.message_id, r.kind, r.role, f.sha256, f.path"
            " FROM media_refs r JOIN media_files f ON f.sha256 = r.sha256"
            " WHERE r.state = 'stored'"
        ).fetchall()
        files = conn.execute("SELECT count(*) FROM media_files").fetchone()[0]
    finally:
        conn.close()
    root = media.default_root(db)
    for *_, sha, rel in stored:
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == sha
    kinds = {(kind, role) for _, _, kind, role, _, _ in stored}
    assert ("photo", "file") in kinds and ("video", "file") in kinds, kinds
    assert files < len(stored)  # a file shared by several references is stored once
    photo = next((c, m) for c, m, kind, role, _, _ in stored if (kind, role) == ("photo", "file"))

    # The dashboard marks media posts in the feed and lists the files on the post screen.
    app = make_app(db, live=False, title="demo")
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        assert "[photo]" in _screen_text(app) and "[video]" in _screen_text(app)
        screen = PostScreen(*photo)
        await app.push_screen(screen)
        await until(pilot, lambda: screen.post is not None)
        await pilot.pause()
        sha = next(s for c, m, _, role, s, _ in stored if (c, m) == photo and role == "file")
        assert f"v1 photo: {sha[:16]}…" in _screen_text(app)
