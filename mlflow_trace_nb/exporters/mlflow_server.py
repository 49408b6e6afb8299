"""Export to a real MLflow tracking server, through its OTLP ingest (``POST /v1/traces``).

MLflow (3.x) stores OTLP spans of the experiment named by the ``x-mlflow-experiment-id``
header in its tracking store; the span attributes written by ``otel_mapping`` make span
types, inputs and outputs read back exactly as MLflow's own tracer writes them, and the
trace id is our ``request_id``. Trace tags (``mlflow.update_current_trace(tags=...)``),
which OTLP has no place for, are set afterwards through the REST API
(``PATCH /api/2.0/mlflow/traces/{id}/tags``), once per tag of a trace that has any.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from mlflow_trace_nb.exporters._background import PermanentError
from mlflow_trace_nb.exporters.otel_mapping import Entry
from mlflow_trace_nb.exporters.otlp import OtlpHttpExporter, encode_entries

__all__ = ["MLFLOW_EXPERIMENT_HEADER", "MlflowServerExporter", "normalize_tracking_uri"]

MLFLOW_EXPERIMENT_HEADER = "x-mlflow-experiment-id"
_OTLP_PATH = "/v1/traces"
_TAG_PATH = "/api/2.0/mlflow/traces/{request_id}/tags"


def normalize_tracking_uri(tracking_uri: str | None) -> str:
    """An ``http(s)://host:port`` base URL (no trailing slash); ``MLFLOW_TRACKING_URI`` when
    None. Raises ValueError for anything that is not an HTTP tracking server."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    uri = uri.strip()
    if uri.lower().startswith("mlflow+"):
        uri = uri[len("mlflow+") :]
    if not uri.lower().startswith(("http://", "https://")):
        raise ValueError(
            f"MlflowExperiment needs an HTTP tracking server URI such as "
            f"'http://127.0.0.1:5000', not {uri or 'nothing'!r} (Databricks and file stores "
            "are not supported)"
        )
    return uri.rstrip("/")


class MlflowServerExporter(OtlpHttpExporter):
    """Sends traces to experiment ``experiment_id`` of the server at ``tracking_uri``."""

    def __init__(
        self,
        experiment_id: str = "0",
        tracking_uri: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        self.tracking_uri = normalize_tracking_uri(tracking_uri)
        self.experiment_id = str(experiment_id)
        super().__init__(
            self.tracking_uri + _OTLP_PATH,
            {MLFLOW_EXPERIMENT_HEADER: self.experiment_id, **dict(headers or {})},
            name="mlflow",
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(experiment_id={self.experiment_id!r}, "
            f"tracking_uri={self.tracking_uri!r})"
        )

    def _encode(self, entries: list[Entry]) -> bytes:
        return encode_entries(entries, self.experiment_id)

    def _after_send(self, entries: list[Entry]) -> None:
        """Set the trace tags OTLP cannot carry (only for traces that have tags)."""
        for trace, _spans in entries:
            if trace is None or not trace.tags:
                continue
            for key, value in list(trace.tags.items()):
                self._set_tag(trace.request_id, str(key), str(value))

    def _set_tag(self, request_id: str, key: str, value: str) -> None:
        url = self.tracking_uri + _TAG_PATH.format(request_id=request_id)
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("content-type", "content-encoding")
        }
        headers["Content-Type"] = "application/json"
        body = json.dumps({"key": key, "value": value}).encode()
        status, text = self._request("PATCH", url, body, headers)
        if not 200 <= status < 300:
            raise PermanentError(f"HTTP {status} from {url}: {text}")
