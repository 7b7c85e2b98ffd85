"""xref on PostgreSQL: the development articles find the same posts, ranked
the same, as on the SQLite archive they were copied from."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.store.copy import copy_archive
from tests.fixtures.postgres import PostgresCluster


def test_xref_gives_the_same_answer_on_both(
    dev_archive: Path, xref_dev: Path, pg_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """Lexical xref (--no-semantic) of the first development articles prints
    the same report on PostgreSQL as on SQLite."""
    url = pg_cluster.create_database("xref")
    copy_archive(dev_archive, Path(url))
    lines = (xref_dev / "articles.jsonl").read_text(encoding="utf-8").splitlines()[:6]
    compared = 0
    for line in lines:
        art = json.loads(line)
        f = tmp_path / f"{art['id']}.txt"
        f.write_text(art["text"], encoding="utf-8")
        out = []
        for db in (str(dev_archive), url):
            r = CliRunner().invoke(
                main,
                ["--db", db, "xref", "--no-semantic", "--published", art["published"], str(f)],
            )
            assert r.exit_code == 0, r.output
            out.append(r.output)
        assert out[0] == out[1], art["id"]
        compared += "Matches" in out[0]
    assert compared >= 3
