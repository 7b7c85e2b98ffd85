"""Every reading command on a PostgreSQL archive prints what it prints on
the SQLite archive it was copied from (`telewatch migrate --to`).

One archive per module, built once on SQLite: the xref development exports,
an export with polls and service messages, two exports with media files
(photos, a video, a PDF; their perceptual hashes) and a channel with a
discussion group and comments (through the write path). It is copied into a
database of the session's PostgreSQL server; both get their embeddings from
`telewatch embed`. The PostgreSQL side names the SQLite side's media folder
as its `[media] root` (the store is content-addressed: one folder serves
both). Then xref (lexical, hybrid), trace, graph, feed, show, channels show,
search --media, media status/verify, evidence (and the bundle's verify.py),
verify --expect-head, the evaluation's scoring and anchor with a real TSA run
on both and are compared."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.sources.desktop_export import import_paths
from telewatch.store import db
from telewatch.store.writer import apply_events
from tests.fixtures.media import MediaExports, build_media_exports
from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.tsa import LocalTSA
from tests.integration.test_import_polls_service import CID as POLL_CID
from tests.integration.test_import_polls_service import _export as poll_export
from tests.integration.test_import_polls_service import _messages as poll_messages
from tests.unit.test_store_comments import _events as comment_events

XREF_ARTICLES = 6  # of the dev set, for the report comparisons (all in the eval)
SEMANTIC_ARTICLES = 3  # of those, also with --semantic (the model is slow)


@dataclass(frozen=True)
class Pair:
    """The same archive on both backends, with a config for each."""

    lite: Path
    pg: str
    root: Path
    media: MediaExports
    lite_cfg: Path
    pg_cfg: Path

    def configs(self) -> list[tuple[str, Path]]:
        return [("sqlite", self.lite_cfg), ("postgresql", self.pg_cfg)]


def _cli(cfg: Path, *args: str, code: int = 0) -> str:
    r = CliRunner().invoke(main, ["--config", str(cfg), *args], catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.output


def _both(pair: Pair, *args: str, code: int = 0) -> tuple[str, str]:
    """The command's output on SQLite and on PostgreSQL, each archive's own
    address replaced by DB."""
    outs = []
    for (_, cfg), addr in zip(pair.configs(), (str(pair.lite), pair.pg), strict=True):
        outs.append(_cli(cfg, *args, code=code).replace(addr, "DB"))
    return outs[0], outs[1]


@pytest.fixture(scope="module")
def pair(
    xref_dev: Path, pg_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """The module's archive on SQLite and its copy on PostgreSQL."""
    root = tmp_path_factory.mktemp("readers-pg")
    lite = root / "lite" / "telewatch.db"
    lite.parent.mkdir()
    media = build_media_exports(root / "exports")
    polls = poll_export(root / "polls" / "result.json", poll_messages())
    import_paths(lite, [*sorted(xref_dev.glob("channels/*/result.json")), polls])
    import_paths(lite, [media.alpha, media.beta])
    conn = db.connect(lite, readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        stats = apply_events(conn, comment_events(), ())
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert stats.errors == 0, stats.reasons
    # Some vectors before the copy (migrate carries them), more from `embed`
    # on both (the `embedded` fixture); the model is slow: a part of the posts.
    r = CliRunner().invoke(main, ["--db", str(lite), "embed", "--limit", "48"])
    assert r.exit_code == 0, r.output
    url = pg_cluster.create_database("readers")
    lite_cfg, pg_cfg = root / "lite.toml", root / "pg.toml"
    lite_cfg.write_text(f'[storage]\ndb = "{lite}"\n')
    pg_cfg.write_text(f'[storage]\ndb = "{url}"\n[media]\nroot = "{lite.parent / "media"}"\n')
    out = _cli(lite_cfg, "migrate", "--to", url)
    assert "verif" in out or "head" in out, out
    yield Pair(lite, url, root, media, lite_cfg, pg_cfg)


@pytest.fixture(scope="module")
def embedded(pair: Pair) -> Pair:
    """Both archives with every post version's vector (`telewatch embed`)."""
    timing = re.compile(r" in [0-9.]+ s, [0-9]+ per second")
    lite_out, pg_out = (
        timing.sub("", o).splitlines()[-1] for o in _both(pair, "embed", "--limit", "16")
    )
    assert lite_out == pg_out and "64/" in lite_out, (lite_out, pg_out)
    return pair


def _article(pair: Pair, art: dict[str, str]) -> Path:
    f = pair.root / f"{art['id']}.txt"
    f.write_text(art["text"], encoding="utf-8")
    return f


def _articles(xref_dev: Path, n: int) -> list[dict[str, str]]:
    lines = (xref_dev / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:n]]


