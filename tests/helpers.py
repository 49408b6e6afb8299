"""Small helpers shared by tests."""

from __future__ import annotations

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span, Trace


def last_trace() -> Trace:
    """The trace finished last, read back from the store."""
    trace = mlflow.get_last_active_trace()
    assert trace is not None, "no trace was recorded"
    return trace


def by_name(trace: Trace) -> dict[str, Span]:
    """The trace's spans keyed by name (names must be unique in the test)."""
    spans = {span.name: span for span in trace.spans}
    assert len(spans) == len(trace.spans), "span names are not unique"
    return spans


#: The span attributes MLflow derives from a span's fields (``entities.recorded``).
DERIVED_ATTRIBUTES = frozenset(
    {
        "mlflow.traceRequestId",
        "mlflow.spanType",
        "mlflow.spanInputs",
        "mlflow.spanOutputs",
        "mlflow.spanLogLevel",
    }
)


def set_attributes(span: Span) -> dict[str, object]:
    """The attributes set on the span: ``span.attributes`` without the keys MLflow derives
    from the span's type, inputs, outputs, trace id and events."""
    return {k: v for k, v in span.attributes.items() if k not in DERIVED_ATTRIBUTES}
