"""Read-only records of finished work: Trace, Span, SpanContext, SpanEvent, Experiment
(``mlflow.entities`` in MLflow's spelling)."""

from __future__ import annotations

from mlflow_trace_nb.entities.experiment import Experiment
from mlflow_trace_nb.entities.span import Span, SpanContext, SpanEvent
from mlflow_trace_nb.entities.trace import Trace, TraceData, TraceInfo

__all__ = [
    "Experiment",
    "Span",
    "SpanContext",
    "SpanEvent",
    "Trace",
    "TraceData",
    "TraceInfo",
]
