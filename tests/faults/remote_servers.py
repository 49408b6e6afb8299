"""Misbehaving OTLP/HTTP endpoints on 127.0.0.1 for the remote fault tests: real sockets.

Each server runs an accept loop on a daemon thread and one thread per connection; every
loop is bounded (a stop event, a cap on bytes, socket timeouts) and ``close()`` ends them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["RawServer", "closed_port", "read_request"]

_CAP_BYTES = 256 * 2**20  # no server sends more than this, whatever the client does


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_request(conn: socket.socket, stop: threading.Event) -> bytes | None:
    """Read one HTTP request (headers and a Content-Length body); None if the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = _recv(conn, stop)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = _recv(conn, stop)
        if not chunk:
            return None
        body += chunk
    return body[:length]


def _recv(conn: socket.socket, stop: threading.Event) -> bytes:
    while not stop.is_set():
        try:
            return conn.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return b""
    return b""


class RawServer:
    """A TCP server on 127.0.0.1 whose ``handle(conn, server)`` runs once per connection."""

    def __init__(self, handle: Callable[[socket.socket, RawServer], None]) -> None:
        self.handle = handle
        self.stop = threading.Event()
        self.connections = 0
        self.requests = 0
        self.sent_bytes = 0  # what the server managed to send in all
        self.spans: list[bytes] = []  # span ids of the spans it accepted (200 answers)
        self.state: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1/traces"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.handle(conn, self)

    def send(self, conn: socket.socket, data: bytes) -> bool:
        """Send ``data`` (counted); False once the client is gone or the server stops."""
        view = memoryview(data)
        while view and not self.stop.is_set() and self.sent_bytes < _CAP_BYTES:
            try:
                sent = conn.send(view)
            except TimeoutError:
                continue
            except OSError:
                return False
            with self._lock:
                self.sent_bytes += sent
            view = view[sent:]
        return not view

    def record(self, body: bytes) -> None:
        """Keep the span ids of an OTLP request the server accepted."""
        request = ExportTraceServiceRequest.FromString(body)
        ids = [
            s.span_id for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
        ]
        with self._lock:
            self.requests += 1
            self.spans.extend(ids)

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()


# Behaviours ---------------------------------------------------------------------------------
def hang(conn: socket.socket, server: RawServer) -> None:
    """Accept, never read, never answer (until the server stops)."""
    server.stop.wait(60)


def garbage(conn: socket.socket, server: RawServer) -> None:
    """Answer every request with bytes that are not HTTP."""
    while read_request(conn, server.stop) is not None:
        if not server.send(conn, b"\x00\xffNOT-HTTP\x13\x37" * 64 + b"\r\n\r\n"):
            return


def junk_ok(conn: socket.socket, server: RawServer) -> None:
    """HTTP 200 with a body that is not protobuf (keep-alive)."""
    while read_request(conn, server.stop) is not None:
        body = b"<html>certainly not an ExportTraceServiceResponse</html>" * 10
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        if not server.send(conn, head + body):
            return


def trickle(conn: socket.socket, server: RawServer) -> None:
    """Answer one byte every 100 ms (a whole answer would take seconds)."""
    if read_request(conn, server.stop) is None:
        return
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"." * 200 + b"\r\n\r\nok"
    for i in range(len(answer)):
        if server.stop.wait(0.1) or not server.send(conn, answer[i : i + 1]):
            return


def trickle_body(conn: socket.socket, server: RawServer) -> None:
    """HTTP 200 announcing a 1 GB body, then one byte of it every 200 ms."""
    if read_request(conn, server.stop) is None:
        return
    if not server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n"):
        return
    while not server.stop.wait(0.2) and server.send(conn, b"x"):
        pass


def endless(conn: socket.socket, server: RawServer) -> None:
    """HTTP 200 and then a body that never ends (until the client goes or the cap)."""
    if read_request(conn, server.stop) is None:
        return
    if not server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"):
        return
    chunk = b"x" * 65536
    while server.send(conn, chunk):
        pass


def fail_then_recover(failures: int) -> Callable[[socket.socket, RawServer], None]:
    """HTTP 500 for the first ``failures`` requests, then 200 (recording what arrived)."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        while (body := read_request(conn, server.stop)) is not None:
            with server._lock:
                seen = server.state["seen"] = server.state.get("seen", 0) + 1
            if seen <= failures:
                answer = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"
            else:
                server.record(body)
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            if not server.send(conn, answer):
                return

    return handle


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` (every 20 ms) until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
