"""The hot write path for posts (PostSeen runs): imports and backfill.

Split in two so that bulk imports can run the first half in another
process (sources.desktop_export does, for large files):

* ``prepare_post`` — everything derived from the post alone (stored JSON,
  content hash, links, language, full-text body). Pure, picklable result.
* ``write_prepared`` — everything that depends on the archive: new post or
  new version, version numbers, the hash chain, FTS, engagement, alerts.
  Must run inside the writer's transaction. Ids are assigned here (single
  writer under BEGIN IMMEDIATE) so that rows are written with executemany.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from telewatch.models import Engagement, Entity, ForwardOrigin, Media, PostSeen
from telewatch.store import chain
from telewatch.store.alerts import AlertKind, CompiledRule, evaluate
from telewatch.store.db import is_postgres, iso, send
from telewatch.text import analyze, index_body


class PostsStats(NamedTuple):
    """What ``write_prepared`` did."""

    posts_new: int
    versions: int
    samples: int
    alerts: int
    revived: int = 0  # inferred (import) deletions withdrawn: the post was seen alive


# --------------------------------------------------------------------------
# Encodings (docs/SCHEMA.md documents them).
# --------------------------------------------------------------------------


# One encoder for every stored JSON value (json.dumps would build one per call).
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def entities_json(entities: Sequence[Entity]) -> str | None:
    """Stored form of entities: compact JSON list, None when there are none."""
    if not entities:
        return None
    out = []
    for e in entities:
        d: dict[str, Any] = {"type": e.type, "offset": e.offset, "length": e.length}
        if e.url is not None:
            d["url"] = e.url
        out.append(d)
    return _dumps(out)


def media_json(media: Media | None) -> str | None:
    """Stored form of a media summary: compact JSON without null fields."""
    if media is None:
        return None
    return _dumps({k: v for k, v in asdict(media).items() if v is not None})


def reactions_json(reactions: Sequence[tuple[str, int]]) -> str | None:
    """Stored form of reactions: JSON object {emoji_or_id: count}."""
    return _dumps(dict(reactions)) if reactions else None


def engagement_row(e: Engagement) -> tuple[int | None, int | None, int | None, str | None]:
    """(views, forwards, replies, reactions JSON) as stored in ``engagement``."""
    return (e.views, e.forwards, e.replies, reactions_json(e.reactions))


_URL = re.compile(r"(?:https?://|(?<![\w.])t\.me/)[^\s<>\"'«»()\[\]]+", re.IGNORECASE)
_TME = re.compile(
    r"(?:https?://)?(?:t|telegram)\.me/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})(?:/(\d+))?",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z][A-Za-z0-9_]{3,31})")
_NOT_CHANNELS = {"joinchat", "addstickers", "share", "proxy", "c", "iv"}


def extract_links(text: str, entities: Sequence[Entity]) -> tuple[str | None, str | None]:
    """(links JSON, tme_refs JSON) for a post: outgoing URLs from the text and
    text_link entities; t.me references and @mentions as
    ``{"username", "message_id"?}`` (username lower-cased). None when empty."""
    has_url = "http" in text or "t.me" in text or "T.me" in text
    if not entities and not has_url and "@" not in text:
        return None, None  # most posts: nothing to look for
    links: list[str] = [e.url for e in entities if e.url]
    if has_url:
        links.extend(m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text))
    refs: list[dict[str, Any]] = []
    seen: set[tuple[str, int | None]] = set()
    for url in links:
        m = _TME.match(url) or _TME.search(url)
        if m and m.group(1).lower() not in _NOT_CHANNELS:
            key = (m.group(1).lower(), int(m.group(2)) if m.group(2) else None)
            if key not in seen:
                seen.add(key)
                refs.append({"username": key[0], **({"message_id": key[1]} if key[1] else {})})
    if "@" in text:
        for m in _MENTION.finditer(text):
            key = (m.group(1).lower(), None)
            if key not in seen:
                seen.add(key)
                refs.append({"username": key[0]})
    uniq = list(dict.fromkeys(links))
    return (_dumps(uniq) if uniq else None, _dumps(refs) if refs else None)


# --------------------------------------------------------------------------
# Prepare
# --------------------------------------------------------------------------


class PreparedPost(NamedTuple):
    """A PostSeen reduced to stored values (plain types, cheap to pickle)."""

    channel_id: int
    message_id: int
    date: str
    text: str
    entities: str | None
    media: str | None
    media_kind: str | None
    content_hash: str
    seen: str
    edit_date: str | None
    source: str
    grouped_id: int | None
    reply_to: int | None
    fwd_channel_id: int | None
    fwd_name: str | None
    fwd_message_id: int | None
    fwd_date: str | None
    post_author: str | None
    links: str | None
    tme_refs: str | None
    lang: str
    body: str  # text.index_text(text)
    engagement: tuple[int | None, int | None, int | None, str | None] | None
    raw_format: str | None = None
    raw_sha256: str | None = None
    raw_data: bytes | None = None  # zlib-compressed raw payload
    capture_id: str | None = None


def positive_id(value: object) -> int:
    """``value`` if it is a positive int id below 2**63; ValueError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise ValueError(f"ids must be positive bare Telegram ids, got {value!r}")
    return value


