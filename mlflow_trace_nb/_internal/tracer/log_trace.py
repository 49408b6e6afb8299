"""``log_trace``: record a whole trace of one span after the fact (MLflow 3's API)."""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.arguments import MAX_INT64, bounded_int, span_time_ns
from mlflow_trace_nb._internal.tracer.fluent import start_span_no_context

__all__ = ["log_trace"]

_MS = 1_000_000  # ns per ms


def log_trace(
    name: str = "Task",
    request: Any | None = None,
    response: Any | None = None,
    intermediate_outputs: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    start_time_ms: int | None = None,
    execution_time_ms: int | None = None,
) -> str:
    """Record a finished trace of one span ``name`` with ``request`` as its inputs and
    ``response`` as its outputs, as MLflow 3's ``log_trace``: ``intermediate_outputs`` kept as
    the root's ``mlflow.trace.intermediate_outputs`` attribute (``trace.data.
    intermediate_outputs``), ``tags`` on the trace, started at ``start_time_ms`` (default: now)
    and lasting ``execution_time_ms`` (default: until now). Returns the trace id."""
    # every time checked before the span exists: a refused one leaves no half-made trace
    start_ms = bounded_int(start_time_ms, "start_time_ms", maximum=MAX_INT64 // _MS)
    duration_ms = bounded_int(execution_time_ms, "execution_time_ms", maximum=MAX_INT64 // _MS)
    end = (start_ms + duration_ms) * _MS if start_ms and duration_ms else None
    span_time_ns(end, "start_time_ms + execution_time_ms")
    if intermediate_outputs:
        attributes = {**(attributes or {}), keys.INTERMEDIATE_OUTPUTS: intermediate_outputs}
    span = start_span_no_context(
        name=name,
        inputs=request,
        attributes=attributes,
        tags=tags,
        start_time_ns=start_ms * _MS if start_ms else None,
    )
    span.end(outputs=response, end_time_ns=end)
    return span.trace_id
