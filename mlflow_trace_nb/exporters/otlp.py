"""Export to any OTLP/HTTP (protobuf) trace endpoint: an OpenTelemetry Collector, Jaeger,
Tempo, Phoenix, or MLflow's own ``/v1/traces`` ingest.

Encoding uses OpenTelemetry's own encoder (``encode_spans``); the POST goes through our small
``_http`` client (bounded: ``connect_timeout_s``, ``timeout_s`` for the whole exchange, at
most 64 KB of an answer read) so that retry and backoff are ours (see ``_background``):
connection errors, timeouts, answers that are not HTTP and HTTP 408/429/5xx are retried,
other 4xx answers drop the batch. A 2xx answer is success whatever its body says (an OTLP
partial-success body is not read).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_trace_nb.exporters._background import BackgroundSender, PermanentError, RetryableError
from mlflow_trace_nb.exporters._http import MAX_RESPONSE_BYTES, HttpClient
from mlflow_trace_nb.exporters.otel_mapping import Entry, to_readable_spans
from mlflow_trace_nb.exporters.semconv_select import ALL, parse_semconv

__all__ = ["OtlpHttpExporter", "encode_entries"]

_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


_CHUNK = 32  # spans encoded between two yields of the GIL


def encode_entries(
    entries: list[Entry], experiment_id: str | None = None, conventions: frozenset[str] = ALL
) -> bytes:
    """Serialise snapshot entries as one OTLP ``ExportTraceServiceRequest`` (protobuf).

    Encoded a few traces at a time, yielding the GIL in between so that the traced code
    running meanwhile is not held up for a whole batch. Concatenated protobuf messages
    parse as their merge (repeated fields appended), so the chunks join into one request.
    Spans carry the attribute key sets in ``conventions`` (``semconv_select``).
    """
    parts: list[bytes] = []
    chunk: list[Entry] = []
    size = 0
    for entry in entries:
        chunk.append(entry)
        size += len(entry[1])
        if size >= _CHUNK:
            parts.append(_encode(chunk, experiment_id, conventions))
            chunk, size = [], 0
            time.sleep(0)
    if chunk or not parts:
        parts.append(_encode(chunk, experiment_id, conventions))
    return b"".join(parts)


def _encode(entries: list[Entry], experiment_id: str | None, conventions: frozenset[str]) -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    request = encode_spans(to_readable_spans(entries, experiment_id, conventions))
    return bytes(request.SerializeToString())


class OtlpHttpExporter:
    """An exporter (``export``/``shutdown``) that POSTs OTLP protobuf in the background.

    ``export`` only queues (it runs on the local writer thread); ``flush`` waits for the
    queue to drain; ``stats()`` reports sent/queued/dropped/failed/retries.
    """

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        compression: str | None = None,
        semconv: str | Sequence[str] | None = None,
        name: str = "otlp",
        **queue_options: Any,
    ) -> None:
        self.endpoint = endpoint
        self.semconv = parse_semconv(semconv)
        self.headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": "mlflow-trace-nb",
            **dict(headers or {}),
        }
        if compression == "gzip":
            self.headers["Content-Encoding"] = "gzip"
        elif compression not in (None, "none"):
            raise ValueError(f"unsupported OTLP compression {compression!r} (use 'gzip')")
        self.compression = compression if compression == "gzip" else None
        self.timeout_s = timeout_s
        self._http = HttpClient(
            connect_timeout_s=connect_timeout_s,
            timeout_s=timeout_s,
            max_response_bytes=max_response_bytes,
        )
        self.sender = BackgroundSender(
            f"{name} {endpoint}",
            self._encode,
            self._post,
            after_send=self._after_send,
            **queue_options,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"

    # Exporter protocol --------------------------------------------------------------------
    def export(self, items: Sequence[Any]) -> None:
        """Queue finished traces and late spans for sending (never waits on the network)."""
        self.sender.put(items)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything queued so far has been sent; False on timeout."""
        return self.sender.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> None:
        """Flush (at most ``timeout`` s, default the sender's ``exit_timeout_s``) and stop the
        background thread, reporting what was not delivered."""
        self.sender.shutdown(timeout)
        self._http.close()

    def stats(self) -> dict[str, int]:
        """Counters of the send queue: sent, queued, dropped, failed, retries (in spans)."""
        return self.sender.stats()

    # Sending ------------------------------------------------------------------------------
    def _encode(self, entries: list[Entry]) -> bytes:
        return encode_entries(entries, None, self.semconv)

    def _post(self, body: bytes) -> None:
        data = gzip.compress(body) if self.compression == "gzip" else body
        status, text = self._request("POST", self.endpoint, data, self.headers)
        if 200 <= status < 300:
            return
        detail = f"HTTP {status} from {self.endpoint}: {text}"
        if status in _RETRYABLE_STATUS:
            raise RetryableError(detail)
        raise PermanentError(detail)

    def _request(
        self, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str]:
        """``(status, start of the body)``; ``RetryableError`` when there is no HTTP answer."""
        import http.client

        try:
            response = self._http.request(method, url, body, headers)
        except (OSError, http.client.HTTPException) as error:
            raise RetryableError(f"{type(error).__name__}: {error}") from error
        return response.status, response.text()

    def _after_send(self, entries: list[Entry]) -> None:
        """Hook for subclasses (the MLflow exporter sets trace tags here)."""