def test_xref_lexical_and_hybrid_and_trace_match(embedded: Pair, xref_dev: Path) -> None:
    """xref --no-semantic and --semantic (stored vectors) give the same JSON
    (posts, ranks, evidence, scores) on both; trace of each cluster's origin
    too, with and without --semantic."""
    pair = embedded
    linked = 0
    for i, art in enumerate(_articles(xref_dev, XREF_ARTICLES)):
        f = _article(pair, art)
        for mode in ("--no-semantic", "--semantic")[: 2 if i < SEMANTIC_ARTICLES else 1]:
            lite, pg = _both(pair, "xref", mode, "--json", "--published", art["published"], str(f))
            assert lite == pg, (art["id"], mode)
            doc = json.loads(lite)
            linked += bool(doc.get("matches"))
    assert linked >= XREF_ARTICLES  # a report that finds nothing compares nothing
    traced = 0
    lines = (xref_dev / "provenance.jsonl").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:5]):
        origin = json.loads(line)["origin"]
        post = f"{origin['channel'].lstrip('@')}/{origin['message_id']}"
        for extra in ((), ("--semantic",))[: 2 if i == 0 else 1]:
            lite, pg = _both(pair, "trace", "--json", *extra, post)
            assert lite == pg, (post, extra)
        traced += len(json.loads(lite).get("spread", json.loads(lite).get("copies", [])))
        assert _both(pair, "trace", post)[0] == _both(pair, "trace", post)[1]
    assert traced > 0


def test_eval_scoring_is_the_same_on_both(pair: Pair, xref_dev: Path) -> None:
    """The evaluation's xref scoring (every dev article, lexical) reads the
    PostgreSQL copy to the same scores as the SQLite archive."""
    from telewatch.store.entries import public_channels
    from telewatch.xref.evaluate import _score_xref, load_dataset
    from telewatch.xref.rank import cross_reference

    ds = load_dataset(xref_dev)
    scores = []
    for addr in (pair.lite, Path(pair.pg)):
        conn = db.connect(addr)
        try:
            users = {name.lower(): cid for cid, name, _ in public_channels(conn)}
            scores.append(asdict(_score_xref(ds, conn, users, False, None, cross_reference)))
        finally:
            conn.close()
    assert scores[0] == scores[1]
    assert scores[0]["references"] > 20 and scores[0]["recall_at_5"] > 0.5


_GEN_TIME = re.compile(r'lastmodifieddate="[^"]*"|<updated>[^<]*</updated>\s*(?=<entry>|</feed>)')


def test_graph_and_feeds_are_the_same_bytes(pair: Pair) -> None:
    """GEXF and GraphML files are byte for byte the same (generation date
    aside); channel and alert-free search feeds are the same Atom."""
    for ext in ("gexf", "graphml"):
        files = []
        for name, cfg in pair.configs():
            out = pair.root / f"{name}.{ext}"
            msg = _cli(cfg, "graph", "-o", str(out))
            assert "wrote" in msg and " 0 nodes" not in msg, msg
            files.append(_GEN_TIME.sub("", out.read_text(encoding="utf-8")))
        assert files[0] == files[1], ext
        assert "mention" in files[0] and "forward" in files[0]
    for args in (("--channel", "@rafidain_watch"), ("--channel", "@alpha_wire", "--limit", "3")):
        lite, pg = _both(pair, "feed", *args)
        assert _GEN_TIME.sub("", lite) == _GEN_TIME.sub("", pg), args
        assert lite.count("<entry>") >= 3
    # A search feed is best first: ts_rank and BM25 may order equal-looking
    # hits differently, the entries are the same.
    lite, pg = _both(pair, "feed", "--search", "السماوة", "--limit", "200")
    entries = [sorted(re.findall(r"<entry>.*?</entry>", x, re.S)) for x in (lite, pg)]
    assert entries[0] == entries[1] and len(entries[0]) >= 5


