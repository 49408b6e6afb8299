"""Read-only records of finished work, as ``mlflow.entities``: ``Trace``, ``TraceInfo``,
``TraceData``, ``Span``, ``SpanEvent``, ``SpanStatus``, ``SpanStatusCode``, ``SpanType``,
``TraceState``, ``TraceLocation``, ``Session``, the assessments (``Assessment``,
``Feedback``, ``Expectation``, ``AssessmentSource``, ``AssessmentSourceType``,
``AssessmentError``), plus ``SpanContext`` and ``Experiment``."""

from __future__ import annotations

from mlflow_trace_nb.entities.assessment import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from mlflow_trace_nb.entities.experiment import Experiment
from mlflow_trace_nb.entities.session import Session
from mlflow_trace_nb.entities.span import Span, SpanContext
from mlflow_trace_nb.entities.span_event import SpanEvent
from mlflow_trace_nb.entities.span_status import SpanStatus, SpanStatusCode
from mlflow_trace_nb.entities.span_type import SpanType
from mlflow_trace_nb.entities.trace import Trace, TraceData
from mlflow_trace_nb.entities.trace_info import TraceInfo
from mlflow_trace_nb.entities.trace_state import TraceLocation, TraceState

__all__ = [
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "Experiment",
    "Feedback",
    "Session",
    "Span",
    "SpanContext",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceLocation",
    "TraceState",
]
