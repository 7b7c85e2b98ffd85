"""Evidence end to end: RFC 3161 anchors from a real local authority, the
daemon's raw payloads, capture log and scheduled anchors, evidence bundles
checked by their own verify.py, and old archives brought under the chain."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from telewatch.models import UserError
from telewatch.store.chain import verify
from telewatch.store.db import apply_migrations, connect, migrate
from tests.fixtures.daemon import TELEWATCH, DaemonWorld
from tests.fixtures.store import write_old_versions
from tests.fixtures.tsa import LocalTSA

CHANNEL = "anbar_eye"
# Its import chains 73 records: versions, channel, capture, the 7 media files the
# export was made without (placeholders recorded as not included), and its two pinned
# posts' service messages (a channel_action and a pin record each).
RECORDS = 73
POST = "anbar_eye/7640"


def _run(
    config: Path | None, db: Path, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [TELEWATCH, "--db", str(db)]
    if config is not None:
        cmd[1:1] = ["--config", str(config)]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def _config(tmp: Path, db: Path, tsas: list[str], roots: list[Path]) -> Path:
    cfg = tmp / "telewatch.toml"
    cfg.write_text(
        f'[storage]\ndb = "{db}"\n[evidence]\ntsa = {json.dumps(tsas)}\n'
        f"tsa_roots = {json.dumps([str(r) for r in roots])}\n"
    )
    return cfg


@pytest.fixture
def imported(tmp_path: Path, xref_dev: Path) -> Path:
    db = tmp_path / "a.db"
    r = _run(None, db, "import", "-q", str(xref_dev / "channels" / CHANNEL / "result.json"))
    assert r.returncode == 0, r.stderr
    return db


def test_anchor_stores_a_token_that_verify_checks(
    tmp_path: Path, imported: Path, tsa: LocalTSA
) -> None:
    """`telewatch anchor` stores the local authority's token for the head;
    verify checks it (exit 0, head reported in --json)."""
    cfg = _config(tmp_path, imported, [tsa.url], [tsa.authority.ca])
    r = _run(cfg, imported, "anchor")
    assert r.returncode == 0, r.stderr
    assert f"anchored record {RECORDS}" in r.stdout and "stored" in r.stdout
    v = _run(cfg, imported, "verify", "--json")
    assert v.returncode == 0, v.stdout + v.stderr
    out = json.loads(v.stdout)
    assert out["status"] == "verified" and out["anchored_upto"] == RECORDS
    assert [a["ok"] for a in out["anchors"]] == [True]
    assert (
        out["head"]["records"] == RECORDS and len(out["head"]["hash"]) == 64 and out["head"]["at"]
    )
    assert out["anchors"][0]["hash"] == out["head"]["hash"]


def test_tampered_token_fails_verify(tmp_path: Path, imported: Path, tsa: LocalTSA) -> None:
    """One changed byte inside a stored token's signature makes verify fail naming the anchor."""
    cfg = _config(tmp_path, imported, [tsa.url], [tsa.authority.ca])
    assert _run(cfg, imported, "anchor").returncode == 0
    raw = sqlite3.connect(imported)
    token = bytearray(raw.execute("SELECT token FROM anchors").fetchone()[0])
    token[-20] ^= 0x01  # inside the signature value at the end of the CMS structure
    raw.execute("UPDATE anchors SET token = ?", (bytes(token),))
    raw.commit()
    raw.close()
    v = _run(cfg, imported, "verify")
    assert v.returncode == 1
    assert "anchor 1 from" in v.stderr and "TAMPERED" in v.stderr


def test_token_from_outside_the_trust_roots_fails(
    tmp_path: Path, imported: Path, tsa: LocalTSA, rogue_tsa: LocalTSA
) -> None:
    """A token from an authority whose CA is not in tsa_roots fails verify;
    `anchor` refuses it already (checked before it is stored)."""
    cfg = _config(tmp_path, imported, [rogue_tsa.url], [tsa.authority.ca])
    r = _run(cfg, imported, "anchor")
    assert r.returncode == 1 and "does not chain to [evidence] tsa_roots" in r.stderr
    # Stored anyway (by an archive owner trusting another root): verify fails.
    trusting = _config(tmp_path, imported, [rogue_tsa.url], [rogue_tsa.authority.ca])
    assert _run(trusting, imported, "anchor").returncode == 0
    strict = _config(tmp_path, imported, [tsa.url], [tsa.authority.ca])
    v = _run(strict, imported, "verify")
    assert v.returncode == 1 and "does not chain to [evidence] tsa_roots" in v.stderr


