"""`xref URL` against real HTTP servers on 127.0.0.1: size, time and address limits."""

from __future__ import annotations

import contextlib
import http.server
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import UserError
from telewatch.xref.fetch import FetchLimits, address_refusal, fetch

ARTICLE = (
    b"<!doctype html><html lang='fr'><head><title>Irak</title></head><body><article>"
    b"<p>Deux convois logistiques de l'arm\xc3\xa9e am\xc3\xa9ricaine ont \xc3\xa9t\xc3\xa9"
    b" vis\xc3\xa9s mardi matin pr\xc3\xa8s de Samawa, selon la cha\xc3\xaene Telegram"
    b" Rafidain Watch.</p></article></body></html>"
)


def _gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MiB of zeros, gzip-compressed (about 1 KiB per MiB)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join(z.compress(block) for _ in range(megabytes)) + z.flush()


BOMB = _gzip_bomb(1024)  # 1 GiB decoded from about 1 MB on the wire


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Callable[[_Handler], None]]] = {}

    def do_GET(self) -> None:
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        with contextlib.suppress(OSError):  # the client left (refused or abandoned)
            route(self)

    def log_message(self, *args: object) -> None:
        pass


def _html(h: _Handler, body: bytes = ARTICLE) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _bomb(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(BOMB)))
    h.end_headers()
    h.wfile.write(BOMB)


def _drip_body(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    for _ in range(60):
        h.wfile.write(b"<")
        h.wfile.flush()
        time.sleep(0.5)


def _drip_headers(h: _Handler) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 100:
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.5)


def _pdf(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/pdf")
    h.end_headers()
    h.wfile.write(b"%PDF-1.4\x00\x01\x02")


@pytest.fixture
def server() -> Iterator[tuple[str, Callable[[str, Callable[[_Handler], None]], None]]]:
    """A threaded HTTP server on 127.0.0.1: (base URL, add_route(path, handler))."""
    routes: ClassVar[dict[str, Callable[[_Handler], None]]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base, routes.__setitem__
    finally:
        httpd.shutdown()
        httpd.server_close()


def _xref(db: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["--db", str(db), "xref", *args])
    return r.exit_code, r.stdout, r.stderr


def test_local_url_is_refused_without_allow_local(
    server: tuple[str, Callable[..., None]], xref_dev_archive: Path
) -> None:
    """A URL on 127.0.0.1 (or localhost) is refused in one line naming the address and the flag."""
    base, route = server
    route("/a", _html)
    code, out, err = _xref(xref_dev_archive, f"{base}/a")
    assert code == 2 and out == ""
    assert err == (
        f"error: refused {base}/a: 127.0.0.1 is a loopback address; pass --allow-local"
        " (or --allow-host HOST) to fetch local and private addresses\n"
    )
    code, _, err = _xref(xref_dev_archive, base.replace("127.0.0.1", "localhost") + "/a")
    assert code == 2 and "localhost resolves to 127.0.0.1, a loopback address" in err


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1]:9/", "::1 is a loopback address"),
        ("http://0.0.0.0:9/", "0.0.0.0 is the unspecified address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.1:9/", "10.0.0.1 is a private address"),
        ("http://192.168.1.1:9/", "192.168.1.1 is a private address"),
        ("http://[::ffff:127.0.0.1]:9/", "::ffff:127.0.0.1 is a loopback address"),
        ("http://2130706433:9/", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.1:9/", "0x7f.1 resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_non_public_addresses_are_refused_before_connecting(url: str, why: str) -> None:
    """Loopback, unspecified, link-local (cloud metadata), private and IPv4-mapped hosts are refused."""
    started = time.monotonic()
    with pytest.raises(UserError, match="refused") as info:
        fetch(url, FetchLimits(timeout=20))
    assert why in str(info.value)
    assert time.monotonic() - started < 5  # refused, not tried until a timeout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "http://[::1 is not a valid URL (Invalid port"),
        ("http://" + "a" * 300 + ".com/", "is not a valid URL (encoding with 'idna' codec failed"),
        ("http://", "could not fetch http:// (UnsupportedProtocol"),
    ],
)
def test_malformed_urls_are_one_line(url: str, message: str) -> None:
    """A URL httpx cannot even parse is a UserError naming it, not an InvalidURL crash."""
    with pytest.raises(UserError) as info:
        fetch(url, FetchLimits(timeout=5))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_address_refusal_classifies_addresses() -> None:
    """Public addresses pass; every non-public class is named."""
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    assert address_refusal("127.0.0.2") == "a loopback address"
    assert address_refusal("::ffff:10.1.2.3") == "a private address"
    assert address_refusal("fe80::1") == "a link-local address"
    assert address_refusal("224.0.0.1") == "a multicast address"
    assert address_refusal("100.64.0.1") == "a reserved, non-public address"


def test_allow_local_fetches_the_local_article(
    server: tuple[str, Callable[..., None]], xref_dev_archive: Path
) -> None:
    """With --allow-local the page on 127.0.0.1 is read and cross-referenced."""
    base, route = server
    route("/a", _html)
    code, out, err = _xref(xref_dev_archive, f"{base}/a", "--allow-local")
    assert code == 0, err
    assert out.startswith(f"Article: {base}/a [fr]") or out.startswith("Article: Irak [fr]")
    assert "@rafidain_watch" in out


