"""A real HTTP server for REST connector tests: a deterministic MES feed behind every paginator style.

Runs on 127.0.0.1 with an OS-chosen port, counts requests per route so tests can assert retries,
and stops at once at teardown even while a slow handler is still waiting. With `tls=True` it speaks
HTTPS with a self-signed certificate that no client trusts unless it is given TEST_CERT.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

TOKEN = "s3cr3t-token-4711"
API_KEY_HEADER = "X-Api-Key"
N_RECORDS = 95
SLOW_S = 3.0

# A self-signed certificate for 127.0.0.1 (ECDSA P-256, valid 2020-2120), made once for these tests.
# Its key guards nothing but this local test server; it is not a secret.
TEST_CERT = """\
-----BEGIN CERTIFICATE-----
MIIB3zCCAYWgAwIBAgIUafALWfe2BHMXGsi4dpwD7LFnGcUwCgYIKoZIzj0EAwIw
KDEmMCQGA1UEAwwdY29ja3BpdCB0ZXN0IHNlcnZlciAxMjcuMC4wLjEwIBcNMjAw
MTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBaMCgxJjAkBgNVBAMMHWNvY2twaXQg
dGVzdCBzZXJ2ZXIgMTI3LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
WQoBrMt6jZ8QGV7s6MupxbgRN0KbQ0clwFingfsNlcODV2B1z7zWXvjrH0VfejUH
+U5qpvBRkpcq+3uab8Fu5aOBijCBhzAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB
/wQEAwIChDATBgNVHSUEDDAKBggrBgEFBQcDATAPBgNVHREECDAGhwR/AAABMB0G
A1UdDgQWBBQLmTkH6kMF8y1SarmiaI0Gws3OqzAfBgNVHSMEGDAWgBQLmTkH6kMF
8y1SarmiaI0Gws3OqzAKBggqhkjOPQQDAgNIADBFAiAtpu601xYzl5FAR3g+IXDk
Tb1fc9eorK4rVwPQHQ1UqQIhAIOnl4/pJ0K508Ncf039Vxy2VlnzsZkzyEmvpaKI
tF7S
-----END CERTIFICATE-----
"""
TEST_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0sCt64JsI0muSPpw
QvF/Z2V7OY0M/olFamRUEJsKv7GhRANCAARZCgGsy3qNnxAZXuzoy6nFuBE3QptD
RyXAWKeB+w2Vw4NXYHXPvNZe+OsfRV96NQf5Tmqm8FGSlyr7e5pvwW7l
-----END PRIVATE KEY-----
"""


def record(i: int) -> dict:
    """Record i (1-based) of the feed: units L1/L2 and products A/B of the golden plant, produced = sum."""
    start = datetime(2025, 1, 6, 8, 0) + timedelta(minutes=10 * i)
    scrap, rework = i % 3, i % 2
    produced = 10 + i % 5
    return {
        "record_id": f"R{i:03d}", "unit_id": "L1" if i % 2 else "L2", "product_id": "A" if i % 3 else "B",
        "start_at": f"{start:%Y-%m-%d %H:%M:%S}",
        "end_at": f"{start + timedelta(minutes=10):%Y-%m-%d %H:%M:%S}",
        "produced_qty": produced, "good_qty": produced - scrap - rework,
        "scrap_qty": scrap, "rework_qty": rework,
        "updated_at": f"{datetime(2025, 1, 7) + timedelta(minutes=i):%Y-%m-%d %H:%M:%S}",
    }


RECORDS = [record(i) for i in range(1, N_RECORDS + 1)]


