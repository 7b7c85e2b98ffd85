"""Tamper evidence: every captured fact is a record in one sha256 hash chain
(table ``chain``), and ``verify`` recomputes the chain, checks every fact
row against its record and recomputes the derived columns (docs/EVIDENCE.md).

A record is a canonical JSON array (``json.dumps(list, separators=(",", ":"),
ensure_ascii=False)``) whose first two items are its kind and ``at``, the
writer's clock when it was chained (never earlier than the record before):

* ``["version", at, channel_id, message_id, version_no, content_hash,
  edit_date, captured_at, source, date, fwd_channel_id, fwd_name,
  fwd_message_id, fwd_date, post_author, grouped_id, reply_to_id,
  raw_format, raw_sha256, capture_id]``
* ``["deletion", at, channel_id, message_id, detected_at, method,
  last_seen_at]`` — the deletion window: alive at ``last_seen_at``, gone at
  ``detected_at``;
* ``["deletion_change", at, channel_id, message_id, change, detected_at,
  source]`` — an inferred (``import``) tombstone withdrawn because a later
  capture saw the post alive (``revived``), or put back by a later deletion
  (``deleted_again``); posts.deleted_at follows the newest change;
* ``["channel", at, channel_id, username, title, about, captured_at]`` — the
  channel's fields whenever one of them changes (or first becomes known);
* ``["engagement", at, channel_id, message_id, sampled_at, views, forwards,
  replies, reactions]`` (``reactions`` the stored JSON text or null);
* ``["capture", at, id, started_at, source, account, telewatch_version,
  telethon_version, api_layer, clock_offset_ms]`` — one capture session;
* ``["comment", at, group_id, message_id, kind, channel_id, post_message_id,
  thread, reply_to, author_id, author_name, author_username, captured_at]`` —
  a discussion-group message that is a post's discussion copy (``kind``
  ``copy``: channel_id, post_message_id) or a comment (``comment``: thread,
  reply_to, author), once (store/comments.py);
* ``["discussion_link", at, channel_id, group_id, seen_at]`` — the channel's
  linked discussion group when first seen or changed;
* ``["media", at, channel_id, message_id, version_no, role, state, kind,
  sha256, size, mime, file_unique_id, reason, decided_at]`` — a media
  reference of that version (role ``file`` or ``thumb``) stored (sha256 and
  size of the file's bytes), ``lost`` or ``not_in_export`` (with reason); the
  newest record of a reference is what ``media_refs`` shows (store/media.py);
* ``["phash", at, sha256, algo, phash]`` — the
  perceptual hash of one media file (store/phash.py);
* ``["migration", at, from_schema, old_head, old_records, migrated]`` — the
  ``migrated`` records that follow re-chain the facts of an older archive;
* ``poll``, ``poll_sample``, ``pin``, ``channel_action``, ``channel_photo``
  and ``subscribers``: polls, pins, service messages, channel photos and
  subscriber counts (store/events.py; formats in docs/EVIDENCE.md, checked
  by store/events_check.py).

``content_hash = sha256(json([text, entities, media]))`` (stored JSON strings
or null). The link is ``hash = sha256(prev_hash + sha256(record))`` in
lowercase hex; the first record's ``prev_hash`` is 64 zeros. Linking the
record's *hash* rather than the record means that the ordered list of record
hashes alone lets anyone recompute the head: an evidence bundle ships the
records of one post and the hashes of every other record up to an anchored
head, never the rest of the archive.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from typing import Any

from telewatch.store import events_check

GENESIS = "0" * 64
KINDS = (
    "version", "deletion", "deletion_change", "channel", "engagement", "capture", "migration",
    "comment", "discussion_link", "media", "phash",
    *events_check.KINDS,
)  # fmt: skip
# The string encoder json.dumps(..., ensure_ascii=False) applies to a str.
_json_str = encode_basestring
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# A record chained after a head a user wrote down may not claim a capture
# this long before that head (a backdated forgery appended later).
BACKDATE_SLACK = timedelta(minutes=10)


def now_iso() -> str:
    """The current time as archive time text (store.db.iso of now)."""
    return datetime.now(UTC).isoformat()[:19] + "Z"


def content_hash(text: str, entities: str | None, media: str | None) -> str:
    """sha256 hex of a version's canonical content (stored JSON strings)."""
    if isinstance(text, str) and _str_or_none(entities) and _str_or_none(media):
        # The canonical JSON of a list of strings/nulls, spelled out: the
        # encoder json.dumps uses for each string, without building an encoder
        # per call (tests/unit/test_store_chain.py checks it against json.dumps).
        canonical = f"[{_json_str(text)},{_json_or_null(entities)},{_json_or_null(media)}]"
    else:  # a tampered row (verify) may hold blobs: hashed, never a crash
        canonical = repr((text, entities, media))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


