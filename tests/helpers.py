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
