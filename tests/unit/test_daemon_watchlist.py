"""The watch list in the archive: add/remove/find and merging the config."""

from __future__ import annotations

from pathlib import Path

from telewatch.store import watchlist
from telewatch.store.db import connect, migrate


def test_config_merge_adds_updates_and_retires_config_entries(tmp_path: Path) -> None:
    """Merging inserts new config channels, updates their mode, keeps CLI
    entries and CLI removals, and retires entries gone from the file."""
    db = tmp_path / "a.db"
    migrate(db)
    conn = connect(db, readonly=False)
    try:
        watchlist.add(conn, "cli_chan", None, "poll", "100", "cli")
        watchlist.merge_config(
            conn, [("cfg_one", None, "join", "all"), (None, 1500000007, "join", "all")]
        )
        watchlist.remove(conn, "id:1500000007")
        watchlist.merge_config(
            conn, [("cfg_one", None, "poll", "2023-01-01"), (None, 1500000007, "join", "all")]
        )
        active = {e.key: e for e in watchlist.active_entries(conn)}
        assert set(active) == {"username:cli_chan", "username:cfg_one"}
        assert (active["username:cfg_one"].mode, active["username:cfg_one"].backfill) == (
            "poll",
            "2023-01-01",
        )
        watchlist.merge_config(conn, [])
        assert [e.key for e in watchlist.active_entries(conn)] == ["username:cli_chan"]
        back = watchlist.add(conn, "CFG_one", None)
        assert back.key == "username:cfg_one" and back.removed_at is None
    finally:
        conn.close()


def test_find_matches_a_channel_by_its_other_reference(tmp_path: Path) -> None:
    """A channel added by username is found by its id once the archive knows it."""
    db = tmp_path / "a.db"
    migrate(db)
    conn = connect(db, readonly=False)
    try:
        watchlist.add(conn, "by_name", None)
        conn.execute(
            "INSERT INTO channels(id, username, first_seen, last_seen) VALUES (1500000042, 'by_name', 'x', 'x')"
        )
        hit = watchlist.find(conn, None, 1500000042)
        assert hit is not None and hit.key == "username:by_name"
        assert watchlist.find(conn, "nobody_here", None) is None
    finally:
        conn.close()
