"""Span types and status codes, spelled as in ``mlflow.tracing.provider`` (the same classes
as ``mlflow_trace_nb.entities``).

``SpanType`` is a string namespace (``SpanType.LLM == "LLM"``); ``SpanStatusCode`` a string
enum; ``SpanStatus`` MLflow's status object, which keeps the reference API's string
constants (``SpanStatus.CANCELLED == "CANCELLED"``).
"""

from __future__ import annotations

from mlflow_trace_nb.entities.span_status import SpanStatus, SpanStatusCode
from mlflow_trace_nb.entities.span_type import SpanType

__all__ = ["STATUS_CODES", "SpanStatus", "SpanStatusCode", "SpanType"]

#: Every value ``Span.status_code`` can take.
STATUS_CODES = frozenset(code.value for code in SpanStatusCode)
