"""verify.py: check a telewatch evidence bundle without telewatch.

Run it in the unzipped bundle's folder: ``python3 -I verify.py``. It needs
only Python 3.8+ and, to check the RFC 3161 tokens' signatures, the
``openssl`` command (it says so when that is missing). It prints each check
and exits 0 when every check passed, 1 naming the first thing that failed.

What it checks (README.txt says the same in plain words):
1. every version file's content and raw payload hash to the values in that
   version's chain record;
2. every chain record in chain/records.jsonl hashes to its line in
   chain/hashes.txt;
3. the chain recomputed from chain/hashes.txt (hash = sha256(prev + record
   hash)) reaches the head hashes named in manifest.json;
4. every RFC 3161 token stamps the recomputed hash of the record it names,
   and (with openssl) its signature and certificate chain verify against
   the roots in certs/.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any


class Failed(Exception):
    """A check failed (the message names what)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    try:
        checked = run()
    except Failed as err:
        print(f"FAILED: {err}")
        return 1
    except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
        print(f"FAILED: the bundle is damaged or incomplete ({type(err).__name__}: {err})")
        return 1
    print(f"OK: {checked}")
    return 0


def run() -> str:
    manifest = json.loads(read("manifest.json"))
    span = manifest["chain"]
    lo, hi = int(span["from_seq"]), int(span["to_seq"])
    hashes = read("chain/hashes.txt").decode().split()
    if len(hashes) != hi - lo + 1:
        raise Failed(
            f"chain/hashes.txt has {len(hashes)} lines, records {lo}..{hi} need {hi - lo + 1}"
        )
    records: dict[int, list[Any]] = {}
    for line in read("chain/records.jsonl").decode().splitlines():
        entry = json.loads(line)
        seq, text = int(entry["seq"]), entry["record"]
        if not lo <= seq <= hi:
            raise Failed(f"chain record {seq} lies outside the bundle's span {lo}..{hi}")
        if sha256_hex(text.encode()) != hashes[seq - lo]:
            raise Failed(f"chain record {seq} ({text[:60]}...) does not match its hash")
        records[seq] = json.loads(text)
    print(f"checked {len(records)} chain records against their hashes")

    n_versions = 0
    for post in manifest["posts"]:
        label = f"{post['channel_id']}/{post['message_id']}"
        for v in post["versions"]:
            where = f"version {v['version_no']} of post {label} ({v['content']})"
            rec = records.get(int(v["seq"]))
            if rec is None or rec[0] != "version" or rec[4] != v["version_no"]:
                raise Failed(f"{where}: its chain record {v['seq']} is not in the bundle")
            if [rec[2], rec[3]] != [post["channel_id"], post["message_id"]]:
                raise Failed(f"{where}: chain record {v['seq']} is about another post")
            content = json.loads(read(v["content"]))
            chash = sha256_hex(
                canonical([content["text"], content["entities"], content["media"]]).encode()
            )
            if chash != rec[5]:
                raise Failed(f"{where}: the text, entities or media changed (content hash differs)")
            if rec[18] is not None:
                if not v.get("raw"):
                    raise Failed(f"{where}: its raw payload is missing")
                if sha256_hex(read(v["raw"])) != rec[18]:
                    raise Failed(f"{where}: the raw payload {v['raw']} changed")
            n_versions += 1
        print(f"checked post {label}: {len(post['versions'])} version(s), content and raw payloads")

    chain = {}
    h = span["prev_hash"]
    for i, rh in enumerate(hashes):
        h = sha256_hex((h + rh).encode())
        chain[lo + i] = h
    if chain[hi] != span["to_hash"]:
        raise Failed(f"the chain recomputed from the hashes does not reach {span['to_hash']}")
    print(f"recomputed the chain from record {lo} to record {hi}: {chain[hi]}")

    anchors = manifest.get("anchors", [])
    openssl = shutil.which("openssl")
    roots = (
        [os.path.join("certs", f) for f in sorted(os.listdir("certs"))]
        if os.path.isdir("certs")
        else []
    )
    n_signed = 0
    for a in anchors:
        seq = int(a["seq"])
        if chain.get(seq) != a["hash"]:
            raise Failed(f"anchor {a['token']} stamps {a['hash']}, not the recomputed record {seq}")
        token = read(a["token"])
        imprint = hashlib.sha256(a["hash"].encode()).digest()
        if imprint not in token:
            raise Failed(f"anchor {a['token']} does not contain the stamped hash's imprint")
        if openssl and roots:
            check_with_openssl(openssl, a, roots)
            n_signed += 1
        print(f"anchor {a['token']} from {a['tsa']} at {a['gen_time']}: stamps record {seq}")
    if anchors and not openssl:
        print(
            "NOTE: openssl not found: the tokens' signatures were NOT checked, only their imprint"
        )
    elif anchors and not roots:
        print("NOTE: no certs/ roots in the bundle: the tokens' signatures were NOT checked")
    if not anchors:
        print(
            "NOTE: no anchor covers these records: they are checked against the archive's head"
            " when the bundle was made, which only an anchor or a head kept elsewhere can confirm"
        )
    return (
        f"{n_versions} version(s) of {len(manifest['posts'])} post(s) match their chain records;"
        f" the chain links them to {span['to_hash']} (record {hi});"
        f" {len(anchors)} RFC 3161 token(s) checked ({n_signed} with signature and certificates)"
    )


def check_with_openssl(openssl: str, a: dict[str, Any], roots: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "hash.txt")
        with open(data, "wb") as fh:
            fh.write(a["hash"].encode())
        ca = os.path.join(tmp, "roots.pem")
        with open(ca, "wb") as fh:
            for r in roots:
                fh.write(read(r))
        out = subprocess.run(
            [openssl, "ts", "-verify", "-data", data, "-in", a["token"], "-CAfile", ca],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        if out.returncode != 0 or b"Verification: OK" not in out.stdout:
            why = out.stdout.decode(errors="replace").strip().splitlines()
            raise Failed(
                f"anchor {a['token']}: openssl ts -verify failed ({why[-1] if why else 'no output'})"
            )


if __name__ == "__main__":
    sys.exit(main())
