"""Read queries: search, channel resolution, post detail, export rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telewatch.models import (
    Channel,
    ChannelSeen,
    Engagement,
    EngagementSampled,
    PostDeleted,
    UserError,
)
from telewatch.store.queries import (
    export_rows,
    get_post,
    list_channels,
    post_url,
    resolve_channel,
    resolve_post_ref,
    search,
)
from telewatch.store.sync import (
    archived_ranges,
    backfill_state,
    channel_by_id,
    channel_by_username,
    max_message_id,
    recent_message_ids,
)
from tests.fixtures.store import T0, post_seen, write_events

CH = 1500000001


@pytest.fixture
def conn(archive: Path) -> sqlite3.Connection:
    return write_events(
        archive,
        [
            ChannelSeen(Channel(CH, "Rafidain Watch", "rafidain_watch"), T0),
            ChannelSeen(Channel(2, "Moscow desk", None), T0),
            post_seen(CH, 1, "انفجار عبوة ناسفة في السّماوة صباح اليوم"),
            post_seen(CH, 2, "استهداف رتل بالسماوة على الطريق الدولي"),
            post_seen(CH, 3, "طقس معتدل في بغداد"),
            post_seen(2, 4, "Взрыв в Самаре, есть пострадавшие"),
            post_seen(
                2, 5, "A convoy was hit in Diwaniya's outskirts", date=T0 + timedelta(days=2)
            ),
            post_seen(2, 6, "Nothing to see here"),
        ],
    )


def _ids(hits: list) -> set[int]:  # type: ignore[type-arg]
    return {h.message_id for h in hits}


def test_arabic_search_ignores_diacritics_and_clitics(conn: sqlite3.Connection) -> None:
    """السماوة finds السّماوة (shadda) and بالسماوة (clitic ب + article)."""
    assert _ids(search(conn, "السماوة")) == {1, 2}
    assert _ids(search(conn, "السَّماوة")) == {1, 2}


def test_russian_and_english_inflections_match(conn: sqlite3.Connection) -> None:
    """Самара finds Самаре; Diwaniya finds Diwaniya's."""
    assert _ids(search(conn, "Самара")) == {4}
    assert _ids(search(conn, "Diwaniya")) == {5}


def test_hit_has_highlight_on_original_text_and_link(conn: sqlite3.Connection) -> None:
    """A hit carries the original spelling highlighted and the t.me link."""
    hit = next(h for h in search(conn, "السماوة") if h.message_id == 1)
    assert "[السّماوة]" in hit.marked()
    assert hit.url == "https://t.me/rafidain_watch/1"
    assert hit.channel_title == "Rafidain Watch"


def test_fts_syntax_in_plain_queries_is_just_text(conn: sqlite3.Connection) -> None:
    """Quotes, -, *, : and keywords in a query never crash the search."""
    for q in [
        '"unbalanced',
        "-convoy",
        "convoy*",
        "text:convoy",
        "NEAR(",
        "AND OR NOT",
        "body:x",
    ]:
        search(conn, q)
    for q in ["(((", "^", '"']:
        with pytest.raises(UserError, match="nothing to search for"):
            search(conn, q)
    assert _ids(search(conn, '"convoy" -hit:')) == {5}


def test_raw_mode_passes_fts_syntax_and_reports_bad_syntax(conn: sqlite3.Connection) -> None:
    """--raw accepts FTS5 operators and turns a syntax error into a clear UserError."""
    assert _ids(search(conn, "convoy OR взрыв", raw=True)) == {4, 5}
    # Words are made index tokens as the indexer makes them: case, accents,
    # diacritics and punctuation around words do not stop a match.
    assert _ids(search(conn, "«CONVÓY» NOT Nothing", raw=True)) == {5}
    assert _ids(search(conn, '"السَّماوة صباح" OR (Взрыв AND «Самаре»)', raw=True)) == {1, 4}
    assert _ids(search(conn, "body : diwaniya*", raw=True)) == {5}
    with pytest.raises(UserError, match="bad FTS5 query"):
        search(conn, '"unbalanced', raw=True)


def test_empty_query_is_a_user_error(conn: sqlite3.Connection) -> None:
    """A query without words says so instead of listing everything."""
    with pytest.raises(UserError, match="nothing to search for"):
        search(conn, " ... ")


def test_search_filters_by_channel_and_time(conn: sqlite3.Connection) -> None:
    """--channel, --since and --until narrow the results."""
    assert _ids(search(conn, "convoy OR السماوه OR взрыв", raw=True, channel_id=2)) == {4, 5}
    assert _ids(search(conn, "convoy", since=T0 + timedelta(days=1))) == {5}
    assert _ids(search(conn, "convoy", until=T0 + timedelta(days=1))) == set()


