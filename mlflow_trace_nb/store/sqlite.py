"""The embedded trace store: one SQLite file (WAL mode), or an in-memory database.

Writes come from the write-behind queue's thread, a batch per ``BEGIN IMMEDIATE``
transaction (and assessments, ``store.assessments``, from the user's thread under the same
write lock); several processes can write the same file (SQLite's lock plus a busy timeout
serialise them). Reads use their own connection, so a query in the notebook never waits for a
write in progress (WAL readers see the last committed state).

Failure model (what happens when the file cannot be written):

- A value the database refuses fails only its own trace: the batch is rewritten item by item
  (``store.writing``). Text fields are cleaned and capped before that (``store.limits``).
- A transient fault (locked, busy, disk full, I/O error, read-only, cannot open) keeps the
  batch in a bounded in-memory backlog (``store.backlog``) and retries with backoff
  (``RETRY_DELAYS_S``), from the next batch, from ``flush()`` and from a retry thread. The
  store is never switched off: once the fault clears, the backlog is written, in order, and
  later traces go straight to the file. Overflow is counted (``health().dropped_spans``) and
  reported in a warning, as is anything still waiting at ``shutdown()`` (process exit).
  Meanwhile reads show what is on disk (the backlog becomes visible once it is written).
- A file deleted or replaced under the process (a different inode at the path, checked
  once per batch, before and after writing, and once per query) is noticed: the connections
  are reopened on the new file (created if needed), and a batch that may have gone to the
  old file is written again.
- A damaged file: a query raises ``StoreCorruptedError`` (naming the file, saying what to
  do); the writer confirms the damage, moves the file aside to ``<name>.corrupt-<time>``
  (``store.recovery``), warns once with both paths and starts a new file at the same path.
- Only a path that cannot be opened even once (its parent is a file, permission denied,
  read-only directory) makes the store keep this process's traces in memory instead, with a
  warning: that is a configuration problem, not a fault to wait out.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mlflow_trace_nb.entities import Experiment, Trace
from mlflow_trace_nb.store.assessments import AssessmentStore, attach_assessments
from mlflow_trace_nb.store.attachments import AttachmentStore
from mlflow_trace_nb.store.faults import CORRUPT, classify
from mlflow_trace_nb.store.handles import MEMORY, read_retrying
from mlflow_trace_nb.store.limits import MAX_NAME_CHARS, clean_text
from mlflow_trace_nb.store.rows import SPAN_COLUMNS, TRACE_COLUMNS
from mlflow_trace_nb.store.trace_builder import assessed_ids, build_traces
from mlflow_trace_nb.store.write_path import WritePath

__all__ = ["MEMORY", "SqliteStore"]

_TRACE_SELECT = ", ".join(f"t.{c}" for c in TRACE_COLUMNS)
# A span is read as its nine scalar columns plus its four JSON columns packed into one JSON
# array text (built by SQLite in C): one Python string per row instead of four, decoded only
# when a payload is first read. Row layout: see entities.Span.
_SPAN_SELECT = ", ".join(f"s.{c}" for c in SPAN_COLUMNS[:9]) + (
    ", '[' || coalesce(s.inputs, 'null') || ',' || coalesce(s.outputs, 'null') || ','"
    " || s.attributes || ',' || s.events || ']'"
)


T = TypeVar("T")
Row = tuple[Any, ...]


# For query.frame_rows: a span's last columns as written, but their commonest values (no
# message, attributes or events) read as NULL, which costs no Python object; a NULL there
# (the schema forbids it) reads as 0 for the reader to notice.
def _message(column: str) -> str:
    return f"nullif({column}, '')"


def _unless(column: str, empty: str) -> str:
    return f"CASE {column} WHEN '{empty}' THEN NULL ELSE coalesce({column}, 0) END"


_SPAN_RAW_SELECT = ", ".join(
    [
        *(f"s.{c}" for c in SPAN_COLUMNS[:8]),
        _message("s.status_message"),
        "s.inputs",
        "s.outputs",
        _unless("s.attributes", "{}"),
        _unless("s.events", "[]"),
    ]
)
# search_rows reads the two tables behind the ``spans`` view (migration 3) directly: SQLite
# scans the view's UNION ALL whole (it does not push ``request_id IN (subquery)`` into
# it), which made reading the spans of a result about twice as slow. A trace row is read
# with its root span's own columns (all None without a root, which the view leaves out);
# the root's name, status, inputs and outputs are the trace's.
_TRACE_ROOT_SELECT = ", ".join(
    [
        _TRACE_SELECT,
        "t.root_span_id",
        "t.root_span_type",
        "t.root_start_ns",
        "t.root_end_ns",
        _message("t.root_status_message"),
        _unless("t.root_attributes", "{}"),
        _unless("t.root_events", "[]"),
    ]
)


def _selection(
    experiment_ids: list[int] | None,
    where: str,
    params: Sequence[Any],
    order_by: str,
    limit: int | None,
) -> tuple[str, list[Any]]:
    """``FROM traces t WHERE ... ORDER BY ... [LIMIT ?]`` of a query, and its arguments."""
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
    return selection, args


class SqliteStore(WritePath, AssessmentStore, AttachmentStore):
    """Trace storage and queries over one SQLite database (see the module docstring for
    what it does when the file cannot be written; ``health()`` for its counters)."""

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # Reading ----------------------------------------------------------------------------
    @read_retrying
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
        selection, args = _selection(experiment_ids, where, params, order_by, limit)
        with self._reading() as conn:
            trace_rows_ = conn.execute(f"SELECT {_TRACE_SELECT} {selection}", args).fetchall()
            if not trace_rows_:
                return []
            span_rows = conn.execute(
                f"SELECT {_SPAN_SELECT} FROM spans s "
                f"WHERE s.request_id IN (SELECT t.request_id {selection})",
                args,
            ).fetchall()
            traces = build_traces(trace_rows_, span_rows)
            attach_assessments(conn, traces)
            return traces

    @read_retrying
    def search_rows(
        self,
        build: Callable[[list[Row], list[Row], set[Any], Callable[[list[Row]], list[Trace]]], T],
        *,
        experiment_ids: list[int] | None,
        where: str = "1",
        params: Sequence[Any] = (),
        order_by: str = "t.timestamp_ms DESC, t.rowid DESC",
        limit: int | None = None,
    ) -> T:
        """What ``search`` finds, as rows, handed to ``build`` in the read snapshot (for
        ``search_traces``' DataFrame): ``build(trace_rows, span_rows, assessed, load)`` gets
        the ``traces`` rows (``TRACE_COLUMNS``, in order, then the root span's id, type,
        start, end, status message, attributes and events, as below; all None without a
        root), the other ``spans`` rows of all of them (``SPAN_COLUMNS``, any order; status
        message ``''``, attributes ``{}`` and events ``[]`` as None), the ids of those with
        assessments, and ``load(rows)`` which makes ``Trace`` entities of some trace rows
        exactly as ``search`` does."""
        selection, args = _selection(experiment_ids, where, params, order_by, limit)
        with self._reading() as conn:
            trace_rows_ = conn.execute(f"SELECT {_TRACE_ROOT_SELECT} {selection}", args).fetchall()
            span_rows: list[Row] = []
            if trace_rows_:
                span_rows = conn.execute(
                    f"SELECT {_SPAN_RAW_SELECT} FROM (SELECT t.request_id {selection}) AS chosen "
                    "JOIN span_rows s ON s.request_id = chosen.request_id",
                    args,
                ).fetchall()

            def load(rows: list[Row]) -> list[Trace]:
                spans = []
                for row in rows:
                    spans += conn.execute(
                        f"SELECT {_SPAN_SELECT} FROM spans s WHERE s.request_id = ?", (row[0],)
                    ).fetchall()
                traces = build_traces(rows, spans)
                attach_assessments(conn, traces)
                return traces

            return build(trace_rows_, span_rows, assessed_ids(conn, trace_rows_), load)

    @read_retrying
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
            traces = build_traces([row], span_rows)
            attach_assessments(conn, traces)
        return traces[0]

    @read_retrying
    def count_traces(self) -> int:
        """How many traces the store holds (all experiments)."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM traces").fetchone()[0])

    # Tags of stored traces ---------------------------------------------------------------
    def set_trace_tag(self, request_id: str, key: str, value: str) -> bool:
        """Set a tag of a stored trace; False if the store has no such trace."""
        from mlflow_trace_nb.store.trace_tags import set_tag

        return bool(self._tag_write(set_tag, request_id, key, value))

    def delete_trace_tag(self, request_id: str, key: str) -> bool | None:
        """Remove a tag: True if removed, False if the trace lacks it, None if no trace."""
        from mlflow_trace_nb.store.trace_tags import delete_tag

        return self._tag_write(delete_tag, request_id, key)  # type: ignore[no-any-return]

    def _tag_write(self, change: Any, *args: Any) -> Any:
        self._check_fork()
        with self._write_lock:
            try:
                return change(self._writer(), *args)
            except sqlite3.DatabaseError as error:
                if classify(error) == CORRUPT:
                    raise self._corrupted(error) from error
                raise

    # Experiments ------------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name``, creating it if needed (race-safe)."""
        name = clean_text(name, MAX_NAME_CHARS)
        self._check_fork()
        with self._write_lock:
            try:
                self._writer().execute(
                    "INSERT OR IGNORE INTO experiments (name, creation_time_ms) VALUES (?, ?)",
                    (name, int(time.time() * 1000)),
                )
            except sqlite3.DatabaseError as error:
                if classify(error) == CORRUPT:
                    raise self._corrupted(error) from error
                raise
        found = self.get_experiment_by_name(name)
        assert found is not None
        return found

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or None."""
        return self._one_experiment("name = ?", clean_text(name, MAX_NAME_CHARS))

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        """The experiment with this id, or None."""
        try:
            key = int(experiment_id)
        except (TypeError, ValueError):
            return None
        return self._one_experiment("experiment_id = ?", key)

    @read_retrying
    def _one_experiment(self, where: str, value: Any) -> Experiment | None:
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT experiment_id, name, creation_time_ms FROM experiments WHERE {where}",
                (value,),
            ).fetchone()
        return None if row is None else Experiment(str(row[0]), row[1], row[2])
