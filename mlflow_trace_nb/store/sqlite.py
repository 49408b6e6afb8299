"""The embedded trace store: one SQLite file (WAL mode), or an in-memory database.

Writes come only from the write-behind queue's thread, a batch per ``BEGIN IMMEDIATE``
transaction; several processes can write the same file (SQLite's lock plus a busy timeout
and a retry with backoff serialise them). Reads use their own connection, so a query in the
notebook never waits for a write in progress (WAL readers see the last committed state).
If the file cannot be opened or written (read-only directory, bad path), the store says so
once and keeps traces in memory instead, so nothing the process records is lost.
"""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mlflow_trace_nb.entities import Experiment, Trace
from mlflow_trace_nb.store.migrations import migrate
from mlflow_trace_nb.store.rows import SPAN_COLUMNS, TRACE_COLUMNS, TraceRows, span_row, trace_rows
from mlflow_trace_nb.store.trace_builder import build_traces

__all__ = ["MEMORY", "SqliteStore"]

_logger = logging.getLogger(__name__)

MEMORY = ":memory:"
_BUSY_TIMEOUT_MS = 30_000
_WRITE_ATTEMPTS = 8
_TRACE_SELECT = ", ".join(f"t.{c}" for c in TRACE_COLUMNS)
# A span is read as its nine scalar columns plus its four JSON columns packed into one JSON
# array text (built by SQLite in C): one Python string per row instead of four, decoded only
# when a payload is first read. Row layout: see entities.Span.
_SPAN_SELECT = ", ".join(f"s.{c}" for c in SPAN_COLUMNS[:9]) + (
    ", '[' || coalesce(s.inputs, 'null') || ',' || coalesce(s.outputs, 'null') || ','"
    " || s.attributes || ',' || s.events || ']'"
)
_INSERT_TRACE_ROW = (
    f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRACE_COLUMNS))}) ON CONFLICT (request_id) DO UPDATE SET "
)
_INSERT_NEW_TRACE = (
    f"INSERT OR IGNORE INTO traces ({', '.join(TRACE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
)
# A trace's parts can arrive in any order when it crosses processes (W3C traceparent): the
# root's row wins (name, status, request, response, start), a fragment continued elsewhere
# only merges tags/metadata (the root's values win) and may extend the end time.
_INSERT_TRACE = _INSERT_TRACE_ROW + (
    "experiment_id = excluded.experiment_id, name = excluded.name, "
    "timestamp_ms = excluded.timestamp_ms, status = excluded.status, "
    "request = excluded.request, response = excluded.response, "
    "execution_time_ms = CASE WHEN traces.execution_time_ms IS NULL "
    "OR excluded.execution_time_ms IS NULL THEN excluded.execution_time_ms "
    "ELSE max(excluded.execution_time_ms, "
    "traces.timestamp_ms + traces.execution_time_ms - excluded.timestamp_ms) END, "
    "request_metadata = json_patch(traces.request_metadata, excluded.request_metadata), "
    "tags = json_patch(traces.tags, excluded.tags)"
)
_INSERT_FRAGMENT = _INSERT_TRACE_ROW + (
    "execution_time_ms = CASE WHEN traces.execution_time_ms IS NULL "
    "OR excluded.execution_time_ms IS NULL THEN traces.execution_time_ms "
    "ELSE max(traces.execution_time_ms, "
    "excluded.timestamp_ms + excluded.execution_time_ms - traces.timestamp_ms) END, "
    "request_metadata = json_patch(excluded.request_metadata, traces.request_metadata), "
    "tags = json_patch(excluded.tags, traces.tags)"
)
_INSERT_SPAN = (
    f"INSERT OR REPLACE INTO spans ({', '.join(SPAN_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(SPAN_COLUMNS))})"
)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a result is read and built. Tens of thousands of new,
    acyclic row tuples and spans would otherwise trigger collections that traverse all of
    them again and again (about a third of the time of a 10,000-trace search)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_trace_rows(conn: sqlite3.Connection, traces: list[TraceRows]) -> None:
    """Upsert the ``traces`` rows and their tag/metadata rows (fragments never override)."""
    roots = [r for r in traces if not r.fragment]
    fragments = [r for r in traces if r.fragment]
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


