"""The xref, trace and eval commands, invoked for real (CliRunner and the entry point)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main

D06 = (
    "Deux convois logistiques de l'armée américaine ont été visés mardi matin dans le sud de "
    "l'Irak, selon la chaîne Telegram Rafidain Watch.\n\nD'après cette chaîne, un premier convoi "
    "transportant du matériel de soutien pour les forces américaines a été la cible d'un engin "
    "explosif sur la route internationale, à Samawa, dans la province de Muthanna."
)


def _article(tmp_path: Path, text: str = D06) -> Path:
    path = tmp_path / "article.txt"
    path.write_text("Irak : un convoi visé\n\n" + text, "utf-8")
    return path


def test_xref_prints_link_with_evidence(xref_dev_archive: Path, tmp_path: Path) -> None:
    """The human output names the citation, the linked post and its evidence."""
    res = CliRunner().invoke(
        main,
        [
            "--db",
            str(xref_dev_archive),
            "xref",
            str(_article(tmp_path)),
            "--published",
            "2022-03-01T16:45:00+03:30",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "“Rafidain Watch” → @rafidain_watch" in res.output
    first = next(line for line in res.output.splitlines() if line.startswith(" 1."))
    assert "LINK" in first and "@rafidain_watch/18372" in first
    assert "Samawa ↔" in res.output
    assert "language fr→ar" in res.output


def test_xref_json_schema(xref_dev_archive: Path, tmp_path: Path) -> None:
    """--json follows the documented schema with bare channel ids."""
    res = CliRunner().invoke(
        main,
        [
            "--db",
            str(xref_dev_archive),
            "xref",
            "-",
            "--json",
            "--published",
            "2022-03-01T16:45:00+03:30",
        ],
        input=D06,
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert set(doc["article"]) >= {"published", "language", "citations", "dates", "places"}
    assert doc["article"]["language"] == "fr"
    top = doc["matches"][0]
    assert set(top) >= {
        "channel_id",
        "username",
        "title",
        "message_id",
        "date",
        "url",
        "score",
        "confidence",
        "evidence",
    }
    assert (top["channel_id"], top["message_id"], top["confidence"]) == (1500000001, 18372, "link")
    assert top["url"] == "https://t.me/rafidain_watch/18372"
    assert {"entities", "time", "similarity", "language_pair", "edited", "deleted"} <= set(
        top["evidence"]
    )


def test_xref_says_plainly_when_nothing_matches(xref_dev_archive: Path, tmp_path: Path) -> None:
    """An article about nothing archived ends with a plain 'No match' line."""
    text = (
        "Le festival de jazz de Montréal a ouvert ses portes samedi soir devant 20 000 spectateurs."
    )
    res = CliRunner().invoke(
        main,
        [
            "--db",
            str(xref_dev_archive),
            "xref",
            str(_article(tmp_path, text)),
            "--published",
            "2022-03-05T23:00:00+01:00",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "No match: of" in res.output and "none reached 'suggest'" in res.output


def test_xref_watch_adds_missing_channels(xref_dev_archive: Path, tmp_path: Path) -> None:
    """--watch puts a cited channel that is not archived on the daemon's watch list."""
    db = tmp_path / "copy.db"
    shutil.copy(xref_dev_archive, db)
    text = D06 + " Le canal t.me/sabereen_news/1234 a relayé l'information."
    res = CliRunner().invoke(
        main,
        [
            "--db",
            str(db),
            "xref",
            str(_article(tmp_path, text)),
            "--published",
            "2022-03-01T16:45:00+03:30",
            "--watch",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NOT in the archive" in res.output
    assert "Added to the watch list: @sabereen_news" in res.output
    rows = sqlite3.connect(db).execute("SELECT username, origin FROM watchlist").fetchall()
    assert ("sabereen_news", "xref") in rows


def test_xref_bad_published_is_one_line_error(xref_dev_archive: Path, tmp_path: Path) -> None:
    """A malformed --published exits 2 with one 'error:' line."""
    res = CliRunner().invoke(
        main,
        ["--db", str(xref_dev_archive), "xref", str(_article(tmp_path)), "--published", "mardi"],
    )
    assert res.exit_code == 2
    assert res.output.strip().startswith("error: --published 'mardi' is not ISO 8601")


def test_trace_lists_origin_first(xref_dev_archive: Path) -> None:
    """trace on a copy prints the origin, then forwards/copies/paraphrases with delays."""
    res = CliRunner().invoke(main, ["--db", str(xref_dev_archive), "trace", "@furat_flash/45251"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("Origin: @rafidain_watch/18372")
    assert any(line.startswith("copy") and "@furat_flash/45251" in line for line in lines)
    assert any(line.startswith("paraphrase") for line in lines)


def test_trace_unknown_post_is_user_error(xref_dev_archive: Path) -> None:
    """A post id that is not archived gives a one-line error."""
    res = CliRunner().invoke(main, ["--db", str(xref_dev_archive), "trace", "@furat_flash/1"])
    assert res.exit_code == 2
    assert "not in the archive" in res.output


def test_eval_xref_entry_point(xref_dev: Path) -> None:
    """The installed `telewatch eval xref` prints the metrics for the dev set."""
    exe = Path(sys.executable).with_name("telewatch")
    out = subprocess.run(
        [str(exe), "eval", "xref", str(xref_dev)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "Recall@1 1.000" in out or "Recall@1 0.9" in out
    assert "Recall@5 1.000" in out
    assert "negatives with no link 3/3" in out
    assert "MRR" in out and "link precision" in out
