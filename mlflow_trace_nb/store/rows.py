"""Turn live traces and spans into the tuples the SQLite tables take.

This is where payloads are serialised, on the writer thread, never on the caller's.
Column order matches ``SPAN_COLUMNS`` / ``TRACE_COLUMNS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlflow_trace_nb.ids import format_span_id
from mlflow_trace_nb.serialization import dumps, dumps_dict

if TYPE_CHECKING:
    from mlflow_trace_nb.live_span import LiveSpan, LiveTrace

__all__ = ["SPAN_COLUMNS", "TRACE_COLUMNS", "TraceRows", "span_row", "trace_rows"]

SPAN_COLUMNS = (
    "request_id",
    "span_id",
    "parent_id",
    "name",
    "span_type",
    "start_time_ns",
    "end_time_ns",
    "status_code",
    "status_message",
    "inputs",
    "outputs",
    "attributes",
    "events",
)
TRACE_COLUMNS = (
    "request_id",
    "experiment_id",
    "name",
    "timestamp_ms",
    "execution_time_ms",
    "status",
    "request",
    "response",
    "request_metadata",
    "tags",
)

SpanRow = tuple[Any, ...]


class TraceRows:
    """Rows for one trace: the ``traces`` row, its tag and metadata rows, its span rows.

    ``fragment`` is True for the part of a trace recorded in a process that continued it
    from a ``traceparent`` header (its root's parent lives in another process): the store
    merges a fragment into the trace instead of replacing the trace's row.
    """

    __slots__ = ("fragment", "metadata", "spans", "tags", "trace")

    def __init__(
        self,
        trace: tuple[Any, ...],
        tags: list[tuple[str, str, str]],
        metadata: list[tuple[str, str, str]],
        spans: list[SpanRow],
        fragment: bool = False,
    ) -> None:
        self.fragment = fragment
        self.trace = trace
        self.tags = tags
        self.metadata = metadata
        self.spans = spans


def _events_json(span: LiveSpan) -> str:
    events = span._events
    if not events:
        return "[]"
    return dumps([e.to_dict() for e in events])


def span_row(span: LiveSpan) -> SpanRow:
    """Serialise one span (its payloads as JSON text) into a ``spans`` row."""
    parent = span._parent
    return (
        span._state.request_id,
        format_span_id(span._span_id),
        span._state.remote_parent_id if parent is None else format_span_id(parent._span_id),
        span.name,
        span.span_type,
        span.start_time_ns,
        span.end_time_ns,
        span.status_code,
        span.status_message,
        None if span._inputs is None else dumps(span._inputs),
        None if span._outputs is None else dumps(span._outputs),
        dumps_dict(span._attributes) if span._attributes else "{}",
        _events_json(span),
    )


def trace_rows(trace: LiveTrace) -> TraceRows:
    """Serialise a trace whose root span has ended."""
    root = trace.root
    if root is None:
        raise ValueError(f"trace {trace.request_id} has no root span")
    live_spans = list(trace.spans)
    spans = [span_row(s) for s in live_spans]
    root_row = spans[live_spans.index(root)]
    end = root.end_time_ns
    request_id = trace.request_id
    tags = {str(k): str(v) for k, v in dict(trace.tags or {}).items()}
    metadata = {str(k): str(v) for k, v in dict(trace.metadata or {}).items()}
    row = (
        request_id,
        int(trace.experiment_id),
        root.name,
        root.start_time_ns // 1_000_000,
        None if end is None else (end - root.start_time_ns) // 1_000_000,
        root.status_code,
        root_row[9],
        root_row[10],
        dumps_dict(metadata),
        dumps_dict(tags),
    )
    return TraceRows(
        row,
        [(request_id, k, v) for k, v in tags.items()],
        [(request_id, k, v) for k, v in metadata.items()],
        spans,
        root._parent is None and trace.remote_parent_id is not None,
    )
