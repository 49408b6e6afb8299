"""Build ``Trace`` entities from ``traces``/``spans`` rows (payload JSON decoded lazily)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlflow_trace_nb.entities import Span, Trace, TraceData, TraceInfo
from mlflow_trace_nb.store.decoding import decode_object

__all__ = ["build_trace", "build_traces", "pack_span_row"]


def _info(row: tuple[Any, ...]) -> TraceInfo:
    return TraceInfo(
        request_id=row[0],
        experiment_id=str(row[1]),
        name=row[2],
        timestamp_ms=row[3],
        execution_time_ms=row[4],
        status=row[5],
        request_metadata=decode_object(row[8]),
        tags=decode_object(row[9]),
    )


def pack_span_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A ``spans`` row as written (13 columns) in the layout reads produce (payloads packed)."""
    inputs, outputs, attributes, events = row[9:13]
    packed = f"[{inputs or 'null'},{outputs or 'null'},{attributes or '{}'},{events or '[]'}]"
    return (*row[:9], packed)


def build_trace(trace_row: tuple[Any, ...], span_rows: Iterable[tuple[Any, ...]]) -> Trace:
    """One trace from its ``traces`` row and its ``spans`` rows in read layout (any order)."""
    spans = sorted((Span._from_row(r) for r in span_rows), key=_start)
    return Trace(_info(trace_row), TraceData(spans))


def build_traces(
    trace_rows: list[tuple[Any, ...]], span_rows: Iterable[tuple[Any, ...]]
) -> list[Trace]:
    """Traces in ``trace_rows`` order; ``span_rows`` may hold the spans of all of them and
    must come in start-time order (the store's queries sort them)."""
    by_trace: dict[str, list[Span]] = {row[0]: [] for row in trace_rows}
    from_row = Span._from_row
    for row in span_rows:
        bucket = by_trace.get(row[0])
        if bucket is not None:
            bucket.append(from_row(row))
    return [Trace(_info(row), TraceData(by_trace[row[0]])) for row in trace_rows]


def _start(span: Span) -> int:
    return span.start_time_ns
