"""The emulated account and its login: phone code, optional 2FA with real SRP.

The client side of SRP is Telethon's ``telethon.password.compute_check``; this
module is the server side with a known password (Telegram's
``PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow``):
``v = g^x``, ``B = k·v + g^b``, and the client's ``M1`` must equal
``H(H(p) xor H(g), H(salt1), H(salt2), A, B, K)`` with ``K = H((A·v^u)^b)``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field

from telethon import password as tl_password
from telethon.tl import types

log = logging.getLogger("telewatch.emulator")

# Telegram's 2048-bit safe prime (g = 3). Telethon recognises it without a
# slow primality test, so the login stays fast.
_PRIME_HEX = (
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B"
)
SRP_PRIME = bytes.fromhex(_PRIME_HEX)
SRP_G = 3


def _h(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def _pad(n: int) -> bytes:
    return n.to_bytes(256, "big")


@dataclass
class _SrpRound:
    srp_id: int
    b: int
    B: int


@dataclass
class Account:
    """The single emulated account every session logs in as.

    ``login_code`` is what ``auth.SignIn`` accepts (printed/logged when sent);
    ``password`` enables 2FA (``SESSION_PASSWORD_NEEDED`` after the code)."""

    phone: str = "+15550000000"
    login_code: str = "12345"
    password: str | None = None
    first_name: str = "Emulated"
    username: str | None = "emulated"
    salt1: bytes = field(default_factory=lambda: os.urandom(32))
    salt2: bytes = field(default_factory=lambda: os.urandom(16))
    _rounds: dict[int, _SrpRound] = field(default_factory=dict)
    _code_hashes: dict[str, str] = field(default_factory=dict)

    # -- phone code ------------------------------------------------------------

    def send_code(self, phone: str) -> types.auth.SentCode:
        """Answer ``auth.sendCode``: remember a code hash and log the code."""
        code_hash = secrets.token_hex(8)
        self._code_hashes[code_hash] = phone
        log.warning("login code for %s: %s", phone, self.login_code)
        return types.auth.SentCode(
            type=types.auth.SentCodeTypeApp(length=len(self.login_code)),
            phone_code_hash=code_hash,
            next_type=None,
            timeout=None,
        )

    def code_ok(self, code_hash: str, code: str) -> str | None:
        """None if the code is right, else the Telegram error name."""
        if code_hash not in self._code_hashes:
            return "PHONE_CODE_EXPIRED"
        if not code:
            return "PHONE_CODE_EMPTY"
        if code != self.login_code:
            return "PHONE_CODE_INVALID"
        return None

    # -- 2FA (SRP) -------------------------------------------------------------

    def _algo(self) -> types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow:
        return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=self.salt1, salt2=self.salt2, g=SRP_G, p=SRP_PRIME
        )

    def _verifier(self) -> int:
        assert self.password is not None
        x = int.from_bytes(tl_password.compute_hash(self._algo(), self.password), "big")
        return pow(SRP_G, x, int.from_bytes(SRP_PRIME, "big"))

    def password_info(self) -> types.account.Password:
        """Answer ``account.getPassword`` with a fresh SRP round (B, srp_id)."""
        new_algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=self.salt1, salt2=self.salt2, g=SRP_G, p=SRP_PRIME
        )
        secure = types.SecurePasswordKdfAlgoSHA512(salt=os.urandom(8))
        if self.password is None:
            return types.account.Password(
                new_algo=new_algo,
                new_secure_algo=secure,
                secure_random=os.urandom(32),
                has_password=False,
            )
        p = int.from_bytes(SRP_PRIME, "big")
        k = int.from_bytes(_h(SRP_PRIME, _pad(SRP_G)), "big")
        b = int.from_bytes(os.urandom(256), "big") % p
        big_b = (k * self._verifier() + pow(SRP_G, b, p)) % p
        srp_id = secrets.randbits(63)
        self._rounds[srp_id] = _SrpRound(srp_id, b, big_b)
        return types.account.Password(
            new_algo=new_algo,
            new_secure_algo=secure,
            secure_random=os.urandom(32),
            has_password=True,
            current_algo=self._algo(),
            srp_B=_pad(big_b),
            srp_id=srp_id,
            hint="emulator",
        )

    def check_password(self, check: types.TypeInputCheckPasswordSRP) -> str | None:
        """None if the SRP proof matches the known password, else the error name."""
        if self.password is None or not isinstance(check, types.InputCheckPasswordSRP):
            return "PASSWORD_HASH_INVALID"
        rnd = self._rounds.pop(check.srp_id, None)
        if rnd is None:
            return "SRP_ID_INVALID"
        p = int.from_bytes(SRP_PRIME, "big")
        big_a = int.from_bytes(check.A, "big")
        if not 1 < big_a < p - 1:
            return "SRP_A_INVALID"
        a_bytes, b_bytes = _pad(big_a), _pad(rnd.B)
        u = int.from_bytes(_h(a_bytes, b_bytes), "big")
        s = pow(big_a * pow(self._verifier(), u, p) % p, rnd.b, p)
        key = _h(_pad(s))
        hp, hg = _h(SRP_PRIME), _h(_pad(SRP_G))
        expected = _h(
            bytes(x ^ y for x, y in zip(hp, hg, strict=True)),
            _h(self.salt1),
            _h(self.salt2),
            a_bytes,
            b_bytes,
            key,
        )
        return (
            None if secrets.compare_digest(expected, bytes(check.M1)) else "PASSWORD_HASH_INVALID"
        )
