"""Read queries over the archive (sync, on a ``db.connect()`` connection).

The CLI, the dashboard and xref read through these functions. Rows are
frozen dataclasses; times are aware UTC datetimes; ids are bare Telegram
ids. Nothing here writes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telewatch.models import Entity, ForwardOrigin, Media, UserError
from telewatch.store import events
from telewatch.store.db import is_postgres, iso, parse_iso
from telewatch.text import fts_query, query_stems, quoted, stem, tokens
from telewatch.thai import HAS_THAI
from telewatch.unspaced import HAS_UNSPACED

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TME_REF = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?([A-Za-z0-9_]+)(?:/(\d+))?/?(?:\?.*)?$",
    re.IGNORECASE,
)


_TME_PRIVATE_REF = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/c/(\d+)/(\d+)/?(?:\?.*)?$", re.IGNORECASE
)
_TG_RESOLVE_REF = re.compile(
    r"^tg://resolve\?domain=([A-Za-z0-9_]+)&post=(\d+)(?:&.*)?$", re.IGNORECASE
)
MAX_ID = 2**63 - 1
"""Telegram ids (channels, messages) are 64-bit signed at most: the largest
integer SQLite stores. A larger number names nothing and is refused."""


def _id(text: str, what: str, ref: str) -> int:
    """``text`` (decimal digits of any script: ``١٢`` is 12) as an id in
    1..MAX_ID. Raises UserError naming ``ref``."""
    n = int(text)
    if n == 0:
        raise UserError(f"{quoted(ref)}: {what} 0 is not an id (ids start at 1)")
    if n > MAX_ID:
        raise UserError(f"{quoted(ref)}: {what} is too large (at most {MAX_ID})")
    return n


def _dt(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


@dataclass(frozen=True)
class ChannelRow:
    """A channel of the archive. ``posts``/``last_post`` are filled by
    ``list_channels`` and ``resolve_channel`` (None from the sync lookups)."""

    id: int
    username: str | None
    title: str | None
    about: str | None
    access_hash: int | None
    subscribers: int | None
    first_seen: datetime
    last_seen: datetime
    posts: int | None = None
    last_post: datetime | None = None

    @property
    def label(self) -> str:
        """``@username`` when known, else the title, else the numeric id."""
        if self.username:
            return f"@{self.username}"
        return self.title or str(self.id)


def channel_row(row: sqlite3.Row, with_counts: bool = False) -> ChannelRow:
    """A ``channels`` row (optionally with ``posts``/``last_post``) as ChannelRow."""
    return ChannelRow(
        id=row["id"],
        username=row["username"],
        title=row["title"],
        about=row["about"],
        access_hash=row["access_hash"],
        subscribers=row["subscribers"],
        first_seen=parse_iso(row["first_seen"]),
        last_seen=parse_iso(row["last_seen"]),
        posts=row["posts"] if with_counts else None,
        last_post=_dt(row["last_post"]) if with_counts else None,
    )


_CHANNEL_COUNTS = (
    "SELECT c.*, (SELECT count(*) FROM posts p WHERE p.channel_id = c.id) AS posts,"
    " (SELECT max(date) FROM posts p WHERE p.channel_id = c.id) AS last_post FROM channels c"
)


def post_url(username: str | None, message_id: int) -> str | None:
    """``https://t.me/<username>/<id>``, or None when the username is unknown."""
    return f"https://t.me/{username}/{message_id}" if username else None


def parse_channel_ref(ref: str) -> tuple[int | None, str | None]:
    """(channel id, username) named by ``ref``: ``@name``, ``name``, a numeric
    id (``-100`` prefix accepted), ``https://t.me/name`` or ``t.me/name/123``.
    Raises UserError when ``ref`` is none of these."""
    r = ref.strip()
    m = _TME_REF.match(r)
    if m:
        r = m.group(1)
    r = r.lstrip("@")
    if re.fullmatch(r"-?\d+", r):
        digits = r.lstrip("-")
        if r.startswith("-100") and len(digits) > 3:
            digits = digits[3:]
        return _id(digits, "the channel id", ref), None
    if _USERNAME.fullmatch(r):
        return None, r
    raise UserError(
        f"{quoted(ref)} is not a channel: give @username, username, a numeric id or a t.me link"
    )


