"""Write a batch of trace rows in one transaction, or item by item when a value is refused.

``write_batch`` is the common case: one ``BEGIN IMMEDIATE`` transaction for the whole batch.
If the database refuses a value (``faults.DATA``: a type it cannot bind, an integer out of
range...), ``write_items`` writes the same batch again in one transaction with a savepoint per
trace: an item that fails is retried once with every field scrubbed (``scrub``) and, failing
again, is left out and counted. Its neighbours are written either way.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mlflow_trace_nb.store.faults import DATA, classify
from mlflow_trace_nb.store.limits import MAX_VALUE_CHARS, clean_int, clean_text
from mlflow_trace_nb.store.rows import (
    ROOT_COLUMNS,
    SPAN_COLUMNS,
    TRACE_WRITE_COLUMNS,
    SpanRow,
    TraceRows,
)

__all__ = ["scrub", "write_batch", "write_items"]

_INSERT_TRACE_ROW = (
    f"INSERT INTO traces ({', '.join(TRACE_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRACE_WRITE_COLUMNS))}) ON CONFLICT (request_id) DO UPDATE SET "
)
_INSERT_NEW_TRACE = (
    f"INSERT OR IGNORE INTO traces ({', '.join(TRACE_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRACE_WRITE_COLUMNS))})"
)
# A trace's parts can arrive in any order when it crosses processes (W3C traceparent): the
# root's row wins (name, status, request, response, start), a fragment continued elsewhere
# only merges tags/metadata (the root's values win) and may extend the end time. A fragment
# never writes the root's own columns (ROOT_COLUMNS: NULL in its row, its root is a span row).
_INSERT_TRACE = _INSERT_TRACE_ROW + (
    "".join(f"{c} = excluded.{c}, " for c in ROOT_COLUMNS)
    + "experiment_id = excluded.experiment_id, name = excluded.name, "
    "timestamp_ms = excluded.timestamp_ms, status = excluded.status, "
    "request = excluded.request, response = excluded.response, "
    "execution_time_ms = CASE WHEN traces.execution_time_ms IS NULL "
    "OR excluded.execution_time_ms IS NULL THEN excluded.execution_time_ms "
    "ELSE max(excluded.execution_time_ms, "
    "traces.timestamp_ms + traces.execution_time_ms - excluded.timestamp_ms) END, "
    "request_metadata = json_patch(traces.request_metadata, excluded.request_metadata), "
    "tags = json_patch(traces.tags, excluded.tags)"
)
# A row still IN_PROGRESS (written with the first spans, its root not ended anywhere yet)
# takes the fragment's summary until the root's own row arrives.
_FROM_FRAGMENT = ", ".join(
    f"{c} = CASE WHEN traces.status = 'IN_PROGRESS' THEN excluded.{c} ELSE traces.{c} END"
    for c in ("name", "timestamp_ms", "request", "response")
)
_INSERT_FRAGMENT = _INSERT_TRACE_ROW + (
    _FROM_FRAGMENT + ", status = CASE WHEN traces.status = 'IN_PROGRESS' "
    "THEN excluded.status ELSE traces.status END, "
    "execution_time_ms = CASE WHEN traces.execution_time_ms IS NULL "
    "OR excluded.execution_time_ms IS NULL THEN traces.execution_time_ms "
    "ELSE max(traces.execution_time_ms, "
    "excluded.timestamp_ms + excluded.execution_time_ms - traces.timestamp_ms) END, "
    "request_metadata = json_patch(excluded.request_metadata, traces.request_metadata), "
    "tags = json_patch(excluded.tags, traces.tags)"
)
_INSERT_SPAN = (
    f"INSERT OR REPLACE INTO span_rows ({', '.join(SPAN_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(SPAN_COLUMNS))})"
)
_INSERT_EXPERIMENT = (
    "INSERT OR IGNORE INTO experiments (experiment_id, name, creation_time_ms) VALUES (?, ?, ?)"
)
_NOT_NULL_INTS = {5}  # spans.start_time_ns
_JSON_DEFAULTS = {11: "{}", 12: "[]"}  # spans.attributes / events are NOT NULL
# traces.root_attributes / root_events of a row holding its root (the spans view needs text)
_ROOT_JSON_DEFAULTS = {15: "{}", 16: "[]"}


def _write_trace_rows(conn: sqlite3.Connection, traces: list[TraceRows]) -> None:
    """Upsert the ``traces`` rows and their tag/metadata rows (fragments never override;
    rows of traces still open are written only where the trace has none yet)."""
    opened = [r.trace for r in traces if r.open]
    if opened:
        conn.executemany(_INSERT_NEW_TRACE, opened)
    roots = [r for r in traces if not r.fragment and not r.open]
    fragments = [r for r in traces if r.fragment and not r.open]
    if roots:
        values = [r.trace for r in roots]
        # Plain inserts in the common case; the merging upsert (a few % slower) only when
        # some row was there already (a fragment of the trace written first).
        if conn.executemany(_INSERT_NEW_TRACE, values).rowcount < len(values):
            conn.executemany(_INSERT_TRACE, values)
    if fragments:
        conn.executemany(_INSERT_FRAGMENT, [r.trace for r in fragments])
    for rows, verb in ((roots, "REPLACE"), (fragments, "IGNORE")):
        if not rows:
            continue
        conn.executemany(
            f"INSERT OR {verb} INTO trace_tags VALUES (?, ?, ?)",
            [tag for r in rows for tag in r.tags],
        )
        conn.executemany(
            f"INSERT OR {verb} INTO trace_metadata VALUES (?, ?, ?)",
            [m for r in rows for m in r.metadata],
        )


def _write(
    conn: sqlite3.Connection, traces: list[TraceRows], late: list[SpanRow], now_ms: int
) -> None:
    experiments = {r.trace[1] for r in traces}
    if experiments:
        conn.executemany(_INSERT_EXPERIMENT, [(e, f"experiment-{e}", now_ms) for e in experiments])
    if traces:
        _write_trace_rows(conn, traces)
    conn.executemany(_INSERT_SPAN, [s for r in traces for s in r.spans] + late)


def write_batch(
    conn: sqlite3.Connection, traces: list[TraceRows], late: list[SpanRow], now_ms: int
) -> None:
    """Write everything in one ``BEGIN IMMEDIATE`` transaction (all or nothing)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _write(conn, traces, late, now_ms)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def write_items(
    conn: sqlite3.Connection, traces: list[TraceRows], late: list[SpanRow], now_ms: int
) -> tuple[int, int, BaseException | None]:
    """Write each item under its own savepoint; return (traces left out, spans left out,
    the last refusal).

    Only ``DATA`` errors are absorbed per item; any other error (disk full, lock...) rolls the
    whole transaction back and propagates, like ``write_batch``.
    """
    items: list[tuple[list[TraceRows], list[SpanRow], int]] = [
        ([t], [], t.span_count) for t in traces
    ]
    items += [([], [s], 1) for s in late]
    rejected = rejected_traces = 0
    refusal: BaseException | None = None
    conn.execute("BEGIN IMMEDIATE")
    try:
        for item_traces, item_late, spans in items:
            error = _try_item(conn, item_traces, item_late, now_ms)
            if error is not None:
                error = _try_item(
                    conn,
                    [scrub(t) for t in item_traces],
                    [scrub_span(s) for s in item_late],
                    now_ms,
                )
            if error is not None:
                rejected += spans
                rejected_traces += len(item_traces)
                refusal = error
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return rejected_traces, rejected, refusal