def test_unreachable_authority_is_reported_not_fatal(
    tmp_path: Path, imported: Path, tsa: LocalTSA
) -> None:
    """An authority that is down gives exit 1 with its reason; the others' tokens are kept."""
    tsa.fail = True
    cfg = _config(tmp_path, imported, [tsa.url, "http://127.0.0.1:9/none"], [tsa.authority.ca])
    r = _run(cfg, imported, "anchor")
    assert r.returncode == 1 and "HTTP 503" in r.stderr and "ConnectError" in r.stderr
    assert sqlite3.connect(imported).execute("SELECT count(*) FROM anchors").fetchone()[0] == 0


def test_evidence_bundle_verifies_alone_and_detects_one_byte(
    tmp_path: Path, imported: Path, tsa: LocalTSA
) -> None:
    """The bundle's verify.py passes with `python3 -I` in a clean folder (no
    telewatch importable) and fails naming the version when one byte of it
    changes; the raw payload is the export's JSON object."""
    cfg = _config(tmp_path, imported, [tsa.url], [tsa.authority.ca])
    assert _run(cfg, imported, "anchor").returncode == 0
    bundle = tmp_path / "bundle.zip"
    r = _run(cfg, imported, "evidence", POST, "-o", str(bundle))
    assert r.returncode == 0, r.stderr
    clean = tmp_path / "clean"
    clean.mkdir()
    zipfile.ZipFile(bundle).extractall(clean)
    folder = clean / "evidence"
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert {"verify.py", "README.txt", "manifest.json", "chain/hashes.txt",
            "chain/records.jsonl", "posts/1500000005_7640/v1.json",
            "posts/1500000005_7640/v1.raw.json", "certs/root-1.pem"} <= names  # fmt: skip
    assert json.loads((folder / "posts/1500000005_7640/v1.raw.json").read_text())["id"] == 7640
    env = {"PATH": os.environ["PATH"]}
    ok = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 1 version(s) of 1 post(s)" in ok.stdout and "1 with signature" in ok.stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["chain"]["anchored"] and manifest["posts"][0]["url"].endswith("/7640")

    content = folder / "posts/1500000005_7640/v1.json"
    data = bytearray(content.read_bytes())
    i = data.index(b"F-16")
    data[i] = ord("G")  # one byte of the text
    content.write_bytes(bytes(data))
    bad = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1
    assert "version 1 of post 1500000005/7640" in bad.stdout and "FAILED" in bad.stdout
    data[i] = ord("F")
    content.write_bytes(bytes(data))
    no_openssl = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True,
        env={"PATH": str(tmp_path / "empty")},
    )  # fmt: skip
    assert no_openssl.returncode == 0 and "openssl not found" in no_openssl.stdout
    assert "signatures were NOT checked" in no_openssl.stdout
    rawf = folder / "posts/1500000005_7640/v1.raw.json"
    rawf.write_bytes(rawf.read_bytes().replace(b"7640", b"7641", 1))
    bad = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1 and "raw payload" in bad.stdout


def test_bundle_without_anchor_says_so(tmp_path: Path, imported: Path) -> None:
    """Without an anchor the bundle still verifies up to the head and says it is not anchored."""
    bundle = tmp_path / "b.zip"
    r = _run(None, imported, "evidence", POST, "-o", str(bundle))
    assert r.returncode == 0 and "no anchor covers" in r.stderr
    zipfile.ZipFile(bundle).extractall(tmp_path / "x")
    ok = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=tmp_path / "x" / "evidence",
        capture_output=True, text=True,
    )  # fmt: skip
    assert ok.returncode == 0 and "NOTE: no anchor covers" in ok.stdout
    assert "NOT YET ANCHORED" in (tmp_path / "x" / "evidence" / "README.txt").read_text()


def test_verify_exit_codes_and_bad_input(tmp_path: Path, imported: Path) -> None:
    """verify: 2 for a malformed --expect-head or an unreadable archive, 1 for
    an unknown head, never a traceback."""
    r = _run(None, imported, "verify", "--expect-head", "nothex")
    assert r.returncode == 2 and "64 hex digits" in r.stderr
    r = _run(None, imported, "verify", "--expect-head", "ab" * 32)
    assert r.returncode == 1 and "does not contain the expected head" in r.stderr
    raw = sqlite3.connect(imported)
    raw.execute("DROP TABLE engagement")
    raw.commit()
    raw.close()
    r = _run(None, imported, "verify")
    assert r.returncode == 2 and "could not check" in r.stderr and "Traceback" not in r.stderr


def test_show_raw_prints_the_captured_payload(imported: Path) -> None:
    """`show --raw` prints the export's JSON object of the version, with its hash."""
    r = _run(None, imported, "show", "--raw", POST)
    assert r.returncode == 0, r.stderr
    assert "raw export-json sha256" in r.stdout and '"id": 7640' in r.stdout