def resolve_channel(conn: sqlite3.Connection, ref: str) -> ChannelRow:
    """The archived channel named by ``ref`` (see ``parse_channel_ref``); a
    former username (channel_changes) resolves too. Raises UserError when
    the archive has no such channel."""
    cid, username = parse_channel_ref(ref)
    if cid is not None:
        row = conn.execute(f"{_CHANNEL_COUNTS} WHERE c.id = ?", (cid,)).fetchone()
    else:
        row = conn.execute(
            f"{_CHANNEL_COUNTS} WHERE c.username = ? COLLATE NOCASE", (username,)
        ).fetchone()
        if row is None:
            old = conn.execute(
                "SELECT channel_id FROM channel_changes WHERE field = 'username'"
                " AND old_value = ? COLLATE NOCASE ORDER BY captured_at DESC LIMIT 1",
                (username,),
            ).fetchone()
            if old is not None:
                row = conn.execute(f"{_CHANNEL_COUNTS} WHERE c.id = ?", (old[0],)).fetchone()
    if row is None:
        raise UserError(
            f"no channel {quoted(ref)} in the archive; `telewatch channels archived` lists them"
        )
    return channel_row(row, with_counts=True)


def resolve_post_ref(conn: sqlite3.Connection, ref: str) -> tuple[ChannelRow, int]:
    """(channel, message id) for ``CHANNEL/ID`` (``@name/123``, ``name/123``,
    ``1500000001/123``), a ``https://t.me/name/123`` or ``t.me/c/1500000001/123``
    link, or ``tg://resolve?domain=name&post=123``. Raises UserError."""
    r = ref.strip()
    m = _TME_PRIVATE_REF.match(r) or _TG_RESOLVE_REF.match(r)
    if m:
        # t.me/c/<id>/<msg> (the link Telegram copies for a post) and
        # tg://resolve?domain=<name>&post=<msg>.
        message_id = _id(m.group(2), "the message id", ref)
        return resolve_channel(conn, m.group(1)), message_id
    m = _TME_REF.match(r)
    if m and m.group(2):
        message_id = _id(m.group(2), "the message id", ref)
        return resolve_channel(conn, m.group(1)), message_id
    head, sep, tail = r.rpartition("/")
    if not sep or not tail.isdecimal() or not head:
        raise UserError(f"{quoted(ref)} is not a post: give CHANNEL/ID, e.g. @rafidain_watch/18372")
    message_id = _id(tail, "the message id", ref)
    return resolve_channel(conn, head), message_id


def list_channels(conn: sqlite3.Connection) -> list[ChannelRow]:
    """Every archived channel with its post count and last post date, by
    username (channels without one last, by id)."""
    rows = conn.execute(
        f"{_CHANNEL_COUNTS} ORDER BY c.username IS NULL, c.username COLLATE NOCASE, c.id"
    ).fetchall()
    return [channel_row(r, with_counts=True) for r in rows]


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    """One ranked post. ``snippet`` is an excerpt of the original (latest)
    text — or, when only an earlier version has the words (the post was
    edited since), of that version, whose number is ``matched_version``
    (None otherwise); ``highlights`` are (start, end) character spans in
    ``snippet`` of the words that matched. ``score`` is FTS5 bm25 (lower =
    better)."""

    channel_id: int
    message_id: int
    username: str | None
    channel_title: str | None
    date: datetime
    text: str
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    score: float
    url: str | None
    deleted: bool
    version_count: int
    lang: str | None
    matched_version: int | None = None

    def marked(self, start: str = "[", end: str = "]") -> str:
        """The snippet with each highlight wrapped in ``start``/``end``."""
        out: list[str] = []
        pos = 0
        for a, b in self.highlights:
            out.extend((self.snippet[pos:a], start, self.snippet[a:b], end))
            pos = b
        out.append(self.snippet[pos:])
        return "".join(out)


