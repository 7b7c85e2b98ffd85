"""RFC 3161 trusted timestamps of the chain head (docs/EVIDENCE.md).

The stamped message is the head's chain hash as 64 lowercase hex ASCII
characters; the request asks for its SHA-256 imprint, a nonce and the
authority's certificate. ASN.1/CMS work is done by ``rfc3161-client``
(request building, response parsing, signature and certificate-chain
checks) on ``cryptography`` certificates; nothing here writes DER by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from telewatch.models import HeadAnchored, UserError
from telewatch.store.anchors import StoredAnchor, anchors
from telewatch.store.chain import head, record_at
from telewatch.store.db import Connection

CONTENT_TYPE = "application/timestamp-query"


class AnchorError(Exception):
    """One authority could not give (or a stored token fails) a timestamp; one line."""


def load_roots(paths: Sequence[Path]) -> list[x509.Certificate]:
    """Every certificate in the PEM files ``paths``. Raises UserError naming
    a file that cannot be read or holds no PEM certificate."""
    roots: list[x509.Certificate] = []
    for p in paths:
        try:
            data = Path(p).read_bytes()
        except OSError as err:
            raise UserError(
                f"[evidence] tsa_roots: cannot read {p} ({err.strerror}); give PEM files"
            ) from None
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise UserError(
                f"[evidence] tsa_roots: {p} holds no PEM certificate; give the authority's"
                " root CA certificate in PEM form"
            ) from None
        roots.extend(certs)
    return roots


def request_token(url: str, hash_hex: str, *, timeout: float = 20.0) -> tuple[bytes, datetime]:
    """Ask the authority at ``url`` to stamp ``hash_hex``; (DER response,
    its time). Raises AnchorError when it is unreachable, refuses, or answers
    with something that is not a granted token over this hash and nonce."""
    req = (
        TimestampRequestBuilder()
        .data(hash_hex.encode())
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        resp = httpx.post(
            url, content=req.as_bytes(), headers={"Content-Type": CONTENT_TYPE}, timeout=timeout
        )
    except httpx.HTTPError as err:
        raise AnchorError(f"{type(err).__name__}: {err}") from None
    if resp.status_code != 200:
        raise AnchorError(f"HTTP {resp.status_code}")
    try:
        tsr = decode_timestamp_response(resp.content)
    except ValueError as err:
        raise AnchorError(f"not an RFC 3161 response ({err})") from None
    if PKIStatus(tsr.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise AnchorError(f"request refused (status {tsr.status})")
    if tsr.tst_info.nonce != req.nonce:
        raise AnchorError("the response's nonce is not the request's")
    if tsr.tst_info.message_imprint.message != req.message_imprint.message:
        raise AnchorError("the token stamps another hash")
    return resp.content, tsr.tst_info.gen_time.astimezone(UTC)


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking one stored token."""

    anchor_id: int
    tsa: str
    seq: int
    hash: str
    ok: bool
    gen_time: str | None
    problem: str | None = None


def check_token(token: bytes, hash_hex: str, roots: Sequence[x509.Certificate]) -> datetime:
    """Check a DER TimeStampResp: CMS signature, the signer's certificate
    (timeStamping EKU) chaining to ``roots``, and that it stamps ``hash_hex``.
    Returns its time; raises AnchorError saying what failed."""
    try:
        tsr = decode_timestamp_response(token)
    except ValueError as err:
        raise AnchorError(f"not a readable RFC 3161 token ({err})") from None
    builder = VerifierBuilder()
    for r in roots:
        builder = builder.add_root_certificate(r)
    try:
        builder.build().verify_message(tsr, hash_hex.encode())
    except (VerificationError, ValueError) as err:
        raise AnchorError(_plain(str(err))) from None
    return tsr.tst_info.gen_time.astimezone(UTC)


def _plain(err: str) -> str:
    """The verifier's error (often an OpenSSL error stack) in one short line."""
    if "unable to get local issuer" in err or "self-signed certificate" in err:
        return "the token's certificate does not chain to [evidence] tsa_roots"
    if "Mismatch between messages" in err:
        return "the token stamps another hash"
    if "signature" in err or "padding" in err or "digest" in err:
        return "the token's signature does not verify (the token was altered)"
    return f"the token does not verify: {err[:200]}"


def check_anchors(conn: Connection, roots: Sequence[x509.Certificate]) -> list[TokenCheck]:
    """Check every stored token against ``roots`` and the chain: it must
    verify and stamp the hash of the chain record it names."""
    out: list[TokenCheck] = []
    for a in anchors(conn):
        out.append(_check_one(conn, a, roots))
    return out


def _check_one(conn: Connection, a: StoredAnchor, roots: Sequence[x509.Certificate]) -> TokenCheck:
    row = record_at(conn, a.seq)
    if row is None or row[2] != a.hash:
        return TokenCheck(
            a.id, a.tsa, a.seq, a.hash, False, None,
            f"stamps {a.hash}, which is not chain record {a.seq}'s hash",
        )  # fmt: skip
    try:
        when = check_token(a.token, a.hash, roots)
    except AnchorError as err:
        return TokenCheck(a.id, a.tsa, a.seq, a.hash, False, None, str(err))
    return TokenCheck(a.id, a.tsa, a.seq, a.hash, True, when.isoformat()[:19] + "Z")


@dataclass(frozen=True)
class AnchorAttempt:
    """What one authority answered for one head."""

    tsa: str
    seq: int
    hash: str
    event: HeadAnchored | None
    problem: str | None = None


def anchor_head(
    conn: Connection,
    tsas: Sequence[str],
    roots: Sequence[x509.Certificate],
    *,
    timeout: float = 20.0,
) -> list[AnchorAttempt]:
    """Ask every authority in ``tsas`` to stamp the current head; a token is
    checked against ``roots`` (when given) before it is returned as a
    HeadAnchored event for the writer. Never raises for one authority's
    failure: it is an attempt with ``problem`` set."""
    h = head(conn)
    out: list[AnchorAttempt] = []
    if h.seq == 0:
        return out
    for url in tsas:
        now = datetime.now(UTC).replace(microsecond=0)
        try:
            token, when = request_token(url, h.hash, timeout=timeout)
            if roots:
                check_token(token, h.hash, roots)
        except AnchorError as err:
            out.append(AnchorAttempt(url, h.seq, h.hash, None, str(err)))
            continue
        out.append(
            AnchorAttempt(url, h.seq, h.hash, HeadAnchored(h.seq, h.hash, url, token, when, now))
        )
    return out