def _try_item(
    conn: sqlite3.Connection, traces: list[TraceRows], late: list[SpanRow], now_ms: int
) -> BaseException | None:
    conn.execute("SAVEPOINT item")
    try:
        _write(conn, traces, late, now_ms)
    except Exception as error:
        conn.execute("ROLLBACK TO item")
        conn.execute("RELEASE item")
        if classify(error) != DATA:
            raise
        return error
    conn.execute("RELEASE item")
    return None


def _scrub_value(value: Any) -> Any:
    if value is None or type(value) is float:
        return value
    if type(value) is int or isinstance(value, int):
        return clean_int(value)
    if type(value) is str:  # already capped upstream: only make it encodable
        return clean_text(value, max(len(value), 1))
    return clean_text(value, MAX_VALUE_CHARS)


def scrub_span(row: SpanRow) -> SpanRow:
    """A ``spans`` row with every field forced into something SQLite binds."""
    out = [_scrub_value(v) for v in row]
    for index in _NOT_NULL_INTS:
        if out[index] is None:
            out[index] = 0
    for index, default in _JSON_DEFAULTS.items():
        if not isinstance(out[index], str):
            out[index] = default
    return tuple(out)


def scrub(rows: TraceRows) -> TraceRows:
    """A trace's rows with every field forced into something SQLite binds (last resort)."""
    trace = [_scrub_value(v) for v in rows.trace]
    trace[1] = trace[1] or 0
    trace[3] = trace[3] or 0
    if rows.root:
        for index, default in _ROOT_JSON_DEFAULTS.items():
            if not isinstance(trace[index], str):
                trace[index] = default
    return TraceRows(
        tuple(trace),
        [tuple(_scrub_value(v) for v in tag) for tag in rows.tags],
        [tuple(_scrub_value(v) for v in m) for m in rows.metadata],
        [scrub_span(s) for s in rows.spans],
        rows.fragment,
        rows.open,
        rows.root,
    )