def test_resolve_channel_accepts_every_reference_form(conn: sqlite3.Connection) -> None:
    """@name, name, numeric id, -100 id and t.me links resolve to the same channel."""
    for ref in ["@rafidain_watch", "Rafidain_Watch", "1500000001", "-1001500000001",
                "https://t.me/rafidain_watch", "t.me/rafidain_watch/18372"]:  # fmt: skip
        assert resolve_channel(conn, ref).id == CH
    with pytest.raises(UserError, match="no channel '@nobody_here'"):
        resolve_channel(conn, "@nobody_here")
    with pytest.raises(UserError, match="is not a channel"):
        resolve_channel(conn, "no spaces allowed")
    channel, mid = resolve_post_ref(conn, "@rafidain_watch/2")
    assert (channel.id, mid) == (CH, 2)


def test_list_channels_counts_posts(conn: sqlite3.Connection) -> None:
    """Each channel is listed with its post count and last post date."""
    rows = {c.id: c for c in list_channels(conn)}
    assert rows[CH].posts == 3 and rows[2].posts == 3
    assert rows[2].last_post == T0 + timedelta(days=2)
    assert rows[2].label == "Moscow desk"


def test_get_post_shows_versions_deletion_and_engagement(archive: Path) -> None:
    """A post's detail lists every version, its tombstone and its samples."""
    conn = write_events(
        archive,
        [
            ChannelSeen(Channel(CH, "R", "rafidain_watch"), T0),
            post_seen(CH, 7, "two dead"),
            post_seen(CH, 7, "three dead", minutes=4),
            EngagementSampled(
                CH, 7, T0 + timedelta(minutes=9), Engagement(views=10, reactions=(("🔥", 2),))
            ),
            PostDeleted(CH, 7, T0 + timedelta(hours=1), "reconcile"),
        ],
    )
    d = get_post(conn, CH, 7)
    assert d is not None
    assert [v.text for v in d.versions] == ["two dead", "three dead"]
    assert d.deletion is not None and d.deletion.method == "reconcile"
    assert d.engagement[0].reactions == {"🔥": 2}
    assert d.url == "https://t.me/rafidain_watch/7"
    assert get_post(conn, CH, 8) is None


def test_export_rows_have_documented_fields(conn: sqlite3.Connection) -> None:
    """Export rows carry the documented fields with bare ids and UTC times."""
    rows = list(export_rows(conn, channel_id=CH))
    assert [r["message_id"] for r in rows] == [1, 2, 3]
    first = rows[0]
    assert first["channel_id"] == CH and first["username"] == "rafidain_watch"
    assert first["date"] == "2022-03-01T07:42:01Z"
    assert first["versions"] == 1 and first["deleted"] is False
    assert first["url"] == post_url("rafidain_watch", 1)


def test_sync_lookups_for_the_daemon(archive: Path) -> None:
    """The daemon's sync queries report ranges, cursor, max id and recent live posts."""
    from telewatch.models import BackfillProgressed, RangeArchived

    conn = write_events(
        archive,
        [
            ChannelSeen(Channel(CH, "R", "rafidain_watch", access_hash=5), T0),
            post_seen(CH, 1, "a", date=T0 - timedelta(days=3)),
            post_seen(CH, 2, "b"),
            post_seen(CH, 3, "c"),
            PostDeleted(CH, 3, T0, "event"),
            RangeArchived(CH, 1, 3),
            BackfillProgressed(CH, 1, True, 3),
        ],
    )
    assert archived_ranges(conn, CH) == [(1, 3)]
    state = backfill_state(conn, CH)
    assert state is not None and state.done and state.oldest_id == 1
    assert max_message_id(conn, CH) == 3
    assert recent_message_ids(conn, CH, datetime(2022, 3, 1, tzinfo=UTC)) == [2]
    found = channel_by_username(conn, "@Rafidain_Watch")
    assert found is not None and found.access_hash == 5
    assert channel_by_id(conn, 12345) is None


def test_search_finds_a_post_by_what_it_said_before_an_edit(archive: Path) -> None:
    """An edited post is found by words only its earlier version had; the hit
    shows that version's text and says which version it was. Words of the
    latest text still match it the usual way."""
    conn = write_events(
        archive,
        [
            ChannelSeen(Channel(CH, "Rafidain Watch", "rafidain_watch"), T0),
            post_seen(CH, 1, "رتل أمريكي يتعرض لانفجار في السماوة"),
            post_seen(CH, 1, "رتل أمريكي يتعرض لانفجار في الديوانية", minutes=30),
            post_seen(CH, 2, "خبر عن السماوة بلا تعديل"),
        ],
    )
    hits = {h.message_id: h for h in search(conn, "السماوة")}
    assert set(hits) == {1, 2}
    assert hits[1].matched_version == 1 and hits[1].version_count == 2
    assert "[السماوة]" in hits[1].marked()
    assert hits[2].matched_version is None
    latest = search(conn, "الديوانية")
    assert [(h.message_id, h.matched_version) for h in latest] == [(1, None)]
    assert "[الديوانية]" in latest[0].marked()