class FakeMes(ThreadingHTTPServer):
    """The server; `counts[path]` and `seen` (path, query, headers) record what the connector asked."""

    daemon_threads = True
    block_on_close = False  # teardown must not wait for the slow route's handler

    def __init__(self, tls: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with tempfile.TemporaryDirectory() as folder:  # load_cert_chain reads only files
                chain = Path(folder) / "server.pem"
                chain.write_text(TEST_CERT + TEST_KEY)
                context.load_cert_chain(chain)
            # The handshake runs in accept(); a client refusing the certificate is an OSError there,
            # which socketserver ignores, as the TLS tests expect.
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.counts: Counter[str] = Counter()
        self.seen: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.visible = N_RECORDS  # the incremental route shows only the first `visible` records

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (timeout tests) is expected, not noise for the test log


class Handler(BaseHTTPRequestHandler):
    server: FakeMes

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.server.lock:
            self.server.counts[parts.path] += 1
            count = self.server.counts[parts.path]
            self.server.seen.append((parts.path, query, dict(self.headers.items())))
        route = ROUTES.get(parts.path)
        if route is None:
            return self.send(404, {"error": f"no route {parts.path}"})
        try:
            route(self, query, count)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send(self, status: int, body, headers: dict[str, str] | None = None, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _window(query: dict[str, str], start_key: str, size_key: str, default_size: int, base: int = 0):
    start = int(query.get(start_key, base)) - base
    size = int(query.get(size_key, default_size))
    return start, size


def items(h: Handler, query, count) -> None:
    h.send(200, RECORDS)


def paged(h: Handler, query, count) -> None:
    page, size = _window(query, "page", "per_page", 10, base=1)
    chunk = RECORDS[page * size:(page + 1) * size]
    h.send(200, {"data": {"items": chunk, "page": page + 1}})


def offset(h: Handler, query, count) -> None:
    start, size = _window(query, "offset", "limit", 10)
    size = min(size, 20)  # a server that caps what a client may ask for
    h.send(200, {"results": RECORDS[start:start + size], "total": N_RECORDS})


def cursor(h: Handler, query, count) -> None:
    start = int(base64.b64decode(query["cursor"]).decode()) if "cursor" in query else 0
    chunk = RECORDS[start:start + 25]
    end = start + len(chunk)
    nxt = base64.b64encode(str(end).encode()).decode() if end < N_RECORDS else None
    h.send(200, {"items": chunk, "meta": {"next_cursor": nxt}})


def linked(h: Handler, query, count) -> None:
    page = int(query.get("p", 1))
    chunk = RECORDS[(page - 1) * 30:page * 30]
    headers = {}
    if page * 30 < N_RECORDS:
        base = f"{h.server.url}/linked"
        headers["Link"] = f'<{base}?p={page + 1}>; rel="next", <{base}?p=1>; rel="first"'
    h.send(200, chunk, headers)


def secure(h: Handler, query, count) -> None:
    auth = h.headers.get("Authorization", "")
    key = h.headers.get(API_KEY_HEADER, "")
    if auth == f"Bearer {TOKEN}" or key == TOKEN:
        return h.send(200, RECORDS[:5])
    # Echo what was sent, as careless servers do: the connector must not repeat it in its error.
    h.send(401, {"error": f"invalid credentials: {auth or key}"})


def flaky(h: Handler, query, count) -> None:
    if count <= 2:
        return h.send(500, {"error": "database busy"})
    h.send(200, RECORDS[:3])


def throttled(h: Handler, query, count) -> None:
    if count == 1:  # ?after= sets the Retry-After value (RFC 9110: whole seconds or an HTTP date)
        return h.send(429, {"error": "slow down"}, {"Retry-After": query.get("after", "1")})
    h.send(200, RECORDS[:3])


def down(h: Handler, query, count) -> None:
    h.send(503, {"error": "maintenance"})


def slow(h: Handler, query, count) -> None:
    h.server.stopping.wait(SLOW_S)
    h.send(200, RECORDS[:1])


def malformed(h: Handler, query, count) -> None:
    h.send(200, None, raw=b'{"data": [{"record_id": "R001", ')


def wrong_shape(h: Handler, query, count) -> None:
    h.send(200, {"data": {"items": {"record_id": "R001"}}})


def nested(h: Handler, query, count) -> None:
    rows = [{"record_id": r["record_id"], "qty": {"produced": r["produced_qty"], "good": r["good_qty"]},
             "tags": ["a", "b"], "ratio": 0.1 + 0.2, "whole": 12.0, "note": None} for r in RECORDS[:2]]
    h.send(200, rows)


def incremental(h: Handler, query, count) -> None:
    after = query.get("updated_after", "")
    rows = [r for r in RECORDS[:h.server.visible] if r["updated_at"] > after]
    page, size = _window(query, "page", "page_size", 50, base=1)
    h.send(200, rows[page * size:(page + 1) * size])


ROUTES = {
    "/items": items, "/paged": paged, "/offset": offset, "/cursor": cursor, "/linked": linked,
    "/secure": secure, "/flaky": flaky, "/throttled": throttled, "/down": down, "/slow": slow,
    "/malformed": malformed, "/wrong-shape": wrong_shape, "/nested": nested, "/incremental": incremental,
}


@contextmanager
def serving(tls: bool = False) -> Iterator[FakeMes]:
    """Start the server in a thread; stop it (and release slow handlers) on exit."""
    server = FakeMes(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
