"""`telewatch search --media FILE`: posts carrying that file, then look-alikes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.sources.desktop_export import import_paths
from tests.fixtures.media import ALPHA_ID, BETA_ID, MediaExports, picture, repost, sha256


def _search(db: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["--db", str(db), "search", *args])
    return r.exit_code, r.output


def test_search_by_media_exact_first_then_look_alikes(
    tmp_path: Path, media_exports: MediaExports
) -> None:
    """The archived photo itself: its post first (same file), then beta's
    re-post (perceptual, distance > 0); the unrelated photo is not listed."""
    db = tmp_path / "a.db"
    import_paths(db, [media_exports.alpha, media_exports.beta])
    mine = tmp_path / "mine.jpg"
    mine.write_bytes(media_exports.photo)
    code, out = _search(db, "--media", str(mine), "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["file"]["sha256"] == sha256(media_exports.photo)
    got = [(h["channel_id"], h["message_id"], h["match"]) for h in doc["hits"]]
    assert got == [(ALPHA_ID, 1, "same-file"), (BETA_ID, 20, "perceptual")]
    assert 0 < doc["hits"][1]["phash_distance"] <= 10
    code, out = _search(db, "--media", str(mine), "--channel", "beta_mirror")
    assert code == 0 and "@beta_mirror/20" in out and "@alpha_wire/1" not in out
    assert "looks alike, pHash distance" in out


def test_search_by_a_picture_the_archive_does_not_have(
    tmp_path: Path, media_exports: MediaExports
) -> None:
    """A user's own re-encoded copy (not in the archive) finds both posts by
    perceptual hash; --distance 0 with a look-alike finds nothing."""
    db = tmp_path / "a.db"
    import_paths(db, [media_exports.alpha, media_exports.beta])
    theirs = tmp_path / "seen-on-the-web.jpg"
    theirs.write_bytes(repost(media_exports.copy))
    code, out = _search(db, "--media", str(theirs), "--json")
    hits = json.loads(out)["hits"]
    assert code == 0 and {(h["message_id"], h["match"]) for h in hits} == {
        (1, "perceptual"), (20, "perceptual"),
    }  # fmt: skip
    other = tmp_path / "other.jpg"
    other.write_bytes(picture(77))
    code, out = _search(db, "--media", str(other))
    assert code == 0 and "no post carries this file" in out


def test_search_needs_a_query_or_a_file(tmp_path: Path, media_exports: MediaExports) -> None:
    """Neither or both: a one-line error; a missing file: click's error."""
    db = tmp_path / "a.db"
    import_paths(db, [media_exports.alpha])
    code, out = _search(db)
    assert code == 2 and "give a QUERY" in out
    code, out = _search(db, "crater", "--media", str(media_exports.alpha))
    assert code == 2 and "give a QUERY" in out
    code, out = _search(db, "--media", str(tmp_path / "nope.jpg"))
    assert code == 2 and "nope.jpg" in out
