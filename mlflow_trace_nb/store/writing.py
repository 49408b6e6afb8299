"""Write a batch of trace rows in one transaction, or item by item when a value is refused.

``write_batch`` is the common case: one ``BEGIN IMMEDIATE`` transaction for the whole batch.
If the database refuses a value (``faults.DATA``: a type it cannot bind, an integer out of
range...), ``write_items`` writes the same batch again in one transaction with a savepoint per
trace: an item that fails is retried once with every field scrubbed (``scrub``) and, failing
again, is left out and counted. Its neighbours are written either way.

Plain inserts go in as multi-row ``INSERT ... VALUES (...), (...)`` statements of up to
``_ROWS_PER_INSERT`` rows (``insert_rows``), not ``executemany``: Python's ``sqlite3`` lets go
of the GIL around every statement step, so an ``executemany`` of 2,000 rows gives it up
2,000 times, and while the user's code keeps the interpreter busy the writer waits to get it
back each time (2.7 ms alone, 270 ms beside a thread spinning in Python, measured here).
One step per 512 rows lets the writer keep up, and its SQLite work runs beside the user's
code on another core. It is also cheaper alone (about 0.3-1 µs per span less CPU).
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from itertools import chain
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

__all__ = ["insert_rows", "scrub", "write_batch", "write_items", "written_counts"]

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
#: traces.root_start_ns of such a row: reads build the root span from it (None breaks them).
_ROOT_START = TRACE_WRITE_COLUMNS.index("root_start_ns")


#: Rows per multi-row INSERT at most (a power of two; fewer when SQLite's limit on bound
#: parameters, 999 before SQLite 3.32, is lower).
_ROWS_PER_INSERT = 512


@lru_cache(maxsize=64)
def _multi_row(sql: str, columns: int, rows: int) -> str:
    """``sql`` (an ``INSERT ... VALUES (?, ...)``) for ``rows`` rows at once."""
    one = "(" + ", ".join("?" * columns) + ")"
    return sql[: sql.rindex(" VALUES ")] + " VALUES " + ", ".join([one] * rows)


def insert_rows(conn: sqlite3.Connection, sql: str, rows: list[Any]) -> int:
    """Run the one-row ``INSERT`` ``sql`` for every row, in multi-row statements whose sizes
    are powers of two (so only a few statement texts exist, each prepared once and kept
    in the connection's statement cache). Returns the rows inserted (``INSERT OR IGNORE``
    counts only those not ignored)."""
    if not rows:
        return 0
    columns = len(rows[0])
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // columns
    size = _ROWS_PER_INSERT
    while size > max(1, limit):
        size //= 2
    done = changed = 0
    total = len(rows)
    while done < total:
        while size > total - done:
            size //= 2
        chunk = rows[done : done + size]
        changed += conn.execute(
            _multi_row(sql, columns, size), [*chain.from_iterable(chunk)]
        ).rowcount
        done += size
    return changed


def _write_trace_rows(
    conn: sqlite3.Connection,
    opened: list[tuple[Any, ...]],
    roots: list[TraceRows],
    fragments: list[TraceRows],
) -> None:
    """Upsert the ``traces`` rows and their tag/metadata rows (fragments never override;
    rows of traces still open are written only where the trace has none yet)."""
    if opened:
        insert_rows(conn, _INSERT_NEW_TRACE, opened)
    if roots:
        values = [r.trace for r in roots]
        # Plain inserts in the common case; the merging upsert (a few % slower) only when
        # some row was there already (a fragment of the trace written first).
        if insert_rows(conn, _INSERT_NEW_TRACE, values) < len(values):
            conn.executemany(_INSERT_TRACE, values)
    if fragments:
        conn.executemany(_INSERT_FRAGMENT, [r.trace for r in fragments])
    for rows, verb in ((roots, "REPLACE"), (fragments, "IGNORE")):
        tags = [tag for r in rows if r.tags for tag in r.tags]
        if tags:
            insert_rows(conn, f"INSERT OR {verb} INTO trace_tags VALUES (?, ?, ?)", tags)
        metadata = [m for r in rows if r.metadata for m in r.metadata]
        if metadata:
            insert_rows(conn, f"INSERT OR {verb} INTO trace_metadata VALUES (?, ?, ?)", metadata)


def _write(
    conn: sqlite3.Connection, traces: list[TraceRows], late: list[SpanRow], now_ms: int
) -> None:
    # one pass sorts the batch's rows (by index: this runs for every trace written)
    opened: list[tuple[Any, ...]] = []
    roots: list[TraceRows] = []
    fragments: list[TraceRows] = []
    spans: list[SpanRow] = []
    experiments = set()
    for rows in traces:  # (trace, tags, metadata, spans, fragment, open, root)
        trace = rows[0]
        experiments.add(trace[1])
        if rows[5]:
            opened.append(trace)
        elif rows[4]:
            fragments.append(rows)
        else:
            roots.append(rows)
        if rows[3]:
            spans.extend(rows[3])
    if experiments:
        insert_rows(conn, _INSERT_EXPERIMENT, [(e, f"experiment-{e}", now_ms) for e in experiments])
    if traces:
        _write_trace_rows(conn, opened, roots, fragments)
    insert_rows(conn, _INSERT_SPAN, spans + late if late else spans)


def written_counts(traces: list[TraceRows]) -> tuple[int, int]:
    """Traces finished (not open) and spans in ``traces``, in one pass."""
    finished = spans = 0
    for rows in traces:
        if not rows[5]:
            finished += 1
        spans += len(rows[3]) + rows[6]
    return finished, spans


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
        trace[_ROOT_START] = trace[_ROOT_START] or 0
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
