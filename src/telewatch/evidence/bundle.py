"""Evidence bundles: one zip per request holding, for each post, every
version with its raw payload, the chain records about it, the record hashes
needed to recompute the chain up to an anchored head, the RFC 3161 tokens
and trust roots, a stdlib-only ``verify.py`` and a plain-words README.txt
(layout in docs/EVIDENCE.md)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from telewatch import __version__
from telewatch.models import UserError
from telewatch.store.anchors import anchors
from telewatch.store.chain import head, record_at
from telewatch.store.db import Connection
from telewatch.store.evidence import post_versions, record_hashes, related_seqs

FORMAT = "telewatch-evidence-1"
_VERIFY = Path(__file__).with_name("verify_bundle.py")


@dataclass(frozen=True)
class PostRef:
    """A post to put in the bundle, with what the reader should see."""

    channel_id: int
    message_id: int
    label: str  # @username/ID or id/ID
    url: str | None


@dataclass(frozen=True)
class BundleSummary:
    """What ``write_bundle`` put in the zip."""

    path: Path
    posts: int
    versions: int
    records: int
    from_seq: int
    to_seq: int
    anchors: int
    anchored: bool


def write_bundle(
    conn: Connection, posts: Sequence[PostRef], out: Path, roots: Sequence[Path]
) -> BundleSummary:
    """Write the bundle for ``posts`` to ``out`` (a zip). The chain span runs
    from the first record about any of the posts to the earliest anchored
    record after the last one (or the current head when none is anchored).
    Raises UserError when a post has no chained version."""
    h = head(conn)
    needed: set[int] = set()
    manifest_posts = []
    files: dict[str, bytes] = {}
    n_versions = 0
    last_post_record = 0
    for ref in posts:
        versions = post_versions(conn, ref.channel_id, ref.message_id)
        if not versions or any(v.seq is None for v in versions):
            raise UserError(f"{ref.label} has no chained versions in the archive")
        seqs = related_seqs(conn, ref.channel_id, ref.message_id)
        needed.update(seqs)
        last_post_record = max(last_post_record, *(v.seq or 0 for v in versions), *seqs)
        base = f"posts/{ref.channel_id}_{ref.message_id}"
        entries = []
        for v in versions:
            content = f"{base}/v{v.version_no}.json"
            files[content] = (
                json.dumps(
                    {"text": v.text, "entities": v.entities, "media": v.media},
                    ensure_ascii=False,
                    indent=1,
                )
                + "\n"
            ).encode()
            raw_name = None
            if v.raw is not None:
                ext = "json" if v.raw_format == "export-json" else "tl"
                raw_name = f"{base}/v{v.version_no}.raw.{ext}"
                files[raw_name] = v.raw
            entries.append(
                {"version_no": v.version_no, "seq": v.seq, "content": content,
                 "raw": raw_name, "raw_format": v.raw_format}
            )  # fmt: skip
            n_versions += 1
        manifest_posts.append(
            {"channel_id": ref.channel_id, "message_id": ref.message_id, "label": ref.label,
             "url": ref.url, "versions": entries}
        )  # fmt: skip
    stored = anchors(conn)
    covering = sorted({a.seq for a in stored if a.seq >= last_post_record})
    to_seq = covering[0] if covering else h.seq
    lo = min(needed)
    chosen = [a for a in stored if lo <= a.seq <= to_seq]
    if covering:
        chosen = [a for a in chosen if a.seq == to_seq] + [a for a in chosen if a.seq != to_seq]
    prev = record_at(conn, lo)
    top = record_at(conn, to_seq)
    assert prev is not None and top is not None
    hashes = [rh for _, rh in record_hashes(conn, lo, to_seq)]
    records = []
    for seq in sorted(s for s in needed if s <= to_seq):
        rec = record_at(conn, seq)
        assert rec is not None
        records.append(json.dumps({"seq": seq, "record": rec[0]}, ensure_ascii=False))
    files["chain/records.jsonl"] = ("\n".join(records) + "\n").encode()
    files["chain/hashes.txt"] = ("\n".join(hashes) + "\n").encode()
    manifest_anchors = []
    for i, a in enumerate(chosen, 1):
        name = f"anchors/{i}-record{a.seq}.tsr"
        files[name] = a.token
        manifest_anchors.append(
            {"token": name, "tsa": a.tsa, "seq": a.seq, "hash": a.hash, "gen_time": a.gen_time}
        )
    for i, r in enumerate(roots, 1):
        try:
            files[f"certs/root-{i}.pem"] = Path(r).read_bytes()
        except OSError as err:
            raise UserError(f"[evidence] tsa_roots: cannot read {r} ({err.strerror})") from None
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat()[:19] + "Z",
        "telewatch_version": __version__,
        "archive_head": {"seq": h.seq, "hash": h.hash, "at": h.at},
        "chain": {"from_seq": lo, "prev_hash": prev[1], "to_seq": to_seq, "to_hash": top[2],
                  "anchored": bool(covering)},
        "posts": manifest_posts,
        "anchors": manifest_anchors,
    }  # fmt: skip
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode()
    files["verify.py"] = _VERIFY.read_bytes()
    files["README.txt"] = _readme(manifest_posts, manifest_anchors, lo, to_seq, bool(covering))
    tmp = out.with_name(out.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name in sorted(files):
                z.writestr(f"evidence/{name}", files[name])
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {out}: {err.strerror}") from None
    return BundleSummary(
        out, len(posts), n_versions, len(records), lo, to_seq, len(manifest_anchors),
        bool(covering),
    )  # fmt: skip


def _readme(
    posts: list[dict[str, object]],
    tokens: list[dict[str, object]],
    lo: int,
    hi: int,
    anchored: bool,
) -> bytes:
    lines = [
        "TELEWATCH EVIDENCE BUNDLE",
        "",
        "This folder holds what the telewatch archive recorded of these Telegram posts:",
    ]
    for p in posts:
        versions = p["versions"]
        assert isinstance(versions, list)
        lines.append(f"  {p['label']}  {p['url'] or ''}  ({len(versions)} version(s))")
    lines += [
        "",
        "For each version: posts/<channel>_<message>/vN.json is the text, formatting and",
        "media summary as archived; vN.raw.* is the message exactly as received (Telegram's",
        "own encoding, or the JSON object of a Telegram Desktop export).",
        "",
        "How to check it: in this folder run   python3 -I verify.py",
        "It needs only Python 3 (and the openssl command for the timestamp signatures).",
        "",
        "What a pass proves:",
        "  * each version file and raw payload is byte for byte what the archive chained;",
        f"  * those records are linked, by SHA-256, into the archive's hash chain (records {lo}",
        f"    to {hi}); changing, removing or inserting any record changes record {hi}'s hash;",
    ]
    if anchored and tokens:
        lines += [
            f"  * record {hi}'s hash was stamped by an independent time-stamping authority",
            "    (RFC 3161 tokens in anchors/): the records existed, as they are, at the",
            "    token's time. Nobody, the archive's owner included, can change them since",
            "    without the check failing.",
        ]
    else:
        lines += [
            "  * NOT YET ANCHORED: no RFC 3161 token covers these records yet. The bundle",
            f"    proves they are part of the chain ending at record {hi}'s hash; compare that",
            "    hash with one the archive's owner published or anchored later.",
        ]
    lines += [
        "",
        "What it does not prove: that Telegram showed the same to everyone, or that the",
        "capture itself was honest before it was chained (see the capture log records in",
        "chain/records.jsonl: account, software versions, clock offset). A deletion record",
        "gives a window: the post was last seen alive at one time and found gone at another.",
        "",
    ]
    return "\n".join(lines).encode()