_CHUNK = re.compile(r"\S+")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of the words in original ``text`` that the search for
    ``query`` matches (same prefix/stem rule as ``fts_query``)."""
    wanted = [w for w in query_stems(query) if w]
    if not wanted:
        return []
    # A one-unit query in an unspaced script matches the bigrams it starts.
    starts = [w for w in wanted if HAS_UNSPACED.match(w)]
    spans: list[tuple[int, int]] = []
    for m in _CHUNK.finditer(text):
        chunk = m.group(0)
        # Thai words and unspaced-script bigrams are marked alone: a clause
        # is written without spaces.
        cursor = 0
        thai_chunk = HAS_THAI.search(chunk) is not None
        unspaced_chunk = HAS_UNSPACED.search(chunk) is not None
        for tok in tokens(chunk):
            at = chunk.find(tok, cursor) if thai_chunk or unspaced_chunk else -1
            bigram = at >= 0 and HAS_UNSPACED.search(tok) is not None
            if at >= 0:
                # Bigrams overlap: the next one starts inside this one.
                cursor = at + 1 if bigram else at + len(tok)
            forms = (tok, stem(tok))
            if any(
                f == w or (len(w) >= 4 and f.startswith(w)) for f in forms for w in wanted
            ) or any(tok.startswith(w) for w in starts):
                if bigram:
                    a, b = m.start() + at, m.start() + at + len(tok)
                    if spans and spans[-1][1] >= a:
                        spans[-1] = (spans[-1][0], max(spans[-1][1], b))
                    else:
                        spans.append((a, b))
                    continue
                if at >= 0 and HAS_THAI.match(tok):
                    spans.append((m.start() + at, m.start() + cursor))
                    continue
                core = _EDGE_PUNCT.sub("", chunk)
                start = m.start() + (chunk.find(core) if core else 0)
                spans.append((start, start + (len(core) if core else len(chunk))))
                break
    return spans


def make_snippet(
    text: str, spans: list[tuple[int, int]], width: int = 160
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """An excerpt of about ``width`` characters around the first match, with
    the spans shifted into it; ``…`` marks cut ends."""
    flat = text.replace("\n", " ")
    if len(flat) <= width:
        return flat, tuple(spans)
    first = spans[0][0] if spans else 0
    start = max(0, min(first - width // 4, len(flat) - width))
    if start > 0:
        sp = flat.rfind(" ", 0, start + 1)
        start = sp + 1 if sp >= 0 and start - sp < 20 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        sp = flat.find(" ", end)
        end = sp if 0 <= sp - end < 20 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    shift = len(prefix) - start
    inside = tuple((a + shift, b + shift) for a, b in spans if a >= start and b <= end)
    return prefix + flat[start:end] + suffix, inside


MAX_DAY_TOKENS = 62  # longer date ranges are filtered in SQL only


def _day_tokens(since: datetime | None, until: datetime | None) -> list[str]:
    """``d<YYYYMMDD>`` tokens covering [since, until), or [] when unbounded/long."""
    if since is None or until is None or until <= since:
        return []
    first = since.astimezone(UTC).date()
    last = (until.astimezone(UTC) - timedelta(microseconds=1)).date()
    n = (last - first).days + 1
    if n > MAX_DAY_TOKENS:
        return []
    return [f"d{(first + timedelta(days=i)).strftime('%Y%m%d')}" for i in range(n)]


SCORE_WINDOW = 1000
"""At most this many matches (the most recently captured) are BM25-scored."""

_FTS_OPERATOR = re.compile(r"(\bAND\b|\bOR\b|\bNOT\b|\bNEAR\b)")


def _date_window(
    where: list[str], args: list[Any], since: datetime | None, until: datetime | None
) -> None:
    """Add the half-open post date window [since, until) to a WHERE list
    and its arguments (either bound may be None: unbounded)."""
    if since is not None:
        where.append("p.date >= ?")
        args.append(iso(since))
    if until is not None:
        where.append("p.date < ?")
        args.append(iso(until))


MAX_QUERY_CHARS = 4096
"""A longer search query is refused (a post is at most 4096 characters)."""


def check_raw(query: str) -> None:
    """Refuse a raw FTS5 expression that could step outside the
    ``body : (…)`` group it is searched in: a ``)`` closing more than was
    opened (``x) OR (y`` would escape the ``--channel`` and date filters).
    Column filters inside the group only narrow it (FTS5 intersects nested
    filters: ``meta : c1`` there matches nothing). Text inside double quotes
    is a phrase and never syntax. Raises UserError."""
    depth = 0
    in_string = False
    for ch in query:
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UserError(f"--raw query {quoted(query)} closes a parenthesis it never opened")


def raw_fts(query: str) -> str:
    """Normalise the words of a raw FTS5 expression, keeping its operators
    (AND, OR, NOT, NEAR must be upper case, as in FTS5)."""
    parts = _FTS_OPERATOR.split(query)
    return "".join(p if i % 2 else _RAW_RUN.sub(_raw_words, p) for i, p in enumerate(parts))


# A run of anything but white space and FTS5 syntax characters: its words
# become index tokens exactly as the indexer makes them (normalised, Latin
# accents folded, punctuation such as « » — separating), so raw queries meet
# the index wherever plain ones do.
_RAW_RUN = re.compile(r'[^\s"*():^+{},-]+')


def _raw_words(m: re.Match[str]) -> str:
    return " ".join(tokens(m.group(0)))


def search(
    conn: sqlite3.Connection,
    query: str,
    *,
    channel_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    raw: bool = False,
    channel_ids: Sequence[int] | None = None,
    exclude_channels: Sequence[int] = (),
) -> list[SearchHit]:
    """Posts matching ``query``, best first (BM25 over normalised text).

    ``channel_ids`` keeps posts of those channels only; ``exclude_channels``
    leaves those out (discussion groups, store/comments.py).

    Plain mode (default): every word of ``query`` must match, with
    normalisation and light stemming (text.fts_query); FTS syntax characters
    are ordinary text. ``raw=True`` passes FTS5 syntax through (words are
    normalised; they match whole indexed words, add ``*`` for a prefix).
    ``since`` is inclusive, ``until`` exclusive. Deleted posts are found too
    (``deleted=True``). When more than SCORE_WINDOW posts match, only the
    SCORE_WINDOW most recently captured matches are ranked (a common word
    then finds recent posts first). Raises UserError for an empty query or
    bad raw syntax or a query longer than MAX_QUERY_CHARS."""
    if len(query) > MAX_QUERY_CHARS:
        raise UserError(
            f"the query is {len(query)} characters long; search for at most"
            f" {MAX_QUERY_CHARS} (a few distinctive words work best)"
        )
    if raw:
        check_raw(query)
        expr: str | None = raw_fts(query)
        if not (expr or "").strip():
            expr = None
    else:
        expr = fts_query(query)
    if expr is None:
        raise UserError(f"nothing to search for in {quoted(query)}: give at least one word")
    # Channel and publication day are tokens of the `meta` column, so FTS
    # intersects them with the words instead of SQL filtering every match.
    match = [f"body : ({expr})"]
    if channel_id is not None:
        match.append(f"meta : c{int(channel_id)}")
    if channel_ids is not None:
        if not channel_ids:
            return []
        match.append("meta : (" + " OR ".join(f"c{int(c)}" for c in channel_ids) + ")")
    lo, hi = since, until
    if (lo is None) != (hi is None):
        # Half-open range: bound it by the archive's own dates so that a
        # short effective window still filters inside the index.
        first, last = conn.execute("SELECT min(date), max(date) FROM posts").fetchone()
        if first is not None:
            lo = lo or parse_iso(first)
            hi = hi or parse_iso(last) + timedelta(seconds=1)
    days = _day_tokens(lo, hi)
    if days:
        match.append("meta : (" + " OR ".join(days) + ")")
    where = ["posts_fts MATCH ?"]
    expression = " AND ".join(match)
    if exclude_channels:
        left_out = " OR ".join(f"c{int(c)}" for c in exclude_channels)
        expression = f"({expression}) NOT meta : ({left_out})"
    args: list[Any] = [expression]
    _date_window(where, args, since, until)
    if is_postgres(conn):
        from telewatch.store import pg

        assert isinstance(conn, pg.PgConnection)
        try:
            scored: list[Any] = pg.fts_search(
                conn,
                expr,
                channel_id=channel_id,
                date_where=where[1:],
                date_args=args[1:],
                window=SCORE_WINDOW,
                days=(days[0][1:], days[-1][1:]) if days else None,
                channel_ids=channel_ids,
                exclude_channels=exclude_channels,
            )
        except pg.FtsSyntaxError as err:
            raise UserError(
                f"bad FTS5 query {quoted(query)} ({err}); drop --raw to search plain words"
            ) from None
        return _hits(conn, query, raw, scored, limit)
    # CROSS JOIN keeps FTS the outer loop: the planner would otherwise walk a
    # date index and run the MATCH once per post (minutes on a big archive).
    join = " CROSS JOIN posts p ON p.id = posts_fts.rowid" if len(where) > 1 else ""
    try:
        # One pass, newest matches first: only the SCORE_WINDOW most recently
        # captured matches are BM25-scored (scoring is what a common word with
        # 100,000+ matches costs), then the best `limit` are kept.
        scored = conn.execute(
            f"SELECT posts_fts.rowid, bm25(posts_fts, 1.0, 0.0) FROM posts_fts{join}"
            f" WHERE {' AND '.join(where)} ORDER BY posts_fts.rowid DESC LIMIT ?",
            (*args, SCORE_WINDOW),
        ).fetchall()
    except sqlite3.OperationalError as err:
        if raw and "locked" not in str(err) and "busy" not in str(err):
            raise UserError(
                f"bad FTS5 query {quoted(query)} ({err}); drop --raw to search plain words"
            ) from None
        raise
    return _hits(conn, query, raw, scored, limit)


def _hits(
    conn: sqlite3.Connection, query: str, raw: bool, scored: list[Any], limit: int
) -> list[SearchHit]:
    best = sorted(scored, key=lambda r: (r[1], -r[0]))[: max(1, limit)]
    score = {r[0]: float(r[1]) for r in best}
    details = {
        r["id"]: r
        for r in conn.execute(
            "SELECT p.id, p.channel_id, p.message_id, p.date, p.text, p.deleted_at,"
            " p.version_count, p.lang, c.username, c.title FROM posts p"
            " LEFT JOIN channels c ON c.id = p.channel_id"
            f" WHERE p.id IN ({','.join('?' * len(best))})",
            [r[0] for r in best],
        )
    }
    rows = [details[r[0]] for r in best if r[0] in details]
    hits = []
    words = query if not raw else " ".join(_words_of_raw(query))
    for r in rows:
        text, matched = r["text"], None
        spans = match_spans(text, words)
        if not spans and r["version_count"] > 1:
            # The index holds every version's words: the match may be in
            # what the post said before an edit. Show the newest such version.
            for no, old in conn.execute(
                "SELECT version_no, text FROM post_versions WHERE channel_id = ?"
                " AND message_id = ? ORDER BY version_no DESC",
                (r["channel_id"], r["message_id"]),
            ).fetchall()[1:]:
                old_spans = match_spans(old, words)
                if old_spans:
                    text, matched, spans = old, int(no), old_spans
                    break
        snippet, highlights = make_snippet(text, spans)
        hits.append(
            SearchHit(
                channel_id=r["channel_id"],
                message_id=r["message_id"],
                username=r["username"],
                channel_title=r["title"],
                date=parse_iso(r["date"]),
                text=r["text"],
                snippet=snippet,
                highlights=highlights,
                score=score[r["id"]],
                url=post_url(r["username"], r["message_id"]),
                deleted=r["deleted_at"] is not None,
                version_count=r["version_count"],
                lang=r["lang"],
                matched_version=matched,
            )
        )
    return hits


def _words_of_raw(query: str) -> list[str]:
    parts = _FTS_OPERATOR.split(query)
    return [p for i, p in enumerate(parts) if not i % 2]


# --------------------------------------------------------------------------
# One post with its history
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    """One distinct content a post had (``version_no`` 1 = first seen)."""

    id: int
    version_no: int
    text: str
    entities: tuple[Entity, ...]
    media: Media | None
    content_hash: str
    edit_date: datetime | None
    captured_at: datetime
    source: str


@dataclass(frozen=True)
class DeletionRow:
    """The tombstone of a post Telegram no longer has. ``changes`` lists
    (change, detected_at, source) rows of ``deletion_changes``: an inferred
    deletion withdrawn (``revived``) or put back (``deleted_again``)."""

    detected_at: datetime
    method: str
    last_seen_alive: datetime | None = None  # the window: alive then, gone at detected_at
    changes: tuple[tuple[str, datetime, str], ...] = ()


@dataclass(frozen=True)
class EngagementRow:
    """Counters at one moment; ``reactions`` maps emoji (or id) to count."""

    sampled_at: datetime
    views: int | None
    forwards: int | None
    replies: int | None
    reactions: dict[str, int]


@dataclass(frozen=True)
class PostDetail:
    """A post as archived: latest content, every version (oldest first),
    the tombstone if deleted, and every engagement sample (oldest first)."""

    channel: ChannelRow
    message_id: int
    date: datetime
    text: str
    entities: tuple[Entity, ...]
    media: Media | None
    grouped_id: int | None
    reply_to: int | None
    forward: ForwardOrigin | None
    post_author: str | None
    links: tuple[str, ...]
    tme_refs: tuple[dict[str, Any], ...]
    lang: str | None
    edit_date: datetime | None
    first_seen: datetime
    url: str | None
    versions: tuple[VersionRow, ...]
    deletion: DeletionRow | None
    engagement: tuple[EngagementRow, ...]
    forward_channel: ChannelRow | None = None  # the forward's origin, when it is archived


def decode_entities(data: str | None) -> tuple[Entity, ...]:
    """Stored entities JSON → Entity tuple."""
    if not data:
        return ()
    return tuple(
        Entity(type=e["type"], offset=e["offset"], length=e["length"], url=e.get("url"))
        for e in json.loads(data)
    )


def decode_media(data: str | None) -> Media | None:
    """Stored media JSON → Media."""
    return Media(**json.loads(data)) if data else None


def get_post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> PostDetail | None:
    """The archived post, or None when the archive never saw it."""
    r = conn.execute(
        "SELECT * FROM posts WHERE channel_id = ? AND message_id = ?", (channel_id, message_id)
    ).fetchone()
    if r is None:
        return None
    crow = conn.execute(f"{_CHANNEL_COUNTS} WHERE c.id = ?", (channel_id,)).fetchone()
    channel = channel_row(crow, with_counts=True)
    versions = tuple(
        VersionRow(
            id=v["id"],
            version_no=v["version_no"],
            text=v["text"],
            entities=decode_entities(v["entities"]),
            media=decode_media(v["media"]),
            content_hash=v["content_hash"],
            edit_date=_dt(v["edit_date"]),
            captured_at=parse_iso(v["captured_at"]),
            source=v["source"],
        )
        for v in conn.execute(
            "SELECT * FROM post_versions WHERE channel_id = ? AND message_id = ?"
            " ORDER BY version_no",
            (channel_id, message_id),
        )
    )
    d = conn.execute(
        "SELECT detected_at, method, last_seen_at FROM deletions"
        " WHERE channel_id = ? AND message_id = ?",
        (channel_id, message_id),
    ).fetchone()
    changes = tuple(
        (str(c[0]), parse_iso(c[1]), str(c[2]))
        for c in conn.execute(
            "SELECT change, detected_at, source FROM deletion_changes"
            " WHERE channel_id = ? AND message_id = ? ORDER BY id",
            (channel_id, message_id),
        )
    )
    samples = tuple(
        EngagementRow(
            sampled_at=parse_iso(e["sampled_at"]),
            views=e["views"],
            forwards=e["forwards"],
            replies=e["replies"],
            reactions=json.loads(e["reactions"]) if e["reactions"] else {},
        )
        for e in conn.execute(
            "SELECT * FROM engagement WHERE channel_id = ? AND message_id = ? ORDER BY sampled_at",
            (channel_id, message_id),
        )
    )
    fwd = None
    if r["fwd_channel_id"] is not None or r["fwd_name"] is not None:
        fwd = ForwardOrigin(
            channel_id=r["fwd_channel_id"],
            name=r["fwd_name"],
            message_id=r["fwd_message_id"],
            date=_dt(r["fwd_date"]),
        )
    fwd_channel = None
    if r["fwd_channel_id"] is not None:
        frow = conn.execute(
            "SELECT * FROM channels WHERE id = ?", (r["fwd_channel_id"],)
        ).fetchone()
        fwd_channel = channel_row(frow) if frow is not None else None
    return PostDetail(
        channel=channel,
        message_id=message_id,
        date=parse_iso(r["date"]),
        text=r["text"],
        entities=decode_entities(r["entities"]),
        media=decode_media(r["media"]),
        grouped_id=r["grouped_id"],
        reply_to=r["reply_to_id"],
        forward=fwd,
        post_author=r["post_author"],
        links=tuple(json.loads(r["links"])) if r["links"] else (),
        tme_refs=tuple(json.loads(r["tme_refs"])) if r["tme_refs"] else (),
        lang=r["lang"],
        edit_date=_dt(r["edit_date"]),
        first_seen=parse_iso(r["first_seen"]),
        url=post_url(channel.username, message_id),
        versions=versions,
        deletion=DeletionRow(parse_iso(d[0]), d[1], parse_iso(d[2]) if d[2] else None, changes)
        if d
        else None,
        engagement=samples,
        forward_channel=fwd_channel,
    )


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

EXPORT_FIELDS = (
    "channel_id",
    "username",
    "message_id",
    "date",
    "text",
    "edit_date",
    "versions",
    "deleted",
    "deleted_at",
    "forward_from",
    "fwd_channel_id",
    "fwd_message_id",
    "views",
    "forwards",
    "replies",
    "reply_to_id",
    "grouped_id",
    "media_kind",
    "lang",
    "first_seen",
    "url",
    "pinned",
    "poll_question",
    "poll_answers",
    "poll_counts",
    "poll_total_voters",
    "poll_closed",
    "media",
)
"""Fields of one exported post, in column order (docs/SCHEMA.md)."""


def export_rows(
    conn: sqlite3.Connection,
    *,
    channel_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    exclude_channels: Sequence[int] = (),
) -> Iterator[dict[str, Any]]:
    """One dict per post (keys = EXPORT_FIELDS), by channel then message id,
    streamed. Times are archive time text (``YYYY-MM-DDTHH:MM:SSZ``);
    ``forward_from`` is the origin's name, else its channel id as text;
    ``media`` the stored files of the version shown (store.media_match).
    ``exclude_channels`` leaves those channels out (discussion groups)."""
    from telewatch.store.media_match import MediaByPost

    where: list[str] = []
    args: list[Any] = []
    if channel_id is not None:
        where.append("p.channel_id = ?")
        args.append(channel_id)
    if exclude_channels:
        where.append(f"p.channel_id NOT IN ({','.join('?' * len(exclude_channels))})")
        args.extend(int(c) for c in exclude_channels)
    _date_window(where, args, since, until)
    sql = (
        "SELECT p.*, c.username, (SELECT e.pinned FROM pin_events e WHERE e.channel_id ="
        " p.channel_id AND e.message_id = p.message_id ORDER BY e.id DESC LIMIT 1) AS pinned_now"
        " FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY p.channel_id, p.message_id"
    )
    media = MediaByPost(conn, where, args)
    for r in conn.execute(sql, args):
        fwd = r["fwd_name"] or (str(r["fwd_channel_id"]) if r["fwd_channel_id"] else None)
        yield {
            "channel_id": r["channel_id"],
            "username": r["username"],
            "message_id": r["message_id"],
            "date": r["date"],
            "text": r["text"],
            "edit_date": r["edit_date"],
            "versions": r["version_count"],
            "deleted": r["deleted_at"] is not None,
            "deleted_at": r["deleted_at"],
            "forward_from": fwd,
            "fwd_channel_id": r["fwd_channel_id"],
            "fwd_message_id": r["fwd_message_id"],
            "views": r["views"],
            "forwards": r["forwards"],
            "replies": r["replies"],
            "reply_to_id": r["reply_to_id"],
            "grouped_id": r["grouped_id"],
            "media_kind": r["media_kind"],
            "lang": r["lang"],
            "first_seen": r["first_seen"],
            "url": post_url(r["username"], r["message_id"]),
            "pinned": bool(r["pinned_now"]),
            **_poll_fields(conn, r["channel_id"], r["message_id"], r["media_kind"]),
            "media": media.of(r["channel_id"], r["message_id"]),
        }


def _poll_fields(
    conn: sqlite3.Connection, channel_id: int, message_id: int, media_kind: str | None
) -> dict[str, Any]:
    """The export's poll columns: question, answers, newest counts, total, closed."""
    poll = events.poll_of(conn, channel_id, message_id) if media_kind == "poll" else None
    last = poll.samples[-1] if poll is not None and poll.samples else None
    return {
        "poll_question": poll.question if poll is not None else None,
        "poll_answers": list(poll.answers) if poll is not None else None,
        "poll_counts": list(last.counts) if last is not None else None,
        "poll_total_voters": last.total_voters if last is not None else None,
        "poll_closed": last.closed if last is not None else None,
    }
