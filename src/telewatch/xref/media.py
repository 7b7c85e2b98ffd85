"""Media as evidence: the files a post carries, and the posts in other
channels that carry the same picture.

``trace`` (xref/provenance.py) asks ``media_spread`` for every post whose
stored media matches one of the traced post's files: the same bytes
(``same-media``, distance 0) or, by perceptual hash, the same picture
re-encoded, rescaled or stripped of its metadata (``similar-media``, the
pHash distance in bits as evidence; store/phash.py). No forward header and
no shared word are needed: a re-upload of a photo without credit is found
by what it shows. ``xref`` adds ``post_media`` to each match's evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telewatch.store import media_match, phash
from telewatch.store.db import Connection


@dataclass(frozen=True, slots=True)
class MediaEvidence:
    """Why a post's media matches the traced post's: its file ``sha256``
    against the traced file ``query_sha256``, ``distance`` bits apart
    (0 and ``exact`` for identical bytes)."""

    sha256: str
    query_sha256: str
    distance: int
    exact: bool
    role: str
    kind: str | None

    @property
    def similarity(self) -> float:
        """1 - distance/64 (1.0 for identical bytes)."""
        return 1.0 - self.distance / 64

    def to_json(self) -> dict[str, object]:
        """JSON form (``trace --json`` ``spread[].media``)."""
        return {
            "match": "same-file" if self.exact else "perceptual",
            "sha256": self.sha256,
            "traced_sha256": self.query_sha256,
            "phash_distance": self.distance,
            "role": self.role,
            "kind": self.kind,
        }


def media_spread(
    conn: Connection,
    posts: Iterable[tuple[int, int]],
    max_distance: int = phash.NEAR_DISTANCE,
) -> dict[tuple[int, int], MediaEvidence]:
    """(channel_id, message_id) → the best media evidence, for every post
    (other than ``posts`` themselves) carrying a stored file that matches a
    stored file of any of ``posts``: nearest first, exact before perceptual."""
    own = set(posts)
    best: dict[tuple[int, int], MediaEvidence] = {}
    for cid, mid in own:
        for item in media_match.stored_media_of_post(conn, cid, mid):
            for m in media_match.matches_of_file(conn, item.sha256, item.phash, max_distance):
                key = (m.item.channel_id, m.item.message_id)
                if key in own:
                    continue
                ev = MediaEvidence(
                    m.item.sha256, item.sha256, m.distance, m.exact, m.item.role, m.item.kind
                )
                old = best.get(key)
                if old is None or (ev.distance, not ev.exact) < (old.distance, not old.exact):
                    best[key] = ev
    return best


def post_media(conn: Connection, channel_id: int, message_id: int) -> list[dict[str, object]]:
    """A post's media references as evidence (store.media_match.media_entries):
    each version's file and thumbnail, its state, and when stored its
    SHA-256, size, mime, path and perceptual hash."""
    return media_match.media_entries(conn, channel_id, message_id)


def describe(entry: dict[str, object]) -> str:
    """One line for a ``post_media`` entry (CLI output)."""
    what = f"v{entry['version']} {entry['kind'] or 'media'}"
    if entry["role"] == "thumb":
        what += " thumbnail"
    if entry["state"] == "stored":
        sha = str(entry["sha256"])
        return f"{what}: {sha[:16]}… {entry['size']} bytes {entry['mime'] or ''}".rstrip()
    reason = f" ({entry['reason']})" if entry.get("reason") else ""
    return f"{what}: {entry['state']}{reason}"


def attach_media(conn: Connection, matches: Iterable[Any]) -> None:
    """Add ``post_media`` (``post_media``'s list; [] without media) to the
    evidence of each xref match (objects with ``post`` and ``evidence``)."""
    for m in matches:
        m.evidence["post_media"] = post_media(conn, m.post.channel_id, m.post.message_id)
