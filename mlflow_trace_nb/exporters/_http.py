"""The remote exporters' HTTP client: one keep-alive connection, bounded in time and in memory.

``requests`` (what the exporters used before) reads a whole response body into memory and
has no limit on a whole exchange: a server that trickles one byte every 100 ms never trips
its per-read timeout. This client is ``http.client`` with three bounds:

- ``connect_timeout_s`` for the TCP connect (and the TLS handshake's reads);
- ``timeout_s`` for the whole exchange (send, wait, headers, body): every socket read waits
  at most what is left of it, and a watchdog timer shuts the socket down when it runs out,
  so a trickling server cannot stretch it either;
- ``max_response_bytes`` (64 KB) of body read: exporters only need the status and the start
  of an error message; the rest is never read, and the connection is closed instead of
  being reused. Headers are bounded by ``http.client`` itself (64 KB a line, 100 lines).

Proxies come from the usual environment variables (``https_proxy``, ``no_proxy``, ...; never
for loopback addresses), CA certificates from ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` or
``certifi`` when installed, as ``requests`` did. Errors are raised as ``OSError`` or
``http.client.HTTPException``; the exporters decide what is worth a retry. ``http.client``,
``ssl`` and ``urllib.request`` are imported on the first request, not with the package.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

if TYPE_CHECKING:  # imported on first use: the package imports this module with the store
    import http.client
    import ssl

__all__ = ["MAX_RESPONSE_BYTES", "HttpClient", "Response"]

#: Most bytes of a response body that are read.
MAX_RESPONSE_BYTES = 64 * 1024
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Response(NamedTuple):
    """What was read of an answer: its status and at most ``max_response_bytes`` of body."""

    status: int
    body: bytes
    truncated: bool

    def text(self, limit: int = 300) -> str:
        """The start of the body as text (for error messages)."""
        return self.body[:limit].decode("utf-8", "replace")


class _Origin(NamedTuple):
    scheme: str
    host: str
    port: int
    proxy: str | None


class HttpClient:
    """Requests to one origin at a time over a kept-alive connection (one thread at a time)."""

    def __init__(
        self,
        *,
        connect_timeout_s: float = 5.0,
        timeout_s: float = 30.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self._conn: http.client.HTTPConnection | None = None
        self._origin: _Origin | None = None
        self._origins: dict[str, _Origin] = {}
        self._ssl: ssl.SSLContext | None = None

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request and read (a bounded part of) the answer."""
        import http.client

        parts = urlsplit(url)
        origin = self._origin_of(parts)
        headers = dict(headers or {})
        if origin.proxy and origin.scheme == "http":  # a plain proxy gets the whole URL
            target = url
            headers.update(_proxy_auth(origin.proxy))
        else:
            target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        deadline = time.monotonic() + self.timeout_s
        for attempt in range(2):
            conn, reused = self._connection(origin)
            try:
                return self._exchange(conn, method, target, body, headers, deadline)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # a kept-alive connection the server had closed meanwhile: one fresh try
                if not reused or attempt or time.monotonic() >= deadline:
                    raise
            except Exception as error:
                closed_meanwhile = self._conn is not conn  # close() on another thread (exit)
                self.close()
                if closed_meanwhile and not isinstance(error, (OSError, http.client.HTTPException)):
                    raise ConnectionAbortedError("closed while the answer was read") from error
                raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the connection (a new one is opened by the next request). Safe from another
        thread while a request is being read (at exit): the socket is shut down first, which
        wakes that read; closing the response first would wait for the reading thread."""
        import socket

        conn, self._conn = self._conn, None
        if conn is not None:
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(Exception):
                conn.close()

    # Internals ----------------------------------------------------------------------------
    def _origin_of(self, parts: SplitResult) -> _Origin:
        key = f"{parts.scheme}://{parts.netloc}"
        origin = self._origins.get(key)
        if origin is None:
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {key!r}")
            host = parts.hostname
            port = parts.port or (443 if scheme == "https" else 80)
            origin = _Origin(scheme, host, port, _proxy_for(scheme, host))
            self._origins[key] = origin
        return origin

    def _connection(self, origin: _Origin) -> tuple[http.client.HTTPConnection, bool]:
        import http.client

        if self._conn is not None and self._origin == origin:
            return self._conn, True
        self.close()
        timeout = self.connect_timeout_s
        conn: http.client.HTTPConnection
        if origin.proxy:
            proxy = _split_proxy(origin.proxy)
            proxy_host, proxy_port = proxy.hostname or "", proxy.port or 8080
            auth = _proxy_auth(origin.proxy)
            if origin.scheme == "https":
                conn = http.client.HTTPSConnection(
                    proxy_host, proxy_port, timeout=timeout, context=self._context()
                )
                conn.set_tunnel(origin.host, origin.port, headers=auth)
            else:
                conn = http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout)
        elif origin.scheme == "https":
            conn = http.client.HTTPSConnection(
                origin.host, origin.port, timeout=timeout, context=self._context()
            )
        else:
            conn = http.client.HTTPConnection(origin.host, origin.port, timeout=timeout)
        self._conn, self._origin = conn, origin
        return conn, False

    def _context(self) -> ssl.SSLContext:
        import ssl

        if self._ssl is None:
            cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if not cafile:
                try:
                    import certifi

                    cafile = certifi.where()
                except ImportError:
                    cafile = None
            self._ssl = ssl.create_default_context(cafile=cafile)
        return self._ssl

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
    ) -> Response:
        import http.client
        import socket

        aborted = threading.Event()
        if conn.sock is None:
            conn.connect()
        sock = conn.sock  # kept: close() on another thread sets conn.sock to None

        def abort() -> None:  # runs on the timer's thread when the deadline passes
            aborted.set()
            if sock is not None:
                with contextlib.suppress(OSError):  # wakes a read blocked in another thread
                    sock.shutdown(socket.SHUT_RDWR)

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer within {self.timeout_s:g} s")
        watchdog = threading.Timer(remaining, abort)
        watchdog.daemon = True
        try:
            assert conn.sock is not None
            conn.sock.settimeout(remaining)
            watchdog.start()
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            data = _read_body(response, self.max_response_bytes, deadline)
            truncated = not response.isclosed()
            if truncated or response.will_close:
                self.close()  # the rest is never read: this connection cannot be reused
            return Response(response.status, data, truncated)
        except (OSError, http.client.HTTPException) as error:
            if aborted.is_set() or isinstance(error, TimeoutError):  # watchdog or socket timeout
                raise TimeoutError(f"no complete answer within {self.timeout_s:g} s") from error
            raise
        finally:
            watchdog.cancel()


def _read_body(response: http.client.HTTPResponse, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes of the body, one socket read at a time, none after
    ``deadline``: ``read(limit)`` would keep asking for the rest of a body trickled a byte
    at a time (each read well within the socket timeout) for as long as it lasts."""
    parts: list[bytes] = []
    size = 0
    while size < limit and time.monotonic() < deadline and response.length != 0:
        chunk = response.read1(limit - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if response.length == 0:
        response.read()  # the whole announced body is in: marks the response finished
    if size < limit and time.monotonic() >= deadline and not response.isclosed():
        raise TimeoutError("the answer's body did not arrive in time")
    return b"".join(parts)


def _proxy_for(scheme: str, host: str) -> str | None:
    import urllib.request

    if host in _LOOPBACK:
        return None
    try:
        if urllib.request.proxy_bypass(host):
            return None
        return urllib.request.getproxies().get(scheme)
    except Exception:  # a broken proxy configuration: go direct
        return None


def _split_proxy(proxy: str) -> SplitResult:
    return urlsplit(proxy if "//" in proxy else "http://" + proxy)


def _proxy_auth(proxy: str) -> dict[str, str]:
    parts = _split_proxy(proxy)
    if not parts.username:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    import base64

    token = base64.b64encode(credentials.encode()).decode()
    return {"Proxy-Authorization": f"Basic {token}"}
