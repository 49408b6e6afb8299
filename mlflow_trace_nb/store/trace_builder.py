"""Build ``Trace`` entities from ``traces``/``spans`` rows (payload JSON decoded lazily)."""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Iterable
from typing import Any

from mlflow_trace_nb.entities import Span, Trace, TraceData, TraceInfo
from mlflow_trace_nb.store.decoding import decode_object

__all__ = ["assessed_ids", "build_trace", "build_traces", "pack_span_row", "root_first"]


def _info(row: tuple[Any, ...]) -> TraceInfo:
    info = _new_info(TraceInfo)  # slots set directly: keyword __init__ costs 2x here
    info.request_id = row[0]
    info.experiment_id = str(row[1])
    info.name = row[2]
    info.timestamp_ms = row[3]
    info.execution_time_ms = row[4]
    info.status = row[5]
    info._metadata = decode_object(row[8])
    info._tags = decode_object(row[9])  # the ``tags`` property adds the trace name
    return info


_new_info = TraceInfo.__new__


def pack_span_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A ``spans`` row as written (13 columns) in the layout reads produce (payloads packed)."""
    inputs, outputs, attributes, events = row[9:13]
    packed = f"[{inputs or 'null'},{outputs or 'null'},{attributes or '{}'},{events or '[]'}]"
    return (*row[:9], packed)


def build_trace(trace_row: tuple[Any, ...], span_rows: Iterable[tuple[Any, ...]]) -> Trace:
    """One trace from its ``traces`` row and its ``spans`` rows in read layout (any order)."""
    spans = sorted((Span._from_row(r) for r in span_rows), key=_start)
    if spans and spans[0].parent_id is not None:  # the root first, as MLflow reads them
        roots = [i for i, span in enumerate(spans) if span.parent_id is None]
        if roots:
            spans.insert(0, spans.pop(roots[0]))
    return Trace(_info(trace_row), TraceData(spans, trace_row[6], trace_row[7]))


def build_traces(
    trace_rows: list[tuple[Any, ...]], span_rows: Iterable[tuple[Any, ...]]
) -> list[Trace]:
    """Traces in ``trace_rows`` order; ``span_rows`` may hold the spans of all of them, in
    any order (each trace's spans are sorted here, the root first, then by start time, as
    MLflow returns them: cheaper than making SQLite sort every span row of the result)."""
    by_trace: dict[str, list[tuple[Any, ...]]] = {row[0]: [] for row in trace_rows}
    for row in span_rows:
        bucket = by_trace.get(row[0])
        if bucket is not None:
            bucket.append(row)
    from_row = Span._from_row
    traces = []
    for row in trace_rows:
        rows = by_trace[row[0]]
        rows.sort(key=_START)
        if rows and rows[0][2] is not None:  # a span began before its root (add_trace...)
            root_first(rows)
        spans = [from_row(r) for r in rows]
        traces.append(Trace(_info(row), TraceData(spans, row[6], row[7])))
    return traces


_START = operator.itemgetter(5)  # start_time_ns in a spans row


def root_first(rows: list[tuple[Any, ...]]) -> None:
    """Move the root (no parent) to the front, as MLflow orders spans: the root, then the
    others by start time (a trace continued from another process has no such root)."""
    for i, row in enumerate(rows):
        if row[2] is None:
            rows.insert(0, rows.pop(i))
            return


def _start(span: Span) -> int:
    return span.start_time_ns


def assessed_ids(conn: sqlite3.Connection, trace_rows: list[tuple[Any, ...]]) -> set[Any]:
    """The ids of the traces among ``trace_rows`` that have assessments (no query beyond a
    one-row probe when no trace has any)."""
    if not trace_rows or conn.execute("SELECT 1 FROM assessments LIMIT 1").fetchone() is None:
        return set()
    ids = [row[0] for row in trace_rows]
    return {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT request_id FROM assessments WHERE request_id IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
    }
