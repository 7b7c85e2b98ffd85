"""A plain `pip install` of telewatch (no extras) has every runtime dependency."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.venv import FreshInstall

pytestmark = pytest.mark.slow


def _article(xref_dev: Path, article_id: str) -> dict[str, object]:
    for line in (xref_dev / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        art = json.loads(line)
        if art["id"] == article_id:
            return art  # type: ignore[no-any-return]
    raise AssertionError(f"no article {article_id}")


def test_xref_on_an_html_file_works_in_a_venv_without_extras(
    fresh_install: FreshInstall, dev_archive: Path, xref_dev: Path, tmp_path: Path
) -> None:
    """`telewatch xref article.html` from a fresh venv without extras reads the HTML (lxml's
    cleaner, trafilatura) and links the post the article cites."""
    art = _article(xref_dev, "d01")
    paragraphs = "".join(f"<p>{p}</p>" for p in str(art["text"]).split("\n\n"))
    html = tmp_path / "article.html"
    html.write_text(
        "<!doctype html><html><head><title>News</title><script>var x = 1;</script></head>"
        f"<body><nav>Home | World</nav><article><h1>{art['title']}</h1>{paragraphs}</article>"
        "<footer>© example.org</footer></body></html>",
        encoding="utf-8",
    )
    r = subprocess.run(
        [
            str(fresh_install.telewatch),
            "--db",
            str(dev_archive),
            "xref",
            str(html),
            "--published",
            str(art["published"]),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=fresh_install.env(),
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    found = {(m["username"], m["message_id"]) for m in doc["matches"]}
    assert ("rafidain_watch", 18353) in found or ("rafidain_watch", 18354) in found, doc