def encode(fields: Sequence[object]) -> str:
    """The canonical text of a record (a JSON array)."""
    return _dumps(list(fields))


def record_hash(record: str) -> str:
    """sha256 hex of a record's UTF-8 text."""
    return hashlib.sha256(record.encode()).hexdigest()


def link(prev_hash: str, record: str) -> str:
    """The chain hash of ``record`` following ``prev_hash``."""
    return link_hash(prev_hash, record_hash(record))


def link_hash(prev_hash: str, rhash: str) -> str:
    """The chain hash of a record whose sha256 is ``rhash``."""
    return hashlib.sha256((prev_hash + rhash).encode()).hexdigest()


def raw_digest(raw: bytes) -> str:
    """sha256 hex of a raw payload (uncompressed)."""
    return hashlib.sha256(raw).hexdigest()


def compress_raw(raw: bytes) -> bytes:
    """The stored (zlib) form of a raw payload."""
    return zlib.compress(raw, 1)  # level 1: the import's parser pays it per version


def decompress_raw(data: bytes) -> bytes:
    """The raw payload from its stored form; zlib.error when damaged."""
    return zlib.decompress(data)


@dataclass(frozen=True)
class Head:
    """The newest chain record: ``seq`` (= number of records), hash, ``at``."""

    seq: int
    hash: str
    at: str | None