def test_show_channels_search_media_and_media_commands(pair: Pair) -> None:
    """show (comments, polls, media), channels show, search --comments,
    search --media, media status and media verify print the same."""
    for post in ("chan_news/7", f"{POLL_CID}/3", f"{POLL_CID}/7", "alpha_wire/1", "alpha_wire/2"):
        for extra in ((), ("--json",)):
            lite, pg = _both(pair, "show", *extra, post)
            assert lite == pg, (post, extra)
    lite, _ = _both(pair, "show", "--json", "chan_news/7")
    assert len(json.loads(lite)["comments"]) >= 3
    lite, _ = _both(pair, "show", "--json", f"{POLL_CID}/3")
    assert "Which bridge reopens first?" in lite
    for ch in ("@rafidain_watch", str(POLL_CID), "@chan_news"):
        for extra in ((), ("--json",)):
            lite, pg = _both(pair, "channels", "show", *extra, ch)
            assert lite == pg, (ch, extra)
    lite, pg = _both(pair, "search", "--comments", "--json", "bridge")
    assert lite == pg and len(json.loads(lite)) >= 2
    picture = pair.root / "photo.jpg"
    picture.write_bytes(pair.media.photo)
    lite, pg = _both(pair, "search", "--media", str(picture), "--json")
    hits = json.loads(lite)
    assert lite == pg and len(hits) >= 2  # the file itself and beta's re-encoded copy
    lite, pg = _both(pair, "media", "status")
    # One folder serves both: the same files, the same place.
    assert lite == pg and "stored" in lite, (lite, pg)
    lite, pg = _both(pair, "media", "verify")
    assert lite == pg, (lite, pg)
    # The labels the demo and the dashboard list channels by (title, else
    # username, else id: one type on PostgreSQL too).
    from telewatch.store import comments, feed

    labels = []
    for addr in (pair.lite, Path(pair.pg)):
        conn = db.connect(addr)
        try:
            labels.append((comments.channel_labels(conn), feed.channel_names(conn)))
        finally:
            conn.close()
    assert labels[0] == labels[1] and "Chan" in labels[0][0] and "Chan chat" in labels[0][1]