def test_redirect_to_another_local_host_is_refused(
    server: tuple[str, Callable[..., None]], xref_dev_archive: Path
) -> None:
    """--allow-host opens one local host; its redirect to another local address is refused."""
    base, route = server
    port = base.rsplit(":", 1)[1]

    def redirect(h: _Handler) -> None:
        h.send_response(302)
        h.send_header("Location", f"http://localhost:{port}/a")
        h.end_headers()

    route("/r", redirect)
    route("/a", _html)
    code, out, err = _xref(xref_dev_archive, f"{base}/r", "--allow-host", f"127.0.0.1:{port}")
    assert code == 2 and out == ""
    assert err.startswith(
        f"error: refused {base}/r: it redirects to http://localhost:{port}/a,"
        " and localhost resolves to 127.0.0.1, a loopback address"
    )
    assert err.count("\n") == 1
    # The same chain with every local address allowed reaches the article.
    code, out, _ = _xref(xref_dev_archive, f"{base}/r", "--allow-local")
    assert code == 0 and "@rafidain_watch" in out


def test_redirect_loop_and_non_http_redirect_are_one_line(
    server: tuple[str, Callable[..., None]], xref_dev_archive: Path
) -> None:
    """A redirect loop stops after --max-redirects; a redirect to file:// is refused."""
    base, route = server

    def loop(h: _Handler) -> None:
        h.send_response(301)
        h.send_header("Location", "/loop")
        h.end_headers()

    def to_file(h: _Handler) -> None:
        h.send_response(302)
        h.send_header("Location", "file:///etc/passwd")
        h.end_headers()

    route("/loop", loop)
    route("/file", to_file)
    code, _, err = _xref(xref_dev_archive, f"{base}/loop", "--allow-local", "--max-redirects", "3")
    assert code == 2 and "redirected more than 3 times" in err and err.count("\n") == 1
    code, _, err = _xref(xref_dev_archive, f"{base}/file", "--allow-local")
    assert code == 2 and "file:///etc/passwd, which is not an http(s) URL" in err


def test_gzip_bomb_stops_at_max_bytes_in_bounded_memory(
    server: tuple[str, Callable[..., None]], tmp_path: Path, xref_dev_archive: Path
) -> None:
    """A 1 MB gzip bomb (1 GiB decoded) ends with one line and the process stays small."""
    base, route = server
    route("/bomb", _bomb)
    exe = Path(sys.executable).with_name("telewatch")
    # A child that runs `telewatch xref` and reports the peak RSS of its own child.
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(p.stderr)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            str(exe),
            "--db",
            str(xref_dev_archive),
            "xref",
            f"{base}/bomb",
            "--allow-local",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, peak_kb = map(int, r.stdout.split())
    assert code == 2
    assert r.stderr == (
        f"error: {base}/bomb is larger than --max-bytes 10 MiB once decompressed; stopped"
        " reading there: raise --max-bytes or save the article's text and pass the file\n"
    )
    assert peak_kb < 250_000, f"peak RSS {peak_kb} KiB"


def test_max_bytes_applies_to_plain_bodies_and_files(
    server: tuple[str, Callable[..., None]], tmp_path: Path, xref_dev_archive: Path
) -> None:
    """--max-bytes refuses an announced large body, and a large article file, in one line."""
    base, route = server
    route("/a", _html)
    code, _, err = _xref(xref_dev_archive, f"{base}/a", "--allow-local", "--max-bytes", "100")
    assert code == 2
    assert f"{base}/a is {len(ARTICLE):,} bytes, larger than --max-bytes 100 bytes" in err
    big = tmp_path / "big.txt"
    big.write_text("Rafidain Watch convoy Samawa. " * 1000, "utf-8")
    code, _, err = _xref(xref_dev_archive, str(big), "--max-bytes", "1000")
    assert code == 2 and "30,000 bytes, more than --max-bytes 1,000" in err


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_dripping_server_is_cut_at_the_fetch_timeout(
    path: str, server: tuple[str, Callable[..., None]], xref_dev_archive: Path
) -> None:
    """A server sending one byte per 0.5 s (body or headers) is given up at --fetch-timeout."""
    base, route = server
    route("/drip-body", _drip_body)
    route("/drip-headers", _drip_headers)
    started = time.monotonic()
    code, _, err = _xref(xref_dev_archive, f"{base}{path}", "--allow-local", "--fetch-timeout", "2")
    elapsed = time.monotonic() - started
    assert code == 2
    assert err == (
        f"error: gave up on {base}{path} after 2 s (--fetch-timeout); the server is too slow:"
        " save the page and pass the file\n"
    )
    assert elapsed < 6, elapsed  # 2 s and the slack of a loaded machine, not 30 s


def test_non_html_content_is_refused(
    server: tuple[str, Callable[..., None]], xref_dev_archive: Path
) -> None:
    """A PDF (or any non-text type) is refused naming its type, and an HTTP error its status."""
    base, route = server
    route("/doc.pdf", _pdf)
    code, _, err = _xref(xref_dev_archive, f"{base}/doc.pdf", "--allow-local")
    assert code == 2 and "is application/pdf, not an HTML or text page" in err
    code, _, err = _xref(xref_dev_archive, f"{base}/missing", "--allow-local")
    assert code == 2 and "the server answered 404 Not Found" in err


def test_fetch_limits_reject_non_finite_timeout(xref_dev_archive: Path) -> None:
    """--fetch-timeout nan/inf is a one-line usage error, not a hang."""
    for bad in ("nan", "inf"):
        code, _, err = _xref(xref_dev_archive, "http://example.org/", "--fetch-timeout", bad)
        assert code == 2 and err.count("\n") == 1 and "--fetch-timeout" in err
