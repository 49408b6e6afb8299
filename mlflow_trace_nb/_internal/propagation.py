"""W3C trace context: carry a trace across processes in HTTP headers.

The client puts the active span into a ``traceparent`` header
(``00-<32 hex trace id>-<16 hex span id>-<flags>``); the server continues the trace from it::

    # process 1 (client)
    with mlflow.start_span("client") as span:
        headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
        urllib.request.urlopen(urllib.request.Request(url, headers=headers))

    # process 2 (server handler)
    with mlflow.tracing.set_tracing_context_from_http_request_headers(self.headers):
        with mlflow.start_span("handler"):  # a child of process 1's "client" span
            ...

Spans started under an extracted context share the remote trace id (``tr-`` + the same 32 hex
digits), and the first of them has the remote span as its parent. Sampling is parent-based,
as OpenTelemetry's default ``ParentBased`` sampler: a remote parent with the sampled flag
(``01``) is recorded whatever the local ``sampling_rate``; one without it (``00``) is not
recorded, and its decision is passed on to further hops. ``configure(disable_propagation=True)``
makes both directions no-ops. A missing or malformed header is not an error (the handler's
spans then start a new trace): a server must not fail because a client does not trace.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer import ids
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN, detach
from mlflow_trace_nb._internal.tracer.live_span import NoOpSpan

__all__ = [
    "TRACEPARENT",
    "RemoteParent",
    "extract",
    "format_traceparent",
    "get_tracing_context_headers_for_http_request",
    "inject",
    "parse_traceparent",
    "set_tracing_context_from_http_request_headers",
]

_logger = logging.getLogger(__name__)

#: The W3C header name (HTTP header names are case-insensitive; this is the canonical form).
TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_SAMPLED = 0x01


class RemoteParent(NoOpSpan):
    """A span of another process that local spans continue under.

    It is the active "span" inside ``set_tracing_context_from_http_request_headers`` but
    records nothing itself (``get_current_active_span()`` is None there, as in MLflow); the
    next span started becomes the local root of the continued trace.
    """

    __slots__ = ("remote_span_id", "remote_trace_id", "sampled")

    def __init__(self, trace_id: int, span_id: int, sampled: bool) -> None:
        super().__init__()
        self.remote_trace_id = trace_id
        self.remote_span_id = span_id
        self.sampled = sampled

    def copy(self) -> RemoteParent:
        """A fresh instance (each started non-recording span needs its own context token)."""
        return RemoteParent(self.remote_trace_id, self.remote_span_id, self.sampled)

    @property
    def traceparent(self) -> str:
        """This context as a ``traceparent`` value."""
        return format_traceparent(self.remote_trace_id, self.remote_span_id, self.sampled)

    def __repr__(self) -> str:
        return f"RemoteParent({self.traceparent!r})"


def format_traceparent(trace_id: int, span_id: int, sampled: bool = True) -> str:
    """``00-<trace id>-<span id>-<flags>`` for 128-bit ``trace_id`` and 64-bit ``span_id``."""
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


def parse_traceparent(value: str) -> RemoteParent | None:
    """The context in a ``traceparent`` value, or None if it is not a valid one.

    Follows W3C Trace Context level 1: version ``ff`` and all-zero ids are invalid; a future
    version may append fields, which are ignored; version ``00`` has exactly four fields.
    """
    match = _TRACEPARENT.fullmatch(str(value).strip().lower())
    if match is None:
        return None
    version, trace_hex, span_hex, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return RemoteParent(trace_id, span_id, bool(int(flags, 16) & _SAMPLED))


def _current_traceparent() -> str | None:
    current = CURRENT_SPAN.get()
    if current is None:
        return None
    if current._recording:
        return format_traceparent(current._state.trace_id_int, current._span_id, True)
    if isinstance(current, RemoteParent):
        return current.traceparent
    # Inside a trace that was not sampled: pass "not sampled" on, so the next process does
    # not record a fragment whose root was never stored.
    return format_traceparent(ids.new_trace_id(), ids.new_span_id(), False)


def inject(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Add a ``traceparent`` header for the active span to ``headers`` (a new dict if None)
    and return it. Adds nothing outside any span or when propagation is disabled."""
    headers = {} if headers is None else headers
    if RUNTIME.disable_propagation:
        return headers
    value = _current_traceparent()
    if value is not None:
        headers[TRACEPARENT] = value
    return headers


def get_tracing_context_headers_for_http_request() -> dict[str, str]:
    """Headers carrying the active span's trace context (W3C ``traceparent``), for an
    outgoing HTTP request; ``{}`` outside any span or with propagation disabled.

    Example::

        with mlflow.start_span("client-root"):
            headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
            requests.post(url, json=payload, headers=headers)
    """
    headers = inject({})
    if not headers and not RUNTIME.disable_propagation:
        _logger.debug("mlflow-trace-nb: no active span; no trace context headers")
    return headers


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    items = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") else ()
    for key, value in items:
        if str(key).lower() == name:
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            return None if value is None else str(value)
    return None


def extract(headers: Any) -> RemoteParent | None:
    """The remote parent in incoming ``headers`` (a dict, ``http.server``'s ``self.headers``
    or any mapping; names case-insensitive), or None when there is none, it is malformed, or
    propagation is disabled."""
    if RUNTIME.disable_propagation:
        return None
    value = _header(headers, TRACEPARENT)
    if value is None:
        return None
    parent = parse_traceparent(value)
    if parent is None:
        _logger.debug("mlflow-trace-nb: ignoring malformed traceparent %r", value[:100])
    return parent


@contextmanager
def set_tracing_context_from_http_request_headers(headers: Any) -> Iterator[None]:
    """Continue the trace of an incoming request: spans started inside the block belong to
    the caller's trace, the first one a child of the caller's span.

    Without a valid ``traceparent`` (or with propagation disabled) the block runs as usual
    and its spans start a new trace. Example::

        def do_POST(self):
            with mlflow.tracing.set_tracing_context_from_http_request_headers(self.headers):
                with mlflow.start_span("handler") as span:
                    ...
    """
    parent = extract(headers)
    if parent is None:
        yield
        return
    token = CURRENT_SPAN.set(parent)
    try:
        yield
    finally:
        detach(token, None)