def _check_media(media: Media) -> None:
    """ValueError for media numbers no reader can show (NaN, infinite,
    negative, not numbers) or non-text strings: whatever the source, the
    archive never stores them (Telegram's values are int32/double)."""
    for name in ("size", "duration", "width", "height"):
        v = getattr(media, name)
        if v is None:
            continue
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or not math.isfinite(v)
            or not 0 <= v <= 2**53
        ):
            raise ValueError(f"media {name} {v!r} is not a finite number from 0 to 2**53")
    for name in ("kind", "mime", "file_unique_id", "file_name"):
        v = getattr(media, name)
        if v is not None and not isinstance(v, str):
            raise ValueError(f"media {name} is {type(v).__name__}, expected text")


def prepare_post(ev: PostSeen) -> PreparedPost:
    """Derive every stored value of one PostSeen. Raises ValueError/TypeError
    for a malformed event (bad id, naive time, non-text text)."""
    p = ev.post
    return prepare_fields(
        p.channel_id,
        p.message_id,
        iso(p.date),
        p.text,
        p.entities,
        p.media,
        iso(ev.seen_at),
        iso(p.edit_date) if p.edit_date else None,
        ev.source,
        grouped_id=p.grouped_id,
        reply_to=p.reply_to,
        forward=p.forward,
        post_author=p.post_author,
        engagement=p.engagement,
        raw=ev.raw if ev.raw is not None else p.raw,
        raw_format=ev.raw_format if ev.raw is not None else ("tl" if p.raw is not None else None),
        capture_id=ev.capture_id,
    )


