"""Fetching an article URL without letting the page decide what it costs.

``fetch(url, limits)`` returns the page's bytes and content type, or raises
``UserError`` with one line saying what happened. Three limits hold whatever
the server does:

* **Size.** At most ``max_bytes`` of *decoded* content: the body is read raw
  and decompressed here (gzip, deflate) with a bound on each step's output,
  so a 1 MB gzip bomb costs ``max_bytes`` of memory, not gigabytes.
* **Time.** One deadline (``timeout`` seconds) across name resolution,
  connecting, every redirect and the body. Socket timeouts alone do not
  bound a server that drips one byte every few seconds, so a timer shuts
  the connection's socket down when the deadline passes.
* **Where.** Every address a host name resolves to is checked before
  connecting, for the first URL and for every redirect; a loopback, private,
  link-local, unspecified, multicast or reserved address is refused unless
  ``allow_local``. The connection is then made to the address that was
  checked, so a name that resolves differently a moment later (DNS
  rebinding) cannot slip past the check. Proxies from the environment are
  not used: a proxy would resolve the name itself, unchecked.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telewatch.models import UserError

if TYPE_CHECKING:
    import httpx

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What one ``xref URL`` may cost: decoded bytes, total seconds, redirects,
    and whether local/private addresses may be fetched."""

    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    allow_local: bool = False
    allow_hosts: frozenset[str] = frozenset()
    """``host`` or ``host:port`` (as written in URLs, lower case) that may be
    local although ``allow_local`` is off: a local web archive (ArchiveBox,
    a Wayback mirror) without opening every local address to redirects."""


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched page: its (decoded) bytes, content type and final URL."""

    body: bytes
    content_type: str
    charset: str | None
    url: str


class _Refused(Exception):
    """A host resolved to an address that is not public."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} resolves to {address}, {why}")
        self.host, self.address, self.why = host, address, why


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP literal) must not be fetched without
    ``--allow-local`` ("a loopback address", …), or None for a public one."""
    import ipaddress

    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved, non-public address"
    return None


class _Deadline:
    """The one deadline of a fetch, and the sockets to cut when it passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def passed(self) -> bool:
        """True once the deadline has passed (or its timer fired)."""
        return self.expired or time.monotonic() >= self.end - 0.05

    def remaining(self) -> float:
        """Seconds left; raises TimeoutError once none are."""
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            self.expired = True
            raise TimeoutError
        return left

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (a duplicate of it, so
        that TLS wrapping, which detaches the original, does not matter)."""
        dup = sock.dup()
        with self._lock:
            self._socks.append(dup)
            late = self.expired
        if late:
            self._expire()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop the timer and release the duplicated sockets."""
        self._timer.cancel()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            s.close()


def _resolve(host: str, port: int, deadline: _Deadline) -> list[str]:
    """The addresses of ``host`` (in getaddrinfo order, no duplicates), within
    the deadline. Raises httpcore.ConnectError when the name does not resolve."""
    import concurrent.futures

    import httpcore

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=deadline.remaining())
        except concurrent.futures.TimeoutError:
            deadline.expired = True
            raise TimeoutError from None
        except socket.gaierror as err:
            raise httpcore.ConnectError(f"cannot resolve {host}: {err.strerror}") from None
    finally:
        pool.shutdown(wait=False)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _client(deadline: _Deadline, limits: FetchLimits) -> httpx.Client:
    """An httpx client whose every connection goes through the address check.
    httpx is imported here, not at module level: ``telewatch`` starts faster
    for every command that never fetches."""
    import httpcore
    import httpx

    class _CheckedBackend(httpcore.SyncBackend):
        """httpcore's network backend, resolving and checking every host itself
        and connecting to the checked address (no second, unchecked lookup)."""

        def __init__(self, deadline: _Deadline, limits: FetchLimits) -> None:
            self._deadline = deadline
            self._limits = limits

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            addresses = _resolve(host, port, self._deadline)
            lim = self._limits
            named = host.lower().strip("[]")
            allowed = named in lim.allow_hosts or f"{named}:{port}" in lim.allow_hosts
            if not (lim.allow_local or allowed):
                for a in addresses:
                    why = address_refusal(a)
                    if why is not None:
                        raise _Refused(host, a, why)
            error: Exception | None = None
            for a in addresses:
                try:
                    left = self._deadline.remaining()
                    stream = super().connect_tcp(
                        a,
                        port,
                        timeout=left if timeout is None else min(timeout, left),
                        local_address=local_address,
                        socket_options=socket_options,
                    )
                except httpcore.ConnectError as err:
                    error = err
                    continue
                sock = stream.get_extra_info("socket")
                if isinstance(sock, socket.socket):
                    self._deadline.watch(sock)
                return stream
            raise error or httpcore.ConnectError(f"{host} has no address")

    class _Transport(httpx.HTTPTransport):
        """httpx's transport over the checked network backend."""

        def __init__(self, backend: _CheckedBackend) -> None:
            super().__init__(trust_env=False)
            ssl_context = httpx.create_ssl_context(trust_env=False)
            # httpx builds its pool without a way to pass a network backend:
            # replace it by the same pool over ours (no proxy is ever configured).
            self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend)

    return httpx.Client(
        transport=_Transport(_CheckedBackend(deadline, limits)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "telewatch", "Accept-Encoding": "gzip, deflate"},
    )


_DECODERS = ("gzip", "x-gzip", "deflate", "identity", "")


