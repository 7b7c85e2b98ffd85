"""MTProto 2.0 over TcpFull, the server half.

One :class:`ClientConnection` per TCP connection. It reads TcpFull frames
(``length, seq, body, crc32``), decrypts them with the auth key the client
names (MTProto 2.0: ``msg_key`` + AES-256-IGE, Telethon's own ``AES``), and
yields :class:`Incoming` messages with the TL object already decoded by
Telethon's own reader. Containers and gzip are unpacked here, so the caller
sees one request at a time. Replies go back encrypted with odd, increasing
server msg_ids, as Telethon checks.

There is no key exchange: the emulator registers pre-shared auth keys (see
``Emulator.write_session``), exactly like a Telegram server that already
knows the client's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha1, sha256
from typing import Any
from zlib import crc32

from telethon.crypto import AES
from telethon.extensions import BinaryReader
from telethon.tl.core import GzipPacked, MessageContainer

RPC_RESULT_ID = 0xF35C6D01
VECTOR_ID = 0x1CB5C415
# Largest frame a client may send (Telegram's own limit is about 1 MiB plus headers).
MAX_FRAME = 2 * 1024 * 1024


class ProtocolViolation(Exception):
    """The peer sent bytes that are not valid MTProto for us; close only its connection."""


def auth_key_id(key: bytes) -> int:
    """The 64-bit id Telegram derives from a 256-byte auth key (lower 8 bytes of SHA1)."""
    return int.from_bytes(sha1(key).digest()[12:20], "little", signed=False)


def _aes_key_iv(auth_key: bytes, msg_key: bytes, from_client: bool) -> tuple[bytes, bytes]:
    # MTProto 2.0 key derivation; x = 0 for client→server, 8 for server→client.
    x = 0 if from_client else 8
    a = sha256(msg_key + auth_key[x : x + 36]).digest()
    b = sha256(auth_key[x + 40 : x + 76] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


@dataclass
class Incoming:
    """One client message after unpacking containers and gzip."""

    msg_id: int
    seq_no: int
    obj: Any


class ClientConnection:
    """The server side of one TCP connection from a Telethon client.

    ``keys`` maps auth key ids to 256-byte keys; a frame naming any other key
    gets Telegram's transport error -404 and the connection is closed.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keys: Callable[[int], bytes | None],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._keys = keys
        self.key: bytes | None = None
        self.key_id: int | None = None
        self.session_id: int | None = None
        self.salt = 0
        self._send_seq = 0
        self._last_msg_id = 0
        self._content_seq = 0
        self._write_lock = asyncio.Lock()
        self.closed = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    # -- reading ---------------------------------------------------------------

    async def _read_frame(self) -> bytes:
        head = await self._reader.readexactly(8)
        length, _seq = struct.unpack("<ii", head)
        if length < 12 or length > MAX_FRAME:
            raise ProtocolViolation(f"bad frame length {length}")
        rest = await self._reader.readexactly(length - 8)
        body, crc = rest[:-4], struct.unpack("<I", rest[-4:])[0]
        if crc32(head + body) != crc:
            raise ProtocolViolation("bad frame checksum")
        return body

    def _decrypt(self, frame: bytes) -> tuple[int, int, Any]:
        if len(frame) < 24 + 32 or (len(frame) - 24) % 16:
            raise ProtocolViolation("encrypted message too short or misaligned")
        key_id = struct.unpack("<Q", frame[:8])[0]
        if key_id == 0:
            raise ProtocolViolation("plain (unencrypted) messages are not served: no key exchange")
        key = self._keys(key_id)
        if key is None:
            raise UnknownAuthKey(key_id)
        if self.key_id is not None and key_id != self.key_id:
            raise ProtocolViolation("auth key changed within one connection")
        self.key, self.key_id = key, key_id
        msg_key = frame[8:24]
        aes_key, aes_iv = _aes_key_iv(key, msg_key, True)
        plain = AES.decrypt_ige(frame[24:], aes_key, aes_iv)
        if sha256(key[88:120] + plain).digest()[8:24] != msg_key:
            raise ProtocolViolation("msg_key mismatch")
        salt, session_id, msg_id, seq_no, length = struct.unpack("<qqqii", plain[:32])
        if length < 0 or 32 + length > len(plain):
            raise ProtocolViolation("inner length out of range")
        if self.session_id is None:
            self.session_id = session_id
        elif session_id != self.session_id:
            # Telethon resets its session id only together with a new connection.
            self.session_id = session_id
        self.salt = salt
        with BinaryReader(plain[32 : 32 + length]) as reader:
            obj = reader.tgread_object()
        return msg_id, seq_no, obj

    async def receive(self) -> list[Incoming]:
        """Read one frame and return the messages it carries (containers flattened).

        Raises ``asyncio.IncompleteReadError``/``ConnectionError`` when the peer
        goes away, :class:`ProtocolViolation` or :class:`UnknownAuthKey` on garbage.
        """
        frame = await self._read_frame()
        if len(frame) == 4:
            raise ProtocolViolation("transport error code from client")
        try:
            msg_id, seq_no, obj = self._decrypt(frame)
        except (ProtocolViolation, UnknownAuthKey):
            raise
        except Exception as err:  # TL decoding of attacker-controlled bytes
            raise ProtocolViolation(f"undecodable message: {type(err).__name__}") from err
        return list(_flatten(Incoming(msg_id, seq_no, obj)))

    # -- writing ---------------------------------------------------------------

    def _new_msg_id(self) -> int:
        now = time.time()
        msg_id = (int(now) << 32) | ((int((now % 1) * 1e9) << 2) & 0xFFFFFFFC) | 1
        if msg_id <= self._last_msg_id:
            msg_id = self._last_msg_id + 2
        self._last_msg_id = msg_id
        return msg_id

    def _encrypt(self, payload: bytes, content_related: bool) -> tuple[bytes, int]:
        assert self.key is not None and self.key_id is not None and self.session_id is not None
        if content_related:
            seq = self._content_seq * 2 + 1
            self._content_seq += 1
        else:
            seq = self._content_seq * 2
        msg_id = self._new_msg_id()
        plain = struct.pack("<qqqii", self.salt, self.session_id, msg_id, seq, len(payload))
        plain += payload
        padding = os.urandom(-(len(plain) + 12) % 16 + 12)
        msg_key = sha256(self.key[96:128] + plain + padding).digest()[8:24]
        aes_key, aes_iv = _aes_key_iv(self.key, msg_key, False)
        cipher: bytes = AES.encrypt_ige(plain + padding, aes_key, aes_iv)
        return struct.pack("<Q", self.key_id) + msg_key + cipher, msg_id

    async def _write_frame(self, body: bytes) -> bool:
        async with self._write_lock:
            if self.closed:
                return False
            length = len(body) + 12
            head = struct.pack("<ii", length, self._send_seq)
            self._send_seq += 1
            self._writer.write(head + body + struct.pack("<I", crc32(head + body)))
            await self._writer.drain()
            return True

    async def send(self, payload: bytes, *, content_related: bool = True) -> int | None:
        """Encrypt one serialized TL object and send it (needs a prior client message).

        Returns the server msg_id it went out with, or ``None`` when the
        connection was already closed and nothing was written. Written is not
        delivered: only the client's ``msgs_ack`` says it arrived.
        """
        if self.session_id is None or self.closed:
            return None
        frame, msg_id = self._encrypt(payload, content_related)
        return msg_id if await self._write_frame(frame) else None

    async def send_result(self, req_msg_id: int, body: bytes) -> None:
        """Answer a request: ``rpc_result#f35c6d01 req_msg_id:long result:Object``."""
        await self.send(struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + body)

    async def send_transport_error(self, code: int) -> None:
        """Send a 4-byte transport error (e.g. -404 for an unknown auth key)."""
        await self._write_frame(struct.pack("<i", code))

    async def close(self) -> None:
        """Close the TCP connection; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


class UnknownAuthKey(Exception):
    """A frame named an auth key the emulator does not know."""

    def __init__(self, key_id: int) -> None:
        super().__init__(f"unknown auth key id {key_id:#x}")
        self.key_id = key_id


def _flatten(message: Incoming) -> list[Incoming]:
    obj = message.obj
    if isinstance(obj, MessageContainer):
        out: list[Incoming] = []
        for inner in obj.messages:
            out.extend(_flatten(Incoming(inner.msg_id, inner.seq_no, inner.obj)))
        return out
    if isinstance(obj, GzipPacked):
        with BinaryReader(obj.data) as reader:
            return _flatten(Incoming(message.msg_id, message.seq_no, reader.tgread_object()))
    return [message]


def vector(items: list[bytes]) -> bytes:
    """Serialize a bare ``Vector<T>`` result (boxed header 0x1cb5c415)."""
    return struct.pack("<Ii", VECTOR_ID, len(items)) + b"".join(items)


__all__ = [
    "RPC_RESULT_ID",
    "ClientConnection",
    "Incoming",
    "ProtocolViolation",
    "UnknownAuthKey",
    "auth_key_id",
    "vector",
]
