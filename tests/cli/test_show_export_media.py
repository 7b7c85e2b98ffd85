"""`show` lists each version's media (path, hash, size); `export` gains `media`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.sources.desktop_export import import_paths
from telewatch.store import media
from tests.fixtures.media import ExportFolder, MediaExports, picture, sha256


def _run(db: Path, *args: str) -> str:
    r = CliRunner().invoke(main, ["--db", str(db), *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_show_lists_each_versions_media(tmp_path: Path) -> None:
    """An edit that replaced the photo: version 1 and version 2 each list
    their own file with sha256, size and the path in the media store, which
    holds those bytes; --json has the same under media_files."""
    db = tmp_path / "a.db"
    first, second = picture(31), picture(32)
    e1 = ExportFolder(tmp_path / "e1" / "channels" / "gamma_news", 1800000009, "Gamma")
    e1.photo(7, first, "Depot")
    import_paths(db, [e1.write()])
    e2 = ExportFolder(tmp_path / "e2" / "channels" / "gamma_news", 1800000009, "Gamma")
    msg = e2.photo(7, second, "Depot, new photo")
    msg["edited_unixtime"] = str(int(msg["date_unixtime"]) + 60)
    import_paths(db, [e2.write()])
    out = _run(db, "show", "gamma_news/7")
    v1, v2 = out.split("── version 1")[1].split("── version 2")
    for part, data in ((v1, first), (v2, second)):
        line = next(x for x in part.splitlines() if x.strip().startswith("media photo"))
        assert f"sha256 {sha256(data)}" in line and f"{len(data)} bytes" in line
        assert Path(line.split()[-1]).read_bytes() == data
    doc = json.loads(_run(db, "show", "gamma_news/7", "--json"))
    files = {(f["version"], f["sha256"]) for f in doc["media_files"]}
    assert files == {(1, sha256(first)), (2, sha256(second))}


def test_show_says_what_was_not_exported(tmp_path: Path, media_exports: MediaExports) -> None:
    """A placeholder is shown as not in export, with Telegram Desktop's reason."""
    db = tmp_path / "a.db"
    import_paths(db, [media_exports.alpha])
    out = _run(db, "show", "alpha_wire/4")
    assert "media photo: not in export (not included in export)" in out


def test_export_has_the_media_of_the_version_shown(
    tmp_path: Path, media_exports: MediaExports
) -> None:
    """JSON lines: `media` is [{sha256, path, mime, size, kind, role}] of the
    stored files of the post's current version, [] without; CSV: the same
    list as JSON text in the last column."""
    db = tmp_path / "a.db"
    ex = media_exports
    import_paths(db, [ex.alpha, ex.beta])
    rows = {
        (r["channel_id"], r["message_id"]): r
        for r in map(json.loads, _run(db, "export").splitlines())
    }
    video = rows[(1800000001, 2)]["media"]
    assert [(m["role"], m["sha256"], m["size"], m["kind"]) for m in video] == [
        ("file", sha256(ex.video), len(ex.video), "video"),
        ("thumb", sha256(ex.thumb), len(ex.thumb), "video"),
    ]
    root = media.default_root(db)
    assert (root / video[0]["path"]).read_bytes() == ex.video
    assert rows[(1800000001, 4)]["media"] == [] and rows[(1800000001, 5)]["media"] == []
    assert rows[(1800000002, 20)]["media"][0]["mime"] == "image/jpeg"
    table = list(csv.DictReader(io.StringIO(_run(db, "export", "--format", "csv"))))
    assert list(table[0])[-1] == "media"
    by_id = {int(r["message_id"]): r for r in table}
    assert json.loads(by_id[3]["media"])[0]["sha256"] == sha256(ex.pdf)
    assert json.loads(by_id[5]["media"]) == []