class _Decoder:
    """Content-Encoding decoding with a bound on the output of every step."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.total = 0
        self._z: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        self._first = True

    @property
    def compressed(self) -> bool:
        """True when the body is compressed (gzip or deflate)."""
        return self._z is not None

    def feed(self, data: bytes, out: list[bytes]) -> None:
        """Decode ``data`` into ``out``; raises OverflowError past the limit."""
        if self._z is None:
            self._take(data, out)
            return
        while data:
            try:
                piece = self._z.decompress(data, self.limit - self.total + 1)
            except zlib.error:
                if self.encoding == "deflate" and self._first:
                    # "deflate" is sometimes sent without its zlib header.
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise
            self._first = False
            self._take(piece, out)
            data = self._z.unconsumed_tail
            if self._z.eof:
                rest = self._z.unused_data
                if not rest:
                    return
                # A second gzip member: decode it too.
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = rest

    def _take(self, piece: bytes, out: list[bytes]) -> None:
        self.total += len(piece)
        if self.total > self.limit:
            raise OverflowError
        out.append(piece)


def _mb(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n:,} bytes"


_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.I)


def fetch(url: str, limits: FetchLimits | None = None) -> Page:
    """GET ``url`` within ``limits`` (see the module docstring). Raises
    UserError with one line: refused address, too large, too slow, too many
    redirects, HTTP error status, unsupported encoding, network failure."""
    lim = limits or FetchLimits()
    import httpx

    deadline = _Deadline(lim.timeout)
    chain = [url]
    try:
        with _client(deadline, lim) as client:
            return _get(client, url, lim, deadline, chain)
    except _Refused as err:
        hop = f"it redirects to {chain[-1]}, and " if len(chain) > 1 else ""
        where = (
            f"{err.host} is {err.why}"
            if err.host.strip("[]") == err.address
            else f"{err.host} resolves to {err.address}, {err.why}"
        )
        raise UserError(
            f"refused {url}: {hop}{where}; pass --allow-local (or --allow-host HOST)"
            " to fetch local and private addresses"
        ) from None
    except TimeoutError:
        raise UserError(
            f"gave up on {url} after {lim.timeout:g} s (--fetch-timeout);"
            " the server is too slow: save the page and pass the file"
        ) from None
    except (httpx.InvalidURL, UnicodeError) as err:
        # A malformed address (bad port, a label too long for IDNA, ...),
        # given or redirected to.
        bad = chain[-1] if len(chain) > 1 else url
        raise UserError(f"{bad} is not a valid URL ({err}); check it") from None
    except httpx.HTTPError as err:
        if deadline.passed():
            raise UserError(
                f"gave up on {url} after {lim.timeout:g} s (--fetch-timeout);"
                " the server is too slow: save the page and pass the file"
            ) from None
        raise UserError(
            f"could not fetch {chain[-1]} ({type(err).__name__}: {err});"
            " check the network or save the page and pass the file"
        ) from None
    finally:
        deadline.close()


def _get(
    client: httpx.Client, url: str, lim: FetchLimits, deadline: _Deadline, chain: list[str]
) -> Page:
    request = client.build_request("GET", url)
    for _ in range(lim.max_redirects + 1):
        left = deadline.remaining()
        request.extensions["timeout"] = {"connect": left, "read": left, "write": left, "pool": left}
        response = client.send(request, stream=True)
        try:
            if response.is_redirect and response.next_request is not None:
                nxt = response.next_request
                chain.append(str(nxt.url))
                if nxt.url.scheme not in ("http", "https"):
                    location = response.headers.get("location", str(nxt.url))
                    raise UserError(f"{url} redirected to {location}, which is not an http(s) URL")
                request = nxt
                continue
            return _read(response, lim, deadline)
        finally:
            response.close()
    raise UserError(
        f"{url} redirected more than {lim.max_redirects} times (last to {chain[-1]});"
        " pass the final URL or save the page"
    )


def _read(response: httpx.Response, lim: FetchLimits, deadline: _Deadline) -> Page:
    url = str(response.request.url)
    if response.status_code >= 400:
        raise UserError(
            f"could not fetch {url}: the server answered {response.status_code}"
            f" {response.reason_phrase}; check the URL or save the page and pass the file"
        )
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in _DECODERS:
        raise UserError(f"{url} is sent with Content-Encoding {encoding!r}, which xref cannot read")
    length = response.headers.get("content-length", "")
    if encoding in ("", "identity") and length.isdigit() and int(length) > lim.max_bytes:
        raise UserError(
            f"{url} is {_mb(int(length))}, larger than --max-bytes {_mb(lim.max_bytes)};"
            " raise --max-bytes or save the article's text and pass the file"
        )
    decoder = _Decoder(encoding, lim.max_bytes)
    out: list[bytes] = []
    try:
        for raw in response.iter_raw(65536):
            decoder.feed(raw, out)
            deadline.remaining()
    except OverflowError:
        unpacked = " once decompressed" if decoder.compressed else ""
        raise UserError(
            f"{url} is larger than --max-bytes {_mb(lim.max_bytes)}{unpacked}; stopped reading"
            " there: raise --max-bytes or save the article's text and pass the file"
        ) from None
    except zlib.error:
        raise UserError(f"{url}: the {encoding} content is corrupt") from None
    ctype = response.headers.get("content-type", "")
    mime = ctype.split(";", 1)[0].strip().lower()
    charset = response.charset_encoding
    body = b"".join(out)
    if charset is None:
        m = _META_CHARSET.search(body[:4096])
        charset = m.group(1).decode("ascii") if m else None
    return Page(body=body, content_type=mime, charset=charset, url=url)