def test_schema_2_archive_is_rechained(tmp_path: Path) -> None:
    """An archive written at schema 2 is migrated: its chain is checked by
    the old rules, its facts re-chained after a migration record, and verify passes."""
    path = tmp_path / "v2.db"
    raw = sqlite3.connect(path, isolation_level=None)
    apply_migrations(raw, 0, upto=2)
    raw.execute("BEGIN IMMEDIATE")
    write_old_versions(raw, [(7, 1, "one"), (7, 2, "two"), (7, 1, "one, edited")])
    raw.execute(
        "INSERT INTO channels(id, username, title, first_seen, last_seen) VALUES"
        " (8, 'eight', 'Eight', '2022-01-01T00:00:00Z', '2022-01-01T00:00:00Z')"
    )
    raw.execute("UPDATE channels SET title = 'Seven' WHERE id = 7")
    raw.execute(
        "INSERT INTO channel_changes(channel_id, field, old_value, new_value, captured_at)"
        " VALUES (7, 'title', 'Old seven', 'Seven', '2022-02-01T00:00:00Z')"
    )
    raw.execute("COMMIT")
    raw.close()
    migrate(path)
    conn = connect(path)
    res = verify(conn)
    assert res.ok, res.problem
    assert res.versions == 3 and res.migrated == res.records - 1
    first = json.loads(conn.execute("SELECT record FROM chain WHERE seq = 1").fetchone()[0])
    assert first[0] == "migration" and first[2] == 2 and first[4] == 3


def test_tampered_schema_2_archive_is_not_migrated(tmp_path: Path) -> None:
    """A schema-2 archive whose chain fails the old rules is left at schema 2
    with a one-line error (re-chaining would launder the change)."""
    path = tmp_path / "v2.db"
    raw = sqlite3.connect(path, isolation_level=None)
    apply_migrations(raw, 0, upto=2)
    raw.execute("BEGIN IMMEDIATE")
    write_old_versions(raw, [(7, 1, "one")])
    raw.execute("UPDATE post_versions SET text = 'forged'")
    raw.execute("COMMIT")
    raw.close()
    with pytest.raises(UserError, match=r"does not verify .* left at schema 2"):
        migrate(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


def test_daemon_keeps_raw_payloads_capture_log_and_anchors(
    daemon_world: DaemonWorld, tsa: LocalTSA
) -> None:
    """The daemon keeps each version's TL bytes under a chained capture
    session (account, versions, layer, clock offset), anchors the head on
    its schedule, retries when the authority is down without holding up
    archiving, and the archive verifies with its tokens."""
    w = daemon_world
    cid = 1500000871

    def setup(emu: object) -> None:
        emu.add_channel(cid, "evidence_chan", "evidence_chan")  # type: ignore[attr-defined]
        for k in range(5):
            emu.post(cid, f"evidence {k}", push=False)  # type: ignore[attr-defined]

    w.emu.call(setup)
    tsa.fail = True
    cfg = w.write_config([{"username": "evidence_chan"}])
    with cfg.open("a") as fh:
        fh.write(
            f'[evidence]\ntsa = ["{tsa.url}"]\ntsa_roots = ["{tsa.authority.ca}"]\n'
            "anchor_interval = 1.0\n"
        )
    p = w.start()
    w.wait_running(p)
    w.wait_for(lambda: w.query("SELECT count(*) FROM posts") == [(5,)], 20, "the history")
    w.wait_for(lambda: tsa.requests >= 1, 20, "an anchor attempt")
    assert w.query("SELECT count(*) FROM anchors") == [(0,)]
    tsa.fail = False
    w.wait_for(lambda: w.query("SELECT count(*) FROM anchors")[0][0] >= 1, 20, "an anchor")
    assert w.stop(p) == 0
    ((fmt, n),) = w.query("SELECT format, count(*) FROM raw_payloads GROUP BY format")
    assert (fmt, n) == ("tl", 5)
    ((account, layer, telethon, capture),) = w.query(
        "SELECT account, api_layer, telethon_version, id FROM capture_sessions"
    )
    assert layer > 100 and telethon.startswith("1.45") and account
    assert w.query("SELECT DISTINCT capture_id FROM post_versions") == [(capture,)]
    log = (w.root / "daemon.log").read_text()
    assert "anchor failed; retrying later" in log
    v = subprocess.run(
        [TELEWATCH, "--config", str(cfg), "verify", "--json"], capture_output=True, text=True
    )
    assert v.returncode == 0, v.stdout + v.stderr
    assert json.loads(v.stdout)["anchors"][0]["ok"] is True
    shown = subprocess.run(
        [TELEWATCH, "--config", str(cfg), "show", "--raw", "evidence_chan/1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert shown.returncode == 0 and "Message(" in shown.stdout and "evidence 0" in shown.stdout
