"""trace on a real archive: forwards by display name, signature-swapped copies, origin."""

from __future__ import annotations

from pathlib import Path

from telewatch.store import db
from telewatch.xref.provenance import trace


def _ids(res: object) -> dict[int, str]:
    return {s.post.message_id: s.kind for s in res.spread}  # type: ignore[attr-defined]


def test_trace_from_a_copy_finds_the_origin_first(xref_dev_archive: Path) -> None:
    """Tracing Furat's copy of the Samawa claim reports Rafidain's post as origin, first."""
    conn = db.connect(xref_dev_archive)
    try:
        res = trace(conn, 1500000002, 45251)
    finally:
        conn.close()
    assert (res.origin.channel_id, res.origin.message_id) == (1500000001, 18372)
    assert res.spread[0].kind == "origin"
    kinds = _ids(res)
    assert kinds[45251] == "copy"
    assert kinds[3149] == "paraphrase"
    delays = [s.delay_minutes for s in res.spread]
    assert delays == sorted(delays)


def test_trace_forward_header_by_display_name(xref_dev_archive: Path) -> None:
    """A Desktop-export forward (display name only) is matched to its origin as 'forward'."""
    conn = db.connect(xref_dev_archive)
    try:
        res = trace(conn, 1500000001, 18375)
    finally:
        conn.close()
    assert _ids(res)[45252] == "forward"
