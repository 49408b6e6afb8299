"""Turn live traces and spans into the tuples the SQLite tables take.

This is where payloads are serialised, on the writer thread, never on the caller's, and
where every other text field is made safe and bounded (``store.limits``): a value SQLite
cannot take must fail nothing, least of all the other traces of its batch.
Column order matches ``SPAN_COLUMNS`` / ``TRACE_COLUMNS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlflow_trace_nb._internal.serialization import dumps, dumps_dict
from mlflow_trace_nb._internal.tracer.ids import format_span_id
from mlflow_trace_nb.store.limits import (
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    clean_int,
    clean_pairs,
    clean_text,
)

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan, LiveTrace

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
    dicts = []
    for event in events:
        data = event.to_dict()
        name = data["name"]
        if not (type(name) is str and len(name) <= MAX_NAME_CHARS):
            data["name"] = clean_text(name, MAX_NAME_CHARS)  # dumps fixes surrogates
        dicts.append(data)
    return dumps(dicts)


def span_row(span: LiveSpan) -> SpanRow:
    """Serialise one span (its payloads as JSON text) into a ``spans`` row."""
    parent = span._parent
    name = span.name
    span_type = span.span_type
    message = span.status_message
    start = span.start_time_ns
    end = span.end_time_ns
    if parent is None:
        parent_id = span._state.remote_parent_id
        if parent_id is not None:
            parent_id = clean_text(parent_id, MAX_NAME_CHARS)
    else:
        parent_id = format_span_id(parent._span_id)
    return (
        span._state.request_id,
        format_span_id(span._span_id),
        parent_id,
        name
        if type(name) is str and len(name) <= MAX_NAME_CHARS and name.isascii()
        else clean_text(name, MAX_NAME_CHARS),
        span_type
        if span_type is None
        or (type(span_type) is str and len(span_type) <= MAX_NAME_CHARS and span_type.isascii())
        else clean_text(span_type, MAX_NAME_CHARS),
        start if type(start) is int else (clean_int(start) or 0),
        end if end is None or type(end) is int else clean_int(end),
        span.status_code,
        message
        if not message
        or (type(message) is str and len(message) <= MAX_MESSAGE_CHARS and message.isascii())
        else clean_text(message, MAX_MESSAGE_CHARS),
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
    request_id = trace.request_id
    tags = clean_pairs(trace.tags)
    metadata = clean_pairs(trace.metadata)
    start, end = root_row[5], root_row[6]
    row = (
        request_id,
        clean_int(trace.experiment_id) or 0,  # not an integer: the default experiment, not a loss
        root_row[3],
        start // 1_000_000,
        None if end is None else (end - start) // 1_000_000,
        root_row[7],
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