def prepare_fields(
    channel_id: int,
    message_id: int,
    date: str,
    text: str,
    entities: Sequence[Entity],
    media: Media | None,
    seen: str,
    edit_date: str | None,
    source: str,
    *,
    grouped_id: int | None = None,
    reply_to: int | None = None,
    forward: ForwardOrigin | None = None,
    post_author: str | None = None,
    engagement: Engagement | None = None,
    raw: bytes | None = None,
    raw_format: str | None = None,
    capture_id: str | None = None,
) -> PreparedPost:
    """``prepare_post`` from a post's parts with times already as archive
    text (bulk importers skip building Post objects). Raises ValueError or
    TypeError for a malformed post."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    if media is not None:
        _check_media(media)
    if post_author is not None and not isinstance(post_author, str):
        raise TypeError(f"post_author must be str, got {type(post_author).__name__}")
    ents = entities_json(entities)
    med = media_json(media)
    links, refs = extract_links(text, entities)
    body, lang = analyze(text)
    if raw is not None and raw_format not in ("tl", "export-json"):
        raise ValueError(f"unknown raw payload format {raw_format!r}")
    return PreparedPost(
        positive_id(channel_id),
        positive_id(message_id),
        date,
        text,
        ents,
        med,
        media.kind if media else None,
        chain.content_hash(text, ents, med),
        seen,
        edit_date,
        source,
        grouped_id,
        reply_to,
        forward.channel_id if forward else None,
        forward.name if forward else None,
        forward.message_id if forward else None,
        iso(forward.date) if forward and forward.date else None,
        post_author,
        links,
        refs,
        lang,
        body,
        engagement_row(engagement) if engagement is not None else None,
        raw_format if raw is not None else None,
        chain.raw_digest(raw) if raw is not None else None,
        chain.compress_raw(raw) if raw is not None else None,
        capture_id,
    )


# --------------------------------------------------------------------------
# Write
# --------------------------------------------------------------------------

_POST_COLS = (
    "id, channel_id, message_id, date, text, entities, media_kind, media, grouped_id,"
    " reply_to_id, fwd_channel_id, fwd_name, fwd_message_id, fwd_date, post_author, links,"
    " tme_refs, lang, edit_date, version_id, version_count, first_seen"
)


@dataclass(slots=True)
class _State:
    """A post as the archive has it (or will have it after this run)."""

    post_id: int
    version_no: int
    chash: str | None
    db_text: str | None  # latest text before this run; None = new post
    db_date: str | None = None  # publication date as indexed (FTS meta)
    latest: PreparedPost | None = None  # content of a new version to write
    version_id: int | None = None
    latest_sample: tuple[Any, ...] | None = None
    sample_at: str | None = None  # sampled_at of latest_sample
    sample_loaded: bool = False
    new_texts: list[str] | None = None  # texts of the versions this run adds
    deleted: bool = False  # posts.deleted_at set before this run
    shown_edit: str | None = None  # Telegram edit date of the version the post row shows
    shown: PreparedPost | None = None  # a version of this run the post row is to show
    # (content_hash, text, media_kind, source) of every version, loaded when
    # a capture with different content arrives.
    history: list[tuple[str, str, str | None, str]] | None = None


_STATE_COLUMNS = (
    "SELECT p.channel_id, p.message_id, p.id, v.version_no, v.content_hash, p.text, p.date,"
    " p.deleted_at, v.edit_date FROM posts p LEFT JOIN post_versions v ON v.id = p.version_id"
)


def _load_states(
    conn: sqlite3.Connection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], _State]:
    """The stored state of each post in ``keys``: a range scan per channel
    whose ids are many and dense (imports, backfill pages), and one
    statement for all the rest (the live path: a post or two from each of
    many channels, where a statement per channel was a round trip each on
    PostgreSQL)."""
    by_channel: dict[int, list[int]] = {}
    for cid, mid in keys:
        by_channel.setdefault(cid, []).append(mid)
    rows: list[Any] = []
    pairs: list[tuple[int, int]] = []
    for cid, mids in by_channel.items():
        lo, hi = min(mids), max(mids)
        if len(mids) >= 8 and hi - lo < 4 * len(mids):
            rows += conn.execute(
                f"{_STATE_COLUMNS} WHERE p.channel_id = ? AND p.message_id BETWEEN ? AND ?",
                (cid, lo, hi),
            ).fetchall()
        else:
            pairs += [(cid, m) for m in mids]
    for k in range(0, len(pairs), 400):
        part = pairs[k : k + 400]
        rows += conn.execute(
            f"WITH w(c, m) AS (VALUES {','.join(['(?,?)'] * len(part))}) {_STATE_COLUMNS}"
            " JOIN w ON p.channel_id = w.c AND p.message_id = w.m",
            [x for pair in part for x in pair],
        ).fetchall()
    out: dict[tuple[int, int], _State] = {}
    for r in rows:
        out[(int(r[0]), int(r[1]))] = _State(
            r[2], r[3] or 0, r[4], r[5], r[6], deleted=r[7] is not None, shown_edit=r[8]
        )
    return out


def fts_meta(channel_id: int, date: str) -> str:
    """The ``posts_fts.meta`` value: channel and publication-day tokens."""
    return f"c{channel_id} d{date[:4]}{date[5:7]}{date[8:10]}"


def write_prepared(
    conn: sqlite3.Connection, posts: Sequence[PreparedPost], rules: Sequence[CompiledRule]
) -> PostsStats:
    """Write prepared posts in order inside the caller's transaction.

    New post → posts row + version 1; different content hash → version n+1
    and the posts row (and FTS) follow; same content → nothing, except an
    engagement sample when the counters differ from the newest sample.
    Fires alerts ``new``/``edit`` for each new version. Raises
    sqlite3.Error on a database failure (the caller rolls back)."""
    if not posts:
        return PostsStats(0, 0, 0, 0)
    states = _load_states(conn, [(p.channel_id, p.message_id) for p in posts])
    first_seen: dict[int, str] = {}
    for p in posts:
        first_seen.setdefault(p.channel_id, p.seen)
    send(
        conn,
        "INSERT OR IGNORE INTO channels(id, first_seen, last_seen) VALUES (?,?,?)",
        [(c, s, s) for c, s in first_seen.items()],
        many=True,
    )
    # The next ids and the chain's head in one statement (on a shared
    # PostgreSQL archive, every round trip here is under the write lock).
    ids = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM posts),"
        f" (SELECT coalesce(max(id), 0) FROM post_versions), {chain.HEAD_COLUMNS}"
    ).fetchone()
    next_post, next_version = int(ids[0]) + 1, int(ids[1]) + 1
    app = chain.Appender(conn, known=chain.head_of(ids[2], ids[3], ids[4]))
    raws: list[tuple[Any, ...]] = []
    new_posts: dict[tuple[int, int], list[Any]] = {}
    versions: list[tuple[Any, ...]] = []
    samples: list[tuple[Any, ...]] = []
    alerts: list[tuple[AlertKind, PreparedPost]] = []

    for p in posts:
        key = (p.channel_id, p.message_id)
        st = states.get(key)
        if st is None:
            st = states[key] = _State(next_post, 0, None, None)
            next_post += 1
            new_posts[key] = [
                st.post_id, p.channel_id, p.message_id, p.date, p.text, p.entities,
                p.media_kind, p.media, p.grouped_id, p.reply_to, p.fwd_channel_id, p.fwd_name,
                p.fwd_message_id, p.fwd_date, p.post_author, p.links, p.tme_refs, p.lang,
                p.edit_date, None, 1, p.seen,
            ]  # fmt: skip
        if st.chash != p.content_hash and not _seen_before(conn, key, st, p):
            vid = next_version
            next_version += 1
            st.version_no += 1
            st.chash = p.content_hash
            if st.history is not None:
                st.history.append((p.content_hash, p.text, p.media_kind, p.source))
            # The post row shows the version with the newest Telegram edit
            # date (an older export imported after a newer one adds its
            # version to the history, but the post keeps the newer text).
            if st.version_no == 1 or (p.edit_date or "") >= (st.shown_edit or ""):
                st.shown, st.version_id, st.shown_edit = p, vid, p.edit_date
            st.latest = p
            if st.new_texts is None:
                st.new_texts = [p.text]
            else:
                st.new_texts.append(p.text)
            versions.append(
                (vid, p.channel_id, p.message_id, st.version_no, p.text, p.entities, p.media,
                 p.content_hash, p.edit_date, p.seen, p.source, p.capture_id)
            )  # fmt: skip
            if p.raw_data is not None:
                raws.append((vid, p.raw_format, p.raw_sha256, p.raw_data))
            app.add("version", vid, [
                p.channel_id, p.message_id, st.version_no, p.content_hash, p.edit_date, p.seen,
                p.source, p.date, p.fwd_channel_id, p.fwd_name, p.fwd_message_id, p.fwd_date,
                p.post_author, p.grouped_id, p.reply_to, p.raw_format, p.raw_sha256,
                p.capture_id,
            ])  # fmt: skip
            kind: AlertKind = "new" if st.version_no == 1 else "edit"
            if rules or kind == "edit":
                alerts.append((kind, p))
        if p.engagement is not None:
            if not st.sample_loaded:
                if st.db_text is not None:
                    st.latest_sample, st.sample_at = _latest_sample(
                        conn, p.channel_id, p.message_id
                    )
                st.sample_loaded = True
            if st.latest_sample != p.engagement and (st.sample_at is None or st.sample_at < p.seen):
                st.latest_sample = p.engagement
                st.sample_at = p.seen
                samples.append((p.channel_id, p.message_id, p.seen, *p.engagement))
                app.add("engagement", None, [p.channel_id, p.message_id, p.seen, *p.engagement])

    rows = []
    updates = []
    counts = []
    fts_delete = []
    fts_insert = []
    for key, st in states.items():
        if st.latest is None:
            continue
        p = st.latest
        shown = st.shown
        row = new_posts.get(key)
        if row is not None:
            assert shown is not None  # a new post's first version is shown
            if st.version_no > 1:  # edited within this run: the row shows the newest
                row[3:8] = [shown.date, shown.text, shown.entities, shown.media_kind, shown.media]
                row[8:15] = [
                    shown.grouped_id,
                    shown.reply_to,
                    shown.fwd_channel_id,
                    shown.fwd_name,
                    shown.fwd_message_id,
                    shown.fwd_date,
                    shown.post_author,
                ]
                row[15:19] = [shown.links, shown.tme_refs, shown.lang, shown.edit_date]
            row[19], row[20] = st.version_id, st.version_no
            rows.append(row)
        elif shown is not None:
            updates.append(
                (shown.text, shown.entities, shown.media_kind, shown.media, shown.links,
                 shown.tme_refs, shown.lang, shown.edit_date, st.version_id, st.version_no,
                 shown.date, shown.fwd_channel_id, shown.fwd_name, shown.fwd_message_id,
                 shown.fwd_date, shown.post_author, shown.grouped_id, shown.reply_to, st.post_id)
            )  # fmt: skip
        else:
            counts.append((st.version_no, st.post_id))
        # The index holds every version's words: an edit replaces the post's
        # entry (contentless FTS: deleting needs the exact indexed body).
        new_texts = st.new_texts or []
        before = _texts_before(conn, key, st, st.version_no - len(new_texts))
        texts = [*before, *new_texts]
        body = p.body if len(texts) == 1 else index_body(texts)  # p.body: index_text(p.text)
        if before:
            old = index_body(before)
            if old:
                fts_delete.append(("delete", st.post_id, old, fts_meta(key[0], st.db_date or "")))
        if body:
            fts_insert.append((st.post_id, body, fts_meta(p.channel_id, p.date)))
    if rows:
        send(
            conn, f"INSERT INTO posts({_POST_COLS}) VALUES ({','.join('?' * 22)})", rows, many=True
        )
    if versions:
        send(
            conn,
            "INSERT INTO post_versions(id, channel_id, message_id, version_no, text, entities,"
            " media, content_hash, edit_date, captured_at, source, capture_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            versions,
            many=True,
        )
    if raws:
        send(
            conn,
            "INSERT INTO raw_payloads(version_id, format, sha256, data) VALUES (?,?,?,?)",
            raws,
            many=True,
        )
    app.flush(conn)
    if updates:
        send(
            conn,
            "UPDATE posts SET text=?, entities=?, media_kind=?, media=?, links=?, tme_refs=?,"
            " lang=?, edit_date=?, version_id=?, version_count=?, date=?, fwd_channel_id=?,"
            " fwd_name=?, fwd_message_id=?, fwd_date=?, post_author=?, grouped_id=?,"
            " reply_to_id=? WHERE id=?",
            updates,
            many=True,
        )
    if counts:
        send(conn, "UPDATE posts SET version_count=? WHERE id=?", counts, many=True)
    if is_postgres(conn):
        from telewatch.store import pg

        assert isinstance(conn, pg.PgConnection)
        pg.fts_write(conn, fts_delete, fts_insert)
    else:
        if fts_delete:
            conn.executemany(
                "INSERT INTO posts_fts(posts_fts, rowid, body, meta) VALUES (?,?,?,?)", fts_delete
            )
        if fts_insert:
            conn.executemany("INSERT INTO posts_fts(rowid, body, meta) VALUES (?,?,?)", fts_insert)
    n_samples = 0
    if samples:
        cur = conn.executemany(
            "INSERT OR IGNORE INTO engagement(channel_id, message_id, sampled_at, views,"
            " forwards, replies, reactions) VALUES (?,?,?,?,?,?,?)",
            samples,
        )
        n_samples = max(cur.rowcount, 0)
        conn.executemany(
            "UPDATE posts SET views=?, forwards=?, replies=? WHERE channel_id=? AND message_id=?",
            [(s[3], s[4], s[5], s[0], s[1]) for s in samples],
        )
    revived = _revive(
        conn, [(k, p) for p in posts if (st := states[k := (p.channel_id, p.message_id)]).deleted]
    )
    n_alerts = 0
    usernames: dict[int, str | None] = {}
    for kind_, p in alerts:
        if p.channel_id not in usernames:
            r = conn.execute("SELECT username FROM channels WHERE id=?", (p.channel_id,)).fetchone()
            usernames[p.channel_id] = r[0] if r else None
        n_alerts += evaluate(
            conn, rules, kind_, p.channel_id, p.message_id, p.text, usernames[p.channel_id], p.seen
        )
    return PostsStats(len(rows), len(versions), n_samples, n_alerts, revived)


def _revive(conn: sqlite3.Connection, seen: Sequence[tuple[tuple[int, int], PreparedPost]]) -> int:
    """Posts seen alive whose tombstone was only inferred (method ``import``:
    missing from an export's id range) are alive: record a ``revived``
    deletion change and clear posts.deleted_at (the tombstone stays).
    A deletion Telegram reported or reconciliation confirmed is not
    withdrawn by a capture, which may be older than the deletion."""
    done: set[tuple[int, int]] = set()
    n = 0
    for key, p in seen:
        if key in done:
            continue
        done.add(key)
        row = conn.execute(
            "SELECT d.id, d.method FROM posts p JOIN deletions d"
            " ON d.channel_id = p.channel_id AND d.message_id = p.message_id"
            " WHERE p.channel_id = ? AND p.message_id = ? AND p.deleted_at IS NOT NULL",
            key,
        ).fetchone()
        if row is None or row[1] != "import":
            continue
        cur = conn.execute(
            "INSERT INTO deletion_changes(channel_id, message_id, deletion_id, change,"
            " detected_at, source) VALUES (?,?,?,'revived',?,?)",
            (*key, row[0], p.seen, p.source),
        )
        assert cur.lastrowid is not None
        chain.append(conn, "deletion_change", cur.lastrowid, [*key, "revived", p.seen, p.source])
        conn.execute(
            "UPDATE posts SET deleted_at = NULL WHERE channel_id = ? AND message_id = ?", key
        )
        n += 1
    return n


def _source_class(source: str) -> str:
    return "export" if source == "import" else "telegram"


def _seen_before(
    conn: sqlite3.Connection, key: tuple[int, int], st: _State, p: PreparedPost
) -> bool:
    """Whether ``p``'s content is one the archive already has for this post,
    so that it makes no new version: the same content hash as any earlier
    version (an older export re-imported), or, from the other kind of
    source (a Desktop export vs the Telegram API), the same text and media
    kind: the two carry different media details (mime, sizes, names), and
    only the fields both carry are compared."""
    if st.version_no == 0:
        return False
    if st.history is None:
        st.history = [
            (str(r[0]), str(r[1]), r[2], str(r[3]))
            for r in conn.execute(
                "SELECT content_hash, text, json_extract(media, '$.kind'), source"
                " FROM post_versions WHERE channel_id = ? AND message_id = ? ORDER BY version_no",
                key,
            )
        ]
    mine = _source_class(p.source)
    for chash, text, kind, source in st.history:
        if chash == p.content_hash:
            return True
        if _source_class(source) != mine and text == p.text and kind == p.media_kind:
            return True
    return False


def _texts_before(
    conn: sqlite3.Connection, key: tuple[int, int], st: _State, archived: int
) -> list[str]:
    """Texts of the ``archived`` versions stored before this run, oldest first."""
    if archived == 0 or st.db_text is None:
        return []
    if archived == 1:
        return [st.db_text]  # posts.text mirrors the only version
    rows = conn.execute(
        "SELECT text FROM post_versions WHERE channel_id = ? AND message_id = ?"
        " AND version_no <= ? ORDER BY version_no",
        (*key, archived),
    ).fetchall()
    return [r[0] for r in rows]


def _latest_sample(
    conn: sqlite3.Connection, cid: int, mid: int
) -> tuple[tuple[Any, ...] | None, str | None]:
    row = conn.execute(
        "SELECT views, forwards, replies, reactions, sampled_at FROM engagement"
        " WHERE channel_id=? AND message_id=? ORDER BY sampled_at DESC LIMIT 1",
        (cid, mid),
    ).fetchone()
    return (None, None) if row is None else (tuple(row[:4]), row[4])
