"""A loopback HTTP server speaking the OpenAI and Anthropic wire formats, for tests and demos.

Start it, point the real SDKs at it, and every call works offline::

    from mlflow_trace_nb.testing.llm_server import start_server

    server = start_server()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")
    claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test")
    ...
    server.stop()

Routes (``/v1`` prefix optional): ``POST /v1/chat/completions``, ``/v1/responses``,
``/v1/embeddings`` (OpenAI) and ``/v1/messages`` (Anthropic), JSON or SSE when the body says
``"stream": true``. Answers echo the last user message; offered tools get called once.

Failures on demand, chosen by the model name (or the ``x-test-status`` header):

- ``"error-429"``, ``"error-500"``, ``"error-400"``...: that HTTP status with the vendor's
  error body (any code works);
- ``"slow"``: the answer waits 2 s (``x-test-delay: <seconds>`` sets the wait), for timeouts;
- ``"stream-error"``: a stream that sends two events and then the vendor's error event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlflow_trace_nb.testing import _wire_anthropic, _wire_openai

__all__ = ["LLMServer", "start_server"]

SLOW_SECONDS = 2.0


def _error_body(vendor: str, status: int) -> dict[str, Any]:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
    kind = kinds.get(status, "api_error")
    message = f"test server: HTTP {status}"
    if vendor == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for JSON answers; SSE answers close
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        self._send_json(200, {"status": "ok"})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        path = self.path.split("?", 1)[0].removeprefix("/v1")
        self.server.record(path, body, dict(self.headers.items()))
        vendor = "anthropic" if path == "/messages" else "openai"
        model = str(body.get("model", ""))
        delay = self.headers.get("x-test-delay")
        if delay is not None or model.startswith("slow"):
            time.sleep(float(delay) if delay is not None else SLOW_SECONDS)
        status = self.headers.get("x-test-status")
        if status is None and model.startswith("error-") and model[6:].isdigit():
            status = model[6:]
        if status is not None and int(status) >= 400:
            self._send_json(int(status), _error_body(vendor, int(status)))
            return
        self._route(path, body, vendor, model)

    def _route(self, path: str, body: dict[str, Any], vendor: str, model: str) -> None:
        stream = bool(body.get("stream"))
        broken = model.startswith("stream-error")
        if path == "/chat/completions":
            if stream:
                chunks = _wire_openai.chat_chunks(body)
                self._send_sse(((None, c) for c in chunks), vendor, broken, done=True)
            else:
                self._send_json(200, _wire_openai.chat_completion(body))
        elif path == "/responses":
            if stream:
                self._send_sse(_wire_openai.response_events(body), vendor, broken)
            else:
                self._send_json(200, _wire_openai.response(body))
        elif path == "/embeddings":
            self._send_json(200, _wire_openai.embeddings(body))
        elif path == "/messages":
            if stream:
                self._send_sse(_wire_anthropic.message_events(body), vendor, broken)
            else:
                self._send_json(200, _wire_anthropic.message(body))
        else:
            self._send_json(404, _error_body(vendor, 404))

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", "req_test")
        self.send_header("request-id", "req_test")
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(
        self,
        events: Iterable[tuple[str | None, dict[str, Any]]],
        vendor: str,
        broken: bool,
        done: bool = False,
    ) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.send_header("request-id", "req_test")
        self.end_headers()
        self.close_connection = True
        for count, (event, data) in enumerate(events):
            if broken and count == 2:
                error = _error_body(vendor, 500)
                self._write_event("error" if vendor == "anthropic" else None, error)
                return
            self._write_event(event, data)
        if done:
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _write_event(self, event: str | None, data: dict[str, Any]) -> None:
        head = f"event: {event}\n" if event else ""
        self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeout, stream closed early) is not an error here."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append({"path": path, "body": body, "headers": headers})
            del self.requests[:-1000]  # a benchmark sends thousands: keep the last ones


class LLMServer:
    """A running loopback server; ``stop()`` (or leaving a ``with`` block) shuts it down."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="llm-test-server",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for ``openai.OpenAI(...)``."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The ``base_url`` for ``anthropic.Anthropic(...)``."""
        return self.url

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The requests received so far (``path``, JSON ``body``, ``headers``), oldest first."""
        return self._server.requests

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LLMServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server() -> LLMServer:
    """Start a server on a free port of 127.0.0.1, serving from a daemon thread."""
    return LLMServer()
