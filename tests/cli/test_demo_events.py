"""The bundled demo shows a poll whose votes change, a pin and a title change (issue 14)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.cli.test_dash import TELEWATCH


def test_demo_archives_a_poll_a_pin_and_a_title_change(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(TELEWATCH), "demo", "--headless", "--duration", "55", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
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
