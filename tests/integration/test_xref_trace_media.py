"""`trace` by media: re-uploads of the same picture in other channels, found
by perceptual hash with no forward header and no shared text."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.sources.desktop_export import import_paths
from telewatch.store import phash
from telewatch.store.db import connect
from telewatch.xref.provenance import trace
from tests.fixtures.media import ALPHA_ID, BETA_ID, MediaExports, sha256


def _archive(tmp_path: Path, ex: MediaExports) -> Path:
    db = tmp_path / "a.db"
    import_paths(db, [ex.alpha, ex.beta])
    return db


def test_trace_finds_a_reencoded_copy_without_forward_header(
    tmp_path: Path, media_exports: MediaExports
) -> None:
    """alpha/1's photo, cropped a little, rescaled, brightened and
    recompressed, posted by beta/20 with other words and no forward header, is in alpha/1's spread
    as similar-media with its pHash distance; the unrelated beta/22 is not."""
    ex = media_exports
    assert sha256(ex.photo) != sha256(ex.copy)
    conn = connect(_archive(tmp_path, ex))
    res = trace(conn, ALPHA_ID, 1)
    spread = {(s.post.channel_id, s.post.message_id): s for s in res.spread[1:]}
    assert set(spread) == {(BETA_ID, 20)}
    item = spread[(BETA_ID, 20)]
    assert item.kind == "similar-media" and item.media is not None
    a, b = phash.compute(ex.photo), phash.compute(ex.copy)
    assert a is not None and b is not None
    assert 0 < item.media.distance == phash.distance(a, b) <= phash.NEAR_DISTANCE
    assert (item.media.sha256, item.media.query_sha256) == (sha256(ex.copy), sha256(ex.photo))
    assert not item.media.exact and item.delay_minutes == 40
    assert trace(conn, ALPHA_ID, 1, media_distance=None).spread[1:] == []
    conn.close()


def test_trace_finds_the_same_video_file_and_earlier_posts(
    tmp_path: Path, media_exports: MediaExports
) -> None:
    """beta/21 carries alpha/2's video byte for byte: same-media, distance 0,
    found from either side (alpha's post, 40 minutes earlier, too)."""
    conn = connect(_archive(tmp_path, media_exports))
    res = trace(conn, BETA_ID, 21)
    (item,) = res.spread[1:]
    assert (item.post.channel_id, item.post.message_id, item.kind) == (ALPHA_ID, 2, "same-media")
    assert item.media is not None and item.media.exact and item.media.distance == 0
    assert item.delay_minutes == -40
    (back,) = trace(conn, ALPHA_ID, 2).spread[1:]
    assert (back.post.message_id, back.kind) == (21, "same-media")
    conn.close()


def test_trace_cli_shows_media_evidence(tmp_path: Path, media_exports: MediaExports) -> None:
    """`trace --json` gives each match's media evidence and the origin's
    files; the text output names the distance; --media-distance 0 keeps only
    identical pictures."""
    db = _archive(tmp_path, media_exports)
    run = CliRunner()
    r = run.invoke(main, ["--db", str(db), "trace", "alpha_wire/1", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    (origin_file,) = doc["origin"]["media"]
    assert origin_file["sha256"] == sha256(media_exports.photo)
    assert origin_file["state"] == "stored" and origin_file["phash"]
    (copy,) = doc["spread"][1:]
    assert copy["kind"] == "similar-media" and copy["message_id"] == 20
    assert copy["media"]["match"] == "perceptual" and 0 < copy["media"]["phash_distance"] <= 10
    text = run.invoke(main, ["--db", str(db), "trace", "alpha_wire/1"])
    assert "similar-media @beta_mirror/20" in text.output
    assert "the same picture re-encoded, pHash distance" in text.output
    strict = run.invoke(main, ["--db", str(db), "trace", "alpha_wire/1", "--media-distance", "0"])
    assert strict.exit_code == 0 and "@beta_mirror/20" not in strict.output


def test_xref_shows_each_matchs_media(tmp_path: Path, media_exports: MediaExports) -> None:
    """`xref --json`: every match carries post_media (its files with state,
    sha256, size, path); the photo post's file is there, stored."""
    db = _archive(tmp_path, media_exports)
    article = tmp_path / "article.txt"
    article.write_text(
        "Alpha Wire reported on its Telegram channel (t.me/alpha_wire) that a crater"
        " appeared at the bridge this morning.",
        encoding="utf-8",
    )
    r = CliRunner().invoke(
        main,
        ["--db", str(db), "xref", str(article), "--published", "2024-05-06T12:00:00+00:00",
         "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    matches = {m["message_id"]: m for m in json.loads(r.output)["matches"]}
    assert 1 in matches
    (photo,) = matches[1]["evidence"]["post_media"]
    assert photo["state"] == "stored" and photo["sha256"] == sha256(media_exports.photo)
    assert photo["size"] == len(media_exports.photo) and photo["path"].endswith(".jpg")
    assert all("post_media" in m["evidence"] for m in matches.values())
