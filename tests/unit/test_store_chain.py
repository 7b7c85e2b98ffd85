"""Tamper evidence: the hash chain over versions and deletions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from telewatch.models import PostDeleted
from telewatch.store.chain import GENESIS, content_hash, link, verify, version_record
from telewatch.store.db import connect
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0, post_seen


def _archive_with_history(path: Path) -> None:
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    apply_events(
        conn,
        [
            post_seen(1, 10, "first"),
            post_seen(1, 11, "second"),
            post_seen(1, 10, "first, edited", minutes=2),
            PostDeleted(1, 11, T0 + timedelta(hours=1), "event"),
        ],
        [],
    )
    conn.execute("COMMIT")
    conn.close()


def _tamper(path: Path, sql: str) -> None:
    raw = sqlite3.connect(path)
    raw.execute(sql)
    raw.commit()
    raw.close()


def test_clean_archive_verifies(archive: Path) -> None:
    """An untouched archive verifies, counting its versions and deletions."""
    _archive_with_history(archive)
    result = verify(connect(archive))
    assert result.ok and (result.records, result.versions, result.deletions) == (4, 3, 1)


def test_changed_text_is_named(archive: Path) -> None:
    """Editing a stored version's text behind telewatch's back names that record."""
    _archive_with_history(archive)
    _tamper(archive, "UPDATE post_versions SET text = 'forged' WHERE message_id = 11")
    result = verify(connect(archive))
    assert not result.ok and result.seq == 2
    assert "version 1 of post 1/11" in (result.problem or "")


def test_removed_record_breaks_the_chain(archive: Path) -> None:
    """Deleting a chain record is detected at the next record."""
    _archive_with_history(archive)
    _tamper(archive, "DELETE FROM chain WHERE seq = 2")
    result = verify(connect(archive))
    assert not result.ok and result.seq == 3 and "prev_hash" in (result.problem or "")


def test_row_outside_the_chain_is_named(archive: Path) -> None:
    """A version row inserted without a chain record is reported."""
    _archive_with_history(archive)
    _tamper(
        archive,
        "INSERT INTO post_versions(channel_id, message_id, version_no, text, content_hash,"
        " captured_at, source) VALUES (1, 12, 1, 'planted', 'x', '2022-01-01T00:00:00Z', 'live')",
    )
    result = verify(connect(archive))
    assert not result.ok and "post_versions row 4 is not in the chain" in (result.problem or "")


def test_canonical_encoding_is_reproducible() -> None:
    """The documented encoding reproduces a chain hash by hand."""
    ch = content_hash("hello", None, None)
    rec = version_record(1, 2, 1, ch, None, "2022-03-01T07:42:00Z", "live")
    assert rec == f"version\t1\t2\t1\t{ch}\t\t2022-03-01T07:42:00Z\tlive"
    assert link(GENESIS, rec) == link("0" * 64, rec) != link(GENESIS, rec + " ")


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(_ANY_TEXT, st.none() | _ANY_TEXT, st.none() | _ANY_TEXT)
def test_content_hash_is_the_documented_canonical_json(
    text: str, entities: str | None, media: str | None
) -> None:
    """content_hash = sha256 of json.dumps([text, entities, media], sort_keys,
    compact separators, ensure_ascii=False) for any strings, control
    characters, quotes, surrogates' neighbours and all (docs/SCHEMA.md)."""
    canonical = json.dumps(
        [text, entities, media], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert content_hash(text, entities, media) == hashlib.sha256(canonical.encode()).hexdigest()


def test_tampered_non_text_values_are_hashed_not_fatal(archive: Path) -> None:
    """A version whose text was replaced by a blob is reported, not a crash."""
    _archive_with_history(archive)
    _tamper(archive, "UPDATE post_versions SET text = x'00ff' WHERE id = 1")
    res = verify(connect(archive))
    assert not res.ok
    assert res.problem is not None and "text, entities or media changed" in res.problem