def test_evidence_bundle_and_expected_head(pair: Pair) -> None:
    """The evidence bundle of the same posts has the same files on both
    (its manifest's creation time aside) and its verify.py passes alone;
    verify --expect-head takes the same head and refuses another."""
    posts = ("rafidain_watch/18353", "furat_flash/45229", "alpha_wire/1", "chan_news/7")
    bundles = []
    for name, cfg in pair.configs():
        out = pair.root / f"{name}.zip"
        summary = json.loads(_cli(cfg, "evidence", "--json", "-o", str(out), *posts))
        assert summary["posts"] == len(posts)
        folder = pair.root / f"bundle-{name}"
        with zipfile.ZipFile(out) as z:
            z.extractall(folder)
            files = {n: z.read(n) for n in z.namelist()}
        bundles.append((summary | {"path": None}, files))
        script = next(folder.rglob("verify.py"))
        r = subprocess.run(
            [sys.executable, "-I", "verify.py"],
            cwd=script.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0 and "OK:" in r.stdout, (name, r.stdout, r.stderr)
    assert bundles[0][0] == bundles[1][0]
    assert bundles[0][1].keys() == bundles[1][1].keys()
    for n, data in bundles[0][1].items():
        if not n.endswith("manifest.json"):
            assert data == bundles[1][1][n], n
    lite, pg = _both(pair, "verify", "--json")
    doc = json.loads(lite)
    assert lite == pg and doc["ok"], (lite, pg)
    head = doc["head"]["hash"] if isinstance(doc["head"], dict) else doc["head"]
    lite, pg = _both(pair, "verify", "--expect-head", head)
    assert lite == pg and "expected head found" in lite
    other = "ab" * 32
    lite, pg = _both(pair, "verify", "--expect-head", other, code=1)
    assert lite == pg and "does not contain the expected head" in lite


def test_anchor_with_a_real_authority(pair: Pair, tsa: LocalTSA) -> None:
    """anchor asks the 127.0.0.1 authority for a token over the head on both;
    verify checks it against the trust root, the evidence bundle carries it
    and its verify.py checks its signature. (Runs last: an anchor is a new
    chain record, the two archives' chains differ by their tokens after it.)"""
    evidence = f'[evidence]\ntsa = ["{tsa.url}"]\ntsa_roots = ["{tsa.authority.ca}"]\n'
    for name, cfg in pair.configs():
        cfg.write_text(cfg.read_text(encoding="utf-8") + evidence, encoding="utf-8")
        got = json.loads(_cli(cfg, "anchor", "--json"))
        assert got, got
        out = _cli(cfg, "verify")
        assert "1 token" in out or "anchors: 1" in out, out
        bundle = pair.root / f"anchored-{name}.zip"
        summary = json.loads(_cli(cfg, "evidence", "--json", "-o", str(bundle), "alpha_wire/1"))
        assert summary["anchors"] == 1 and summary["anchored"], summary
        folder = pair.root / f"anchored-{name}"
        with zipfile.ZipFile(bundle) as z:
            z.extractall(folder)
        script = next(folder.rglob("verify.py"))
        r = subprocess.run(
            [sys.executable, "-I", "verify.py"],
            cwd=script.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0 and "1 RFC 3161 token(s) checked (1 with" in r.stdout, (
            name,
            r.stdout,
            r.stderr,
        )
    assert tsa.requests == 2


def test_a_postgres_archive_needs_a_media_root(
    pair: Pair, pg_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """Without [media] root a PostgreSQL archive has no media folder: the
    media commands, phash, verify --media, an import of files and the daemon
    (media on) fail with one line naming [media] root and write nothing;
    readers (show, channels show) work and give paths inside the store;
    a text-only import and a daemon with media off need no root."""
    bare = tmp_path / "bare.toml"
    bare.write_text(
        f'[storage]\ndb = "{pair.pg}"\n[telegram]\napi_id = 1\n'
        'api_hash = "0123456789abcdef0123456789abcdef"\n'
        f'session = "{tmp_path / "none.session"}"\n',
        encoding="utf-8",
    )
    for args in (
        ("media", "status"),
        ("media", "verify"),
        ("media", "fetch", "alpha_wire/1"),
        ("phash",),
        ("verify", "--media"),
        ("run",),
    ):
        r = CliRunner().invoke(main, ["--config", str(bare), *args])
        lines = r.output.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1 and "set [media] root" in lines[0], (
            args,
            r.output,
        )
        assert "postgresql://" not in r.output and not (tmp_path / "none.session").exists()
    shown = json.loads(_cli(bare, "show", "--json", "alpha_wire/1"))
    stored = [m["path"] for m in shown["media_files"] if m.get("path")]
    assert stored and all(not Path(p).is_absolute() and p.count("/") == 2 for p in stored)
    assert not any(p.name.startswith("postgres") for p in Path.cwd().iterdir())
    fresh = pg_cluster.create_database("media")
    cfg = tmp_path / "fresh.toml"
    cfg.write_text(f'[storage]\ndb = "{fresh}"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(cfg), "import", "-q", str(pair.media.alpha)])
    assert r.exit_code == 2 and "set [media] root" in r.output, r.output
    polls = pair.root / "polls" / "result.json"
    _cli(cfg, "import", "-q", str(polls))
    assert f"{POLL_CID}" in _cli(cfg, "channels", "archived")
    with_root = tmp_path / "root.toml"
    with_root.write_text(
        f'[storage]\ndb = "{fresh}"\n[media]\nroot = "{tmp_path / "store"}"\n', encoding="utf-8"
    )
    _cli(with_root, "import", "-q", str(pair.media.alpha))
    assert "files: 4 distinct" in _cli(with_root, "media", "status")
    assert any((tmp_path / "store").rglob("*.jpg"))