class SqliteStore:
    """Trace storage and queries over one SQLite database."""

    def __init__(self, path: str = MEMORY) -> None:
        self.path = path if path == MEMORY else os.path.abspath(os.path.expanduser(path))
        self._lock = threading.RLock()  # guards the read connection
        self._wlock = threading.RLock()  # guards the write connection (file stores)
        self._write_conn: sqlite3.Connection | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    @property
    def _write_lock(self) -> threading.RLock:
        # A file store reads on its own connection, so a query never waits for a batch being
        # written; an in-memory store has one connection and one lock for both.
        return self._lock if self.is_memory else self._wlock

    @property
    def is_memory(self) -> bool:
        """True when traces live only in this process."""
        return self.path == MEMORY

    # Connections ------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if not self.is_memory:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=_BUSY_TIMEOUT_MS / 1000,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: batches touch many pages
            if not self.is_memory:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # connections must not cross fork()
            self._write_conn = self._read_conn = None
            self._lock = threading.RLock()
            self._wlock = threading.RLock()
            self._pid = os.getpid()

    def _fall_back_to_memory(self, error: BaseException) -> None:
        _logger.warning(
            "mlflow-trace-nb: cannot use the trace store %s (%s); keeping traces in memory "
            "for this process. Use mlflow_trace_nb.tracing.set_destination() to choose "
            "another file.",
            self.path,
            error,
        )
        self.path = MEMORY
        self._write_conn = self._read_conn = None

    def _writer(self) -> sqlite3.Connection:
        self._check_fork()
        if self._write_conn is None:
            try:
                self._write_conn = self._connect()
            except (sqlite3.Error, OSError) as error:
                if self.is_memory:
                    raise
                self._fall_back_to_memory(error)
                self._write_conn = self._connect()
            if self.is_memory:
                self._read_conn = self._write_conn
        return self._write_conn

    def _reader(self) -> sqlite3.Connection:
        self._check_fork()
        if self.is_memory:
            return self._writer()
        if self._read_conn is None:
            try:
                self._read_conn = self._connect()
            except (sqlite3.Error, OSError) as error:
                self._fall_back_to_memory(error)
                return self._writer()
        return self._read_conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _gc_paused():
            conn = self._reader()
            conn.execute("BEGIN")  # one snapshot for the trace rows and their spans
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def close(self) -> None:
        """Close both connections (the next use reopens them)."""
        with self._write_lock, self._lock:
            for conn in {id(c): c for c in (self._write_conn, self._read_conn) if c}.values():
                conn.close()
            self._write_conn = self._read_conn = None

    def shutdown(self) -> None:
        """Exporter protocol: close connections."""
        self.close()

    # Writing ----------------------------------------------------------------------------
    def export(self, items: Sequence[Any]) -> None:
        """Write finished traces (``LiveTrace``) and late spans (``LiveSpan``)."""
        from mlflow_trace_nb.live_span import LiveTrace

        traces: list[TraceRows] = []
        late_spans: list[tuple[Any, ...]] = []
        for item in items:
            if isinstance(item, LiveTrace):
                traces.append(trace_rows(item))
            else:
                late_spans.append(span_row(item))
        experiments = {row.trace[1] for row in traces}
        self._write(traces, late_spans, experiments)

    def _write(
        self,
        traces: list[TraceRows],
        late_spans: list[tuple[Any, ...]],
        experiments: set[int],
    ) -> None:
        now_ms = int(time.time() * 1000)
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                with self._write_lock:
                    conn = self._writer()
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        conn.executemany(
                            "INSERT OR IGNORE INTO experiments "
                            "(experiment_id, name, creation_time_ms) VALUES (?, ?, ?)",
                            [(e, f"experiment-{e}", now_ms) for e in experiments],
                        )
                        _write_trace_rows(conn, traces)
                        conn.executemany(
                            _INSERT_SPAN, [s for r in traces for s in r.spans] + late_spans
                        )
                        conn.execute("COMMIT")
                        return
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
            except sqlite3.OperationalError as error:
                message = str(error).lower()
                retryable = "locked" in message or "busy" in message
                if retryable and attempt + 1 < _WRITE_ATTEMPTS:
                    time.sleep(min(2.0, 0.05 * 2**attempt))
                    continue
                if self.is_memory or retryable:
                    raise
                self._fall_back_to_memory(error)  # read-only file, disk full...

    # Reading ----------------------------------------------------------------------------
    def search(
        self,
        *,
        experiment_ids: list[int] | None,
        where: str = "1",
        params: Sequence[Any] = (),
        order_by: str = "t.timestamp_ms DESC, t.rowid DESC",
        limit: int | None = None,
    ) -> list[Trace]:
        """Traces matching a compiled filter, ordered and limited in SQL, with their spans.

        ``where`` and ``order_by`` come from ``mlflow_trace_nb.query`` (whitelisted columns and
        ``?`` placeholders only); every value travels in ``params``.
        """
        clauses = [f"({where})"]
        args: list[Any] = []
        if experiment_ids is not None:
            clauses.insert(0, f"t.experiment_id IN ({', '.join('?' * len(experiment_ids))})")
            args.extend(experiment_ids)
        args.extend(params)
        selection = f"FROM traces t WHERE {' AND '.join(clauses)} ORDER BY {order_by}"
        if limit is not None:
            selection += " LIMIT ?"
            args.append(int(limit))
        with self._reading() as conn:
            trace_rows_ = conn.execute(f"SELECT {_TRACE_SELECT} {selection}", args).fetchall()
            if not trace_rows_:
                return []
            span_rows = conn.execute(
                f"SELECT {_SPAN_SELECT} FROM spans s "
                f"WHERE s.request_id IN (SELECT t.request_id {selection})",
                args,
            ).fetchall()
            return build_traces(trace_rows_, span_rows)

    def get_trace(self, request_id: str) -> Trace | None:
        """The trace with this id, or None."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_TRACE_SELECT} FROM traces t WHERE t.request_id = ?", (request_id,)
            ).fetchone()
            if row is None:
                return None
            span_rows = conn.execute(
                f"SELECT {_SPAN_SELECT} FROM spans s WHERE s.request_id = ? "
                "ORDER BY s.start_time_ns",
                (request_id,),
            ).fetchall()
        return build_traces([row], span_rows)[0]

    def count_traces(self) -> int:
        """How many traces the store holds (all experiments)."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM traces").fetchone()[0])

    # Experiments ------------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name``, creating it if needed (race-safe)."""
        with self._write_lock:
            conn = self._writer()
            conn.execute(
                "INSERT OR IGNORE INTO experiments (name, creation_time_ms) VALUES (?, ?)",
                (name, int(time.time() * 1000)),
            )
        found = self.get_experiment_by_name(name)
        assert found is not None
        return found

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or None."""
        return self._one_experiment("name = ?", name)

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        """The experiment with this id, or None."""
        try:
            key = int(experiment_id)
        except (TypeError, ValueError):
            return None
        return self._one_experiment("experiment_id = ?", key)

    def _one_experiment(self, where: str, value: Any) -> Experiment | None:
        with self._lock:
            row = (
                self._reader()
                .execute(
                    f"SELECT experiment_id, name, creation_time_ms FROM experiments WHERE {where}",
                    (value,),
                )
                .fetchone()
            )
        return None if row is None else Experiment(str(row[0]), row[1], row[2])
