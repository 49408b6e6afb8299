"""Export to a real MLflow tracking server, through its OTLP ingest (``POST /v1/traces``).

MLflow (3.x) stores OTLP spans of the experiment named by the ``x-mlflow-experiment-id``
header in its tracking store; the span attributes written by ``otel_mapping`` make span
types, inputs and outputs read back exactly as MLflow's own tracer writes them, and the
trace id is our ``request_id``. Trace tags (``mlflow.update_current_trace(tags=...)``),
which OTLP has no place for, are set afterwards through the REST API
(``PATCH /api/2.0/mlflow/traces/{id}/tags``), once per tag of a trace that has any.

Assessments (``log_feedback``...) are sent when they are logged, after the trace itself
(``send_assessment``, ``update_assessment``, ``delete_assessment``: MLflow 3's REST API under
``/api/3.0/mlflow/traces/{id}/assessments``, with the local assessment id, which the server
keeps); those of a trace still running are sent right after the trace.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from mlflow_trace_nb.exporters._background import PermanentError
from mlflow_trace_nb.exporters.otel_mapping import Entry
from mlflow_trace_nb.exporters.otlp import OtlpHttpExporter, encode_entries

__all__ = ["MLFLOW_EXPERIMENT_HEADER", "MlflowServerExporter", "normalize_tracking_uri"]

_logger = logging.getLogger("mlflow_trace_nb")

MLFLOW_EXPERIMENT_HEADER = "x-mlflow-experiment-id"
_OTLP_PATH = "/v1/traces"
_TAG_PATH = "/api/2.0/mlflow/traces/{request_id}/tags"
_ASSESSMENTS_PATH = "/api/3.0/mlflow/traces/{trace_id}/assessments"
#: How long an assessment call waits for the trace to reach the server first.
ASSESSMENT_FLUSH_S = 10.0


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
        #: Assessments of traces still running when logged: sent right after their trace.
        self._deferred: dict[str, list[Any]] = {}
        self._deferred_lock = threading.Lock()
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
        """Set the trace tags OTLP cannot carry (only for traces that have tags), then send
        the assessments logged while the trace was running (a trace record comes with the
        batch its root ended in)."""
        for trace, _spans in entries:
            if trace is None:
                continue
            for key, value in list((trace.tags or {}).items()):
                self._set_tag(trace.request_id, str(key), str(value))
            if self._deferred:
                self._send_deferred(trace.request_id)

    def _send_deferred(self, trace_id: str) -> None:
        with self._deferred_lock:
            pending = self._deferred.pop(trace_id, [])
        for assessment in pending:
            try:
                self._rest(
                    "POST",
                    self._assessments_url(trace_id),
                    {"assessment": assessment.to_dictionary()},
                )
            except Exception as error:
                _logger.warning(
                    "mlflow-trace-nb: could not send an assessment of trace %s to %r: %s",
                    trace_id,
                    self,
                    error,
                )

    def _set_tag(self, request_id: str, key: str, value: str) -> None:
        url = self.tracking_uri + _TAG_PATH.format(request_id=request_id)
        self._rest("PATCH", url, {"key": key, "value": value})

    def _rest(self, method: str, url: str, payload: dict[str, Any] | None) -> None:
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("content-type", "content-encoding")
        }
        headers["Content-Type"] = "application/json"
        body = b"" if payload is None else json.dumps(payload).encode()
        status, text = self._request(method, url, body, headers)
        if not 200 <= status < 300:
            raise PermanentError(f"HTTP {status} from {url}: {text}")

    # Assessments --------------------------------------------------------------------------
    def _assessments_url(self, trace_id: str, assessment_id: str | None = None) -> str:
        url = self.tracking_uri + _ASSESSMENTS_PATH.format(trace_id=quote(trace_id, safe=""))
        return url if assessment_id is None else f"{url}/{quote(assessment_id, safe='')}"

    def send_assessment(self, assessment: Any) -> None:
        """Create ``assessment`` (an ``Assessment`` with its id) on the server, once the
        traces queued so far have been sent. Raises on failure."""
        self.flush(ASSESSMENT_FLUSH_S)
        url = self._assessments_url(str(assessment.trace_id))
        self._rest("POST", url, {"assessment": assessment.to_dictionary()})

    def defer_assessment(self, assessment: Any) -> None:
        """Send ``assessment`` once its trace (still running) has been sent."""
        with self._deferred_lock:
            self._deferred.setdefault(str(assessment.trace_id), []).append(assessment)

    def update_assessment(self, assessment: Any) -> None:
        """Replace the server's copy of ``assessment`` (name, value, rationale, metadata)."""
        value = "expectation" if assessment.expectation is not None else "feedback"
        url = self._assessments_url(str(assessment.trace_id), str(assessment.assessment_id))
        mask = f"assessmentName,{value},rationale,metadata"
        self._rest("PATCH", url, {"assessment": assessment.to_dictionary(), "update_mask": mask})

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete the assessment on the server."""
        self._rest("DELETE", self._assessments_url(trace_id, assessment_id), None)