def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(last seq, last hash) of the chain; (0, GENESIS) when empty."""
    h = head(conn)
    return h.seq, h.hash


def head(conn: sqlite3.Connection) -> Head:
    """The chain's head; ``Head(0, GENESIS, None)`` when empty."""
    row = conn.execute("SELECT seq, hash, at FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    return Head(0, GENESIS, None) if row is None else Head(int(row[0]), str(row[1]), row[2])


HEAD_COLUMNS = (
    "h.seq, h.hash, h.at FROM (SELECT 1 AS one) AS o LEFT JOIN"
    " (SELECT seq, hash, at FROM chain ORDER BY seq DESC LIMIT 1) AS h ON o.one = 1"
)
"""The head as three columns that end a SELECT (NULLs when the chain is
empty; ``head_of``): a caller that needs other values too reads them in
the same statement."""


def head_of(seq: object, hash_: object, at: object) -> Head:
    """The Head of a row read with ``HEAD_COLUMNS``."""
    if seq is None:
        return Head(0, GENESIS, None)
    return Head(int(str(seq)), str(hash_), None if at is None else str(at))


class Appender:
    """Appends records to the chain inside the caller's transaction.

    Holds the head in memory, so a run of records costs one executemany at
    ``flush``. Every record of one appender has the same ``at``: the writer's
    clock, never earlier than the head's."""

    def __init__(
        self, conn: sqlite3.Connection, at: str | None = None, *, known: Head | None = None
    ) -> None:
        """``known``: the head as the caller read it in this transaction
        (``HEAD_COLUMNS``), so that it is not read again."""
        h = known or head(conn)
        self.seq, self.prev = h.seq, h.hash
        now = at or now_iso()
        self.at = max(now, h.at) if h.at else now
        self.rows: list[tuple[Any, ...]] = []

    def add(self, kind: str, ref_id: int | None, fields: Sequence[object]) -> None:
        """Chain ``[kind, at, *fields]``."""
        rec = _dumps([kind, self.at, *fields])
        self.seq += 1
        h = link(self.prev, rec)
        self.rows.append((self.seq, kind, ref_id, self.at, rec, self.prev, h))
        self.prev = h

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write the records added so far."""
        if self.rows:
            from telewatch.store.db import send  # db imports this module

            send(
                conn,
                "INSERT INTO chain(seq, kind, ref_id, at, record, prev_hash, hash)"
                " VALUES (?,?,?,?,?,?,?)",
                self.rows,
                many=True,
            )
            self.rows = []


def append(
    conn: sqlite3.Connection, kind: str, ref_id: int | None, fields: Sequence[object]
) -> None:
    """Chain one record now (inside the caller's transaction)."""
    a = Appender(conn)
    a.add(kind, ref_id, fields)
    a.flush(conn)


def version_fields(
    channel_id: int,
    message_id: int,
    version_no: int,
    chash: str,
    edit_date: str | None,
    captured_at: str,
    source: str,
    post: Sequence[object],
    raw_format: str | None,
    raw_sha256: str | None,
    capture_id: str | None,
) -> list[object]:
    """The fields after ``at`` of a version record; ``post`` is (date,
    fwd_channel_id, fwd_name, fwd_message_id, fwd_date, post_author,
    grouped_id, reply_to_id)."""
    return [
        channel_id, message_id, version_no, chash, edit_date, captured_at, source, *post,
        raw_format, raw_sha256, capture_id,
    ]  # fmt: skip


def is_newer_current(edit_date: str | None, current_edit_date: str | None) -> bool:
    """Whether a later version (chain order) with Telegram edit date
    ``edit_date`` replaces the current one as the version the posts row shows.
    The rule (store.posts.write_prepared applies it too): the newest Telegram
    edit date, a tie going to the later capture; so an older export imported
    after a newer one adds its version without turning the post back."""
    return (edit_date or "") >= (current_edit_date or "")


def record_time(rec: Sequence[Any]) -> str | None:
    """The time of the fact a record states (capture, detection, sample)."""
    kind = rec[0]
    i = {"version": 7, "deletion": 4, "deletion_change": 5, "channel": 6, "engagement": 4,
         "capture": 3, "comment": 12, "discussion_link": 4, "media": 13,
         **events_check.TIME_INDEX}.get(kind)  # fmt: skip
    if i is None or len(rec) <= i:
        return None
    value = rec[i]
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """Outcome of ``verify``: ``ok`` or the first problem found, in words.

    ``head`` is the newest record (hash, count, time); ``expected`` tells
    whether ``expect_head`` was found (None when not asked)."""

    ok: bool
    records: int
    versions: int
    deletions: int
    problem: str | None = None
    seq: int | None = None
    head: str = GENESIS
    at: str | None = None
    channels: int = 0
    samples: int = 0
    captures: int = 0
    phashes: int = 0
    raw_payloads: int = 0
    media: int = 0
    migrated: int = 0
    events: int = 0
    """Poll, pin, service-message, photo and subscriber records (store/events.py)."""
    expected: bool | None = None
    after_expected: int = 0
    details: list[str] = field(default_factory=list)


class _Bad(Exception):
    def __init__(self, why: str, seq: int | None = None) -> None:
        super().__init__(why)
        self.seq = seq


_POST_COLS = (
    "date, fwd_channel_id, fwd_name, fwd_message_id, fwd_date, post_author, grouped_id, reply_to_id"
)


def verify(conn: sqlite3.Connection, expect_head: str | None = None) -> VerifyResult:
    """Recompute every link, check every fact row against its record and
    every derived column against the records, in chain order.

    Names the first chain record that does not match (a changed text, date,
    forward origin, channel field, engagement count or deletion; a removed,
    reordered or inserted record), a fact row missing from the chain, and a
    derived column (posts, channels) that disagrees with the records. With
    ``expect_head`` the chain must contain that hash, and no record after it
    may claim a capture long before it. Reads only; raises sqlite3.Error when
    the archive cannot be read."""
    res = VerifyResult(True, 0, 0, 0)
    try:
        _verify(conn, res, expect_head.strip().lower() if expect_head else None)
    except _Bad as bad:
        res.ok = False
        res.seq = bad.seq
        res.problem = f"chain record {bad.seq}: {bad}" if bad.seq is not None else str(bad)
    except (TypeError, ValueError, KeyError, IndexError) as err:
        # A record or row holding values of the wrong type (a forged record
        # whose link was recomputed): tampered, never a crash.
        res.ok = False
        res.problem = (
            f"after chain record {res.records}: a record or row holds values of the wrong"
            f" type ({type(err).__name__}: {err})"
        )
    return res


def _verify(conn: sqlite3.Connection, res: VerifyResult, expect: str | None) -> None:
    from telewatch.store import media  # store.media chains through this module

    prev = GENESIS
    last_at = ""
    versions: dict[tuple[int, int], list[Any]] = {}
    version_ids: set[int] = set()
    tombstones: dict[tuple[int, int], list[Any]] = {}
    deletion_ids: set[int] = set()
    snapshots: dict[int, list[list[Any]]] = {}
    samples: dict[tuple[int, int, str], list[Any]] = {}
    newest_sample: dict[tuple[int, int], list[Any]] = {}
    captures: dict[str, list[Any]] = {}
    changes: dict[int, list[Any]] = {}
    extra = events_check.Collected()
    comment_recs: dict[tuple[int, int], list[Any]] = {}
    link_recs: dict[int, list[Any]] = {}
    media_refs: dict[tuple[int, int, int, str], list[Any]] = {}
    phashes: dict[int, list[Any]] = {}
    expected_at: str | None = None
    migrating = 0
    rows = conn.execute(
        "SELECT c.seq, c.kind, c.ref_id, c.record, c.prev_hash, c.hash,"
        " v.channel_id, v.message_id, v.version_no, v.text, v.entities, v.media,"
        " v.content_hash, v.edit_date, v.captured_at, v.source, v.capture_id,"
        " r.format, r.sha256, r.data,"
        " d.channel_id, d.message_id, d.detected_at, d.method, d.last_seen_at"
        " FROM chain c"
        " LEFT JOIN post_versions v ON c.kind = 'version' AND v.id = c.ref_id"
        " LEFT JOIN raw_payloads r ON c.kind = 'version' AND r.version_id = c.ref_id"
        " LEFT JOIN deletions d ON c.kind = 'deletion' AND d.id = c.ref_id"
        " ORDER BY c.seq"
    )
    for r in rows:
        seq = r[0]
        res.records += 1
        if seq != res.records:
            raise _Bad(f"sequence number {seq} where {res.records} was due (records removed)", seq)
        if r[4] != prev:
            raise _Bad(
                f"prev_hash does not match record {seq - 1}'s hash (records removed or reordered)",
                seq,
            )
        text = r[3]
        if not isinstance(text, str):
            raise _Bad("the record is not text", seq)
        if link(prev, text) != r[5]:
            raise _Bad("record does not match its hash (the record was changed)", seq)
        prev = r[5]
        res.head, res.at = prev, None
        try:
            rec = json.loads(text)
        except ValueError:
            raise _Bad("the record is not JSON", seq) from None
        if not isinstance(rec, list) or len(rec) < 2 or rec[0] not in KINDS:
            raise _Bad("not a telewatch record", seq)
        kind, at = rec[0], rec[1]
        if not isinstance(at, str) or at < last_at:
            raise _Bad(f"record time {at!r} is before the previous record's {last_at}", seq)
        last_at = at
        res.at = at
        if r[1] != kind:
            raise _Bad(f"kind column {r[1]!r} does not match the record's {kind!r}", seq)
        if expected_at is not None:
            res.after_expected += 1
            t = record_time(rec)
            if t is not None and t < _minus(expected_at, BACKDATE_SLACK):
                raise _Bad(
                    f"{_describe(rec)} was chained after the expected head but claims {t},"
                    f" before that head ({expected_at}): a backdated record",
                    seq,
                )
        if expect is not None and prev == expect:
            expected_at = at
        if kind == "migration":
            migrating = _int(rec, 5)
            res.migrated += migrating
            continue
        migrating = max(0, migrating - 1)
        if kind == "version":
            _check_version(rec, r, seq, versions, version_ids)
            res.versions += 1
            if r[19] is not None:
                res.raw_payloads += 1
        elif kind == "deletion":
            _check_deletion(rec, r, seq, tombstones, deletion_ids)
            res.deletions += 1
        elif kind == "deletion_change":
            if len(rec) != 7 or rec[4] not in ("revived", "deleted_again"):
                raise _Bad("malformed deletion_change record", seq)
            if not isinstance(r[2], int) or r[2] in changes:
                raise _Bad(f"{_describe(rec)}: bad or repeated deletion_changes id", seq)
            if (rec[2], rec[3]) not in tombstones:
                raise _Bad(f"{_describe(rec)}: the post has no chained deletion before it", seq)
            changes[r[2]] = rec
        elif kind == "channel":
            if len(rec) != 7:
                raise _Bad("malformed channel record", seq)
            snapshots.setdefault(rec[2], []).append(rec)
        elif kind == "engagement":
            if len(rec) != 9:
                raise _Bad("malformed engagement record", seq)
            key = (rec[2], rec[3], rec[4])
            if key in samples:
                raise _Bad(f"{_describe(rec)} is chained twice", seq)
            samples[key] = rec
            post = (rec[2], rec[3])
            if post not in newest_sample or rec[4] >= newest_sample[post][4]:
                newest_sample[post] = rec
        elif kind == "capture":
            if len(rec) != 10:
                raise _Bad("malformed capture record", seq)
            captures[rec[2]] = rec
        elif kind in events_check.LENGTHS:
            res.events += 1
            why = extra.add(rec, r[2])
            if why is not None:
                raise _Bad(why, seq)
        elif kind == "comment":
            if len(rec) != 13 or rec[4] not in ("copy", "comment"):
                raise _Bad("malformed comment record", seq)
            if (rec[2], rec[3]) in comment_recs:
                raise _Bad(f"the comment row of {rec[2]}/{rec[3]} is chained twice", seq)
            comment_recs[(rec[2], rec[3])] = rec
        elif kind == "discussion_link":
            if len(rec) != 5 or not isinstance(r[2], int) or r[2] in link_recs:
                raise _Bad("malformed or repeated discussion_link record", seq)
            link_recs[r[2]] = rec
        elif kind == "media":
            post_versions = versions.get((rec[2], rec[3])) if len(rec) > 3 else None
            why = media.check_record(rec, post_versions[0] if post_versions else 0)
            if why is not None:
                raise _Bad(why, seq)
            mkey = (rec[2], rec[3], rec[4], rec[5])
            media_refs.pop(mkey, None)  # keeps the dict in order of last record
            media_refs[mkey] = rec
            res.media += 1
        elif kind == "phash":
            if len(rec) != 5 or not isinstance(r[2], int) or r[2] in phashes:
                raise _Bad("malformed or repeated phash record", seq)
            phashes[r[2]] = rec
    if expect is not None:
        res.expected = expected_at is not None or expect == GENESIS
        if not res.expected:
            raise _Bad(
                f"the chain does not contain the expected head {expect}: records were"
                " removed or the chain was rewritten since that head was written down"
            )
    res.channels = len(snapshots)
    res.samples = len(samples)
    res.captures = len(captures)
    res.phashes = len(phashes)
    _check_tables(conn, version_ids, deletion_ids)
    _check_deletion_changes(conn, changes)
    _check_posts(conn, versions, tombstones, newest_sample, changes)
    _check_engagement(conn, samples)
    _check_channels(conn, snapshots)
    _check_captures(conn, captures)
    why = events_check.check(conn, extra)
    if why is not None:
        raise _Bad(why)
    from telewatch.store.comments import check_rows  # comments uses this module

    problem = check_rows(conn, comment_recs, link_recs)
    if problem is not None:
        raise _Bad(problem)
    problem = media.check_rows(conn, media_refs)
    if problem is not None:
        raise _Bad(problem)
    _check_phashes(conn, phashes)


def _minus(at: str, delta: timedelta) -> str:
    try:
        t = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return at
    return (t - delta).isoformat()[:19] + "Z"


def _int(rec: list[Any], i: int) -> int:
    v = rec[i] if len(rec) > i else 0
    return v if isinstance(v, int) else 0


def _describe(rec: Sequence[Any]) -> str:
    kind = rec[0]
    if kind == "version" and len(rec) > 4:
        return f"version {rec[4]} of post {rec[2]}/{rec[3]}"
    if kind == "deletion" and len(rec) > 3:
        return f"the deletion of post {rec[2]}/{rec[3]}"
    if kind == "deletion_change" and len(rec) > 4:
        return f"the {rec[4]} change of post {rec[2]}/{rec[3]}'s deletion"
    if kind == "engagement" and len(rec) > 4:
        return f"the engagement sample of post {rec[2]}/{rec[3]} at {rec[4]}"
    if kind == "channel" and len(rec) > 2:
        return f"channel {rec[2]}'s fields"
    if kind == "capture" and len(rec) > 2:
        return f"capture session {rec[2]}"
    if kind == "media" and len(rec) > 5:
        return f"the media {rec[5]} of version {rec[4]} of post {rec[2]}/{rec[3]}"
    return f"a {kind} record"


def _check_version(
    rec: list[Any],
    r: sqlite3.Row | tuple[Any, ...],
    seq: int,
    versions: dict[tuple[int, int], list[Any]],
    version_ids: set[int],
) -> None:
    if len(rec) != 20:
        raise _Bad("malformed version record", seq)
    where = _describe(rec)
    if r[6] is None:
        raise _Bad(f"{where}: its post_versions row {r[2]} is missing", seq)
    where += f" (post_versions.id {r[2]})"
    if content_hash(r[9], r[10], r[11]) != rec[5] or r[12] != rec[5]:
        raise _Bad(f"{where}: text, entities or media changed after capture", seq)
    stored = (r[6], r[7], r[8], r[13], r[14], r[15], r[16])
    chained = (rec[2], rec[3], rec[4], rec[6], rec[7], rec[8], rec[19])
    if stored != chained:
        names = ("channel_id", "message_id", "version_no", "edit_date", "captured_at", "source",
                 "capture_id")  # fmt: skip
        diff = [n for n, a, b in zip(names, stored, chained, strict=True) if a != b]
        raise _Bad(f"{where}: {', '.join(diff)} changed after capture", seq)
    raw_fmt, raw_hash = rec[17], rec[18]
    if raw_hash is not None:
        if r[19] is None:
            raise _Bad(f"{where}: its raw payload is missing", seq)
        try:
            data = decompress_raw(r[19]) if isinstance(r[19], bytes) else None
        except zlib.error:
            data = None
        if data is None or raw_digest(data) != raw_hash or r[18] != raw_hash or r[17] != raw_fmt:
            raise _Bad(f"{where}: its raw payload changed after capture", seq)
    elif r[19] is not None:
        raise _Bad(f"{where}: a raw payload was added after capture", seq)
    ref = int(r[2])
    if ref in version_ids:
        raise _Bad(f"{where}: chained twice", seq)
    version_ids.add(ref)
    # Per post only what the posts row must show: [count, current version_no,
    # post_versions.id, content hash, edit_date, post facts] (memory stays
    # small on million-post archives).
    key = (rec[2], rec[3])
    post = versions.get(key)
    if post is None:
        versions[key] = [1, rec[4], ref, rec[5], rec[6], tuple(rec[9:17])]
    else:
        post[0] += 1
        if is_newer_current(rec[6], post[4]):
            post[1:] = [rec[4], ref, rec[5], rec[6], tuple(rec[9:17])]


def _check_deletion(
    rec: list[Any],
    r: sqlite3.Row | tuple[Any, ...],
    seq: int,
    tombstones: dict[tuple[int, int], list[Any]],
    deletion_ids: set[int],
) -> None:
    if len(rec) != 7:
        raise _Bad("malformed deletion record", seq)
    where = _describe(rec)
    if r[20] is None:
        raise _Bad(f"{where}: its deletions row {r[2]} is missing", seq)
    if (r[20], r[21], r[22], r[23], r[24]) != (rec[2], rec[3], rec[4], rec[5], rec[6]):
        raise _Bad(f"{where} (deletions.id {r[2]}): changed after capture", seq)
    deletion_ids.add(int(r[2]))
    tombstones[(rec[2], rec[3])] = rec


def _check_tables(conn: sqlite3.Connection, version_ids: set[int], deletion_ids: set[int]) -> None:
    for table, seen in (("post_versions", version_ids), ("deletions", deletion_ids)):
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count != len(seen):
            for (rid,) in conn.execute(f"SELECT id FROM {table} ORDER BY id"):
                if rid not in seen:
                    raise _Bad(f"{table} row {rid} is not in the chain (added outside telewatch)")
    for (vid,) in conn.execute("SELECT version_id FROM raw_payloads"):
        if vid not in version_ids:
            raise _Bad(f"raw_payloads row {vid} belongs to no chained version")


def _check_posts(
    conn: sqlite3.Connection,
    versions: dict[tuple[int, int], list[Any]],
    tombstones: dict[tuple[int, int], list[Any]],
    newest_sample: dict[tuple[int, int], list[Any]],
    changes: dict[int, list[Any]],
) -> None:
    """Every posts row shows its current chained version, its tombstone (as
    changed by chained deletion changes, in order) and its newest chained
    engagement sample."""
    deleted_at = {key: tomb[4] for key, tomb in tombstones.items()}
    for _, ch in sorted(changes.items()):
        deleted_at[(ch[2], ch[3])] = None if ch[4] == "revived" else ch[5]
    seen: set[tuple[int, int]] = set()
    for p in conn.execute(
        "SELECT channel_id, message_id, text, entities, media, edit_date, version_id,"
        f" version_count, deleted_at, views, forwards, replies, {_POST_COLS} FROM posts"
    ):
        key = (p[0], p[1])
        where = f"posts row {p[0]}/{p[1]}"
        post = versions.get(key)
        if not post:
            raise _Bad(f"{where} has no chained version (added outside telewatch)")
        seen.add(key)
        count, _, ref, chash, edit_date, facts = post
        shown = (content_hash(p[2], p[3], p[4]), p[5], p[6], p[7])
        derived = (chash, edit_date, ref, count)
        names = ("text, entities or media", "edit_date", "version_id", "version_count")
        diff = [n for n, a, b in zip(names, shown, derived, strict=True) if a != b]
        if tuple(p[12:20]) != facts:
            diff.append("publication date or forward origin")
        if p[8] != deleted_at.get(key):
            diff.append("deleted_at")
        sample = newest_sample.get(key)
        counts = (sample[5], sample[6], sample[7]) if sample else (None, None, None)
        if tuple(p[9:12]) != counts:
            diff.append("views/forwards/replies")
        if diff:
            raise _Bad(f"{where}: {', '.join(diff)} differ from the chained records")
    if len(seen) != len(versions):
        cid, mid = min(set(versions) - seen)
        raise _Bad(f"post {cid}/{mid} has chained versions but no posts row (removed)")


def _check_deletion_changes(conn: sqlite3.Connection, changes: dict[int, list[Any]]) -> None:
    """The deletion_changes rows are exactly the chained ones."""
    n = 0
    for c in conn.execute(
        "SELECT id, channel_id, message_id, change, detected_at, source FROM deletion_changes"
    ):
        rec = changes.get(c[0])
        if rec is None or tuple(c[1:]) != tuple(rec[2:7]):
            raise _Bad(
                f"deletion_changes row {c[0]} is not as chained (added or changed outside telewatch)"
            )
        n += 1
    if n != len(changes):
        raise _Bad(f"{len(changes) - n} chained deletion change(s) were removed")


def _check_engagement(
    conn: sqlite3.Connection, samples: dict[tuple[int, int, str], list[Any]]
) -> None:
    n = 0
    for e in conn.execute(
        "SELECT channel_id, message_id, sampled_at, views, forwards, replies, reactions"
        " FROM engagement"
    ):
        rec = samples.get((e[0], e[1], e[2]))
        if rec is None:
            raise _Bad(
                f"engagement sample {e[0]}/{e[1]} at {e[2]} is not in the chain"
                " (added or changed outside telewatch)"
            )
        if tuple(e[3:7]) != tuple(rec[5:9]):
            raise _Bad(f"engagement sample {e[0]}/{e[1]} at {e[2]}: counts changed after capture")
        n += 1
    if n != len(samples):
        raise _Bad(f"{len(samples) - n} chained engagement sample(s) were removed")


def _check_channels(conn: sqlite3.Connection, snapshots: dict[int, list[list[Any]]]) -> None:
    """channels' username/title/about are the newest chained snapshot; the
    channel_changes rows are exactly the differences between snapshots."""
    expected: list[tuple[Any, ...]] = []
    for cid, snaps in snapshots.items():
        for a, b in itertools.pairwise(snaps):
            for i, name in ((3, "username"), (4, "title"), (5, "about")):
                if a[i] is not None and a[i] != b[i]:
                    expected.append((cid, name, a[i], b[i], b[6]))
    stored = [
        tuple(r)
        for r in conn.execute(
            "SELECT channel_id, field, old_value, new_value, captured_at FROM channel_changes"
        )
    ]
    if sorted(map(repr, stored)) != sorted(map(repr, expected)):
        extra = set(stored) - set(expected)
        what = f"{extra.pop()!r}" if extra else "a chained change was removed"
        raise _Bad(f"channel_changes differ from the chained channel records: {what}")
    for c in conn.execute("SELECT id, username, title, about FROM channels"):
        chained = snapshots.get(c[0])
        last = chained[-1] if chained else [None] * 7
        if (c[1], c[2], c[3]) != (last[3], last[4], last[5]):
            raise _Bad(f"channel {c[0]}: username, title or about differ from the chained records")
    known = {r[0] for r in conn.execute("SELECT id FROM channels")}
    for cid in snapshots:
        if cid not in known:
            raise _Bad(f"channel {cid} has chained records but no channels row (removed)")


def _check_captures(conn: sqlite3.Connection, captures: dict[str, list[Any]]) -> None:
    n = 0
    for c in conn.execute(
        "SELECT id, started_at, source, account, telewatch_version, telethon_version,"
        " api_layer, clock_offset_ms FROM capture_sessions"
    ):
        rec = captures.get(c[0])
        if rec is None or tuple(c) != tuple(rec[2:10]):
            raise _Bad(f"capture session {c[0]} is not as chained (changed outside telewatch)")
        n += 1
    if n != len(captures):
        raise _Bad(f"{len(captures) - n} chained capture session(s) were removed")


def _check_phashes(conn: sqlite3.Connection, phashes: dict[int, list[Any]]) -> None:
    from telewatch.store import phash  # phash imports this module

    problem = phash.check_rows(conn, phashes)
    if problem is not None:
        raise _Bad(problem)


# --------------------------------------------------------------------------
# Reading records (evidence bundles)
# --------------------------------------------------------------------------


def records_of_post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> list[int]:
    """Seqs of every record about one post (versions, deletion, samples,
    poll, poll samples, pin events, media)."""
    seqs = [
        int(r[0])
        for r in conn.execute(
            "SELECT c.seq FROM chain c JOIN post_versions v ON c.kind='version' AND v.id=c.ref_id"
            " WHERE v.channel_id=? AND v.message_id=?"
            " UNION SELECT c.seq FROM chain c JOIN deletions d"
            " ON c.kind='deletion' AND d.id=c.ref_id WHERE d.channel_id=? AND d.message_id=?"
            " UNION SELECT c.seq FROM chain c JOIN deletion_changes x"
            " ON c.kind='deletion_change' AND x.id=c.ref_id"
            " WHERE x.channel_id=? AND x.message_id=?"
            " UNION SELECT c.seq FROM chain c JOIN media_refs m"
            " ON c.kind='media' AND m.id=c.ref_id WHERE m.channel_id=? AND m.message_id=?",
            (
                channel_id,
                message_id,
                channel_id,
                message_id,
                channel_id,
                message_id,
                channel_id,
                message_id,
            ),
        )
    ]
    prefix = '["engagement",'
    like = f',{channel_id},{message_id},"%'
    for seq, rec in conn.execute(
        "SELECT seq, record FROM chain WHERE kind='engagement' AND record LIKE ?",
        (f"%{like}",),
    ):
        if rec.startswith(prefix):
            seqs.append(int(seq))
    # Its poll, poll samples and pin events (store/events.py): [kind, at, cid, mid, ...].
    for seq, rec in conn.execute(
        "SELECT seq, record FROM chain WHERE kind IN ('poll', 'poll_sample', 'pin')"
        " AND record LIKE ?",
        (f"%,{channel_id},{message_id},%",),
    ):
        fields = json.loads(rec)
        if fields[2:4] == [channel_id, message_id]:
            seqs.append(int(seq))
    return sorted(seqs)


def iter_records(conn: sqlite3.Connection, lo: int, hi: int) -> Iterator[tuple[int, str, str, str]]:
    """(seq, record, prev_hash, hash) of records ``lo..hi`` in order."""
    for r in conn.execute(
        "SELECT seq, record, prev_hash, hash FROM chain WHERE seq BETWEEN ? AND ? ORDER BY seq",
        (lo, hi),
    ):
        yield int(r[0]), str(r[1]), str(r[2]), str(r[3])


def record_at(conn: sqlite3.Connection, seq: int) -> tuple[str, str, str] | None:
    """(record, prev_hash, hash) of record ``seq``."""
    r = conn.execute("SELECT record, prev_hash, hash FROM chain WHERE seq=?", (seq,)).fetchone()
    return None if r is None else (str(r[0]), str(r[1]), str(r[2]))


def seq_of_hash(conn: sqlite3.Connection, h: str) -> int | None:
    """The seq of the record whose chain hash is ``h``."""
    r = conn.execute("SELECT seq FROM chain WHERE hash=?", (h,)).fetchone()
    return None if r is None else int(r[0])
