"""Migration 3: a trace's root span lives in its ``traces`` row, the other spans in
``span_rows``, and the ``spans`` view shows both as one table (for reads, for filters, and
for an older version of the package still writing ``INSERT INTO spans``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.store.migrations import m001_initial, m002_assessments, migrate
from mlflow_trace_nb.store.sqlite import SqliteStore


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _trace_through(db: Path, nested: bool) -> str:
    mlflow.set_destination(f"sqlite:///{db}")

    @mlflow.trace
    def child(x: int) -> int:
        return x * 2

    @mlflow.trace(span_type="CHAIN", attributes={"team": "a"})
    def root(x: int) -> int:
        return child(x) + 1 if nested else x + 1

    root(20)
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    mlflow.flush()
    return trace_id


def test_a_one_span_trace_is_one_row_and_reads_back_whole(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    trace_id = _trace_through(db, nested=False)
    assert _count(db, "SELECT count(*) FROM span_rows") == 0
    assert _count(db, "SELECT count(*) FROM traces") == 1
    assert _count(db, "SELECT count(*) FROM spans") == 1  # the view shows the root
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    (span,) = trace.data.spans
    assert span.name == "root"
    assert span.span_type == "CHAIN"
    assert span.parent_id is None
    assert span.inputs == {"x": 20}
    assert span.outputs == 21
    assert span.attributes["team"] == "a"
    assert span.status.status_code == "OK"
    assert span.end_time_ns is not None and span.end_time_ns >= span.start_time_ns


def test_children_in_span_rows_root_in_trace_row_filters_see_both(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    trace_id = _trace_through(db, nested=True)
    assert _count(db, "SELECT count(*) FROM span_rows") == 1
    assert _count(db, "SELECT count(*) FROM spans") == 2
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert [s.name for s in trace.data.spans] == ["root", "child"]
    assert trace.data.spans[1].parent_id == trace.data.spans[0].span_id
    for name in ("root", "child"):
        found = mlflow.search_traces(filter_string=f"span.name = '{name}'", return_type="list")
        assert [t.info.trace_id for t in found] == [trace_id]
    found = mlflow.search_traces(filter_string="span.type = 'CHAIN'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]


def test_an_older_database_is_migrated_and_keeps_its_spans(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    # the layout before migration 3: every span, root included, in the ``spans`` table
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_ms INTEGER)")
    for migration in (m001_initial, m002_assessments):
        migration(conn)
        conn.execute("INSERT INTO _migrations VALUES (?, 0)", (migration.__name__,))
    request_id = "tr-" + "0" * 31 + "1"
    conn.execute(
        "INSERT INTO traces (request_id, experiment_id, name, timestamp_ms, "
        "execution_time_ms, status, request, response) VALUES (?, 0, 'old', 1, 1, 'OK', "
        "'{\"q\": 1}', '2')",
        (request_id,),
    )
    for span_id, parent in (("a" * 16, None), ("b" * 16, "a" * 16)):
        conn.execute(
            "INSERT INTO spans (request_id, span_id, parent_id, name, start_time_ns, "
            "end_time_ns, status_code, inputs, outputs) VALUES (?, ?, ?, ?, ?, ?, 'OK', "
            "'{\"q\": 1}', '2')",
            (request_id, span_id, parent, f"span-{span_id[0]}", 1_000_000, 2_000_000),
        )
    conn.close()

    store = SqliteStore(str(db))
    trace = store.get_trace(request_id)
    assert trace is not None
    assert sorted(s.name for s in trace.data.spans) == ["span-a", "span-b"]  # once each
    assert _count(db, "SELECT count(*) FROM spans") == 2
    store.close()


def test_an_older_writer_inserting_into_spans_lands_in_span_rows(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn)
    row = ("tr-" + "0" * 31 + "2", "c" * 16, None, "n", None, 5, 6, "OK", "", None, None)
    for _ in range(2):  # the old writer's INSERT OR REPLACE: replaced, not duplicated
        conn.execute(
            "INSERT OR REPLACE INTO spans (request_id, span_id, parent_id, name, span_type, "
            "start_time_ns, end_time_ns, status_code, status_message, inputs, outputs) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
    assert conn.execute("SELECT count(*) FROM span_rows").fetchone()[0] == 1
    assert conn.execute("SELECT name, attributes, events FROM spans").fetchall() == [
        ("n", "{}", "[]")
    ]
    conn.close()


def test_a_trace_state_apart_from_its_roots_status_keeps_the_root_in_span_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    mlflow.set_destination(f"sqlite:///{db}")

    @mlflow.trace
    def judged(x: int) -> int:
        mlflow.update_current_trace(state="ERROR")  # the trace failed, its root did not
        return x

    judged(1)
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush()
    # traces.status is the trace's state, so the root's own status is a span row of its own
    assert _count(db, "SELECT count(*) FROM traces WHERE root_span_id IS NULL") == 1
    assert _count(db, "SELECT count(*) FROM span_rows WHERE parent_id IS NULL") == 1
    assert _count(db, "SELECT count(*) FROM spans") == 1
    trace = mlflow.get_trace(trace_id)  # type: ignore[arg-type]
    assert trace is not None and trace.info.state == "ERROR"
    (span,) = trace.data.spans
    assert span.status.status_code == "OK" and span.outputs == 1
    assert trace.info.execution_time_ms is not None
    found = mlflow.search_traces(filter_string="status = 'ERROR'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]
    ok_spans = mlflow.search_traces(filter_string="span.status = 'OK'", return_type="list")
    assert [t.info.trace_id for t in ok_spans] == [trace_id]


def test_a_state_equal_to_the_roots_status_keeps_the_one_row_layout(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    mlflow.set_destination(f"sqlite:///{db}")
    with mlflow.start_span("fine"):
        mlflow.update_current_trace(state="OK")
    mlflow.flush()
    assert _count(db, "SELECT count(*) FROM span_rows") == 0
    assert mlflow.get_last_active_trace().info.state == "OK"  # type: ignore[union-attr]


def test_a_trace_record_that_cannot_be_made_into_a_row_costs_only_itself(
    tmp_path: Path,
) -> None:
    from mlflow_trace_nb._internal.records import (
        TraceRecord,
        make_span_record,
        make_trace_record,
    )

    child = make_span_record(7, 2, 1, "0", "child", None, 10, 20, "OK", "", {"q": 1}, 2, None, ())
    broken = tuple.__new__(TraceRecord, (7, 1))  # a record cut short
    fine = make_span_record(8, 3, None, "0", "other", None, 10, 20, "OK", "", None, 1, None, ())
    store = SqliteStore(str(tmp_path / "t.db"))
    store.export([child, broken, fine, make_trace_record(fine, {}, {}, 1)])
    assert store.rejected_spans == 1  # the broken trace record, not its child nor the other
    db = tmp_path / "t.db"
    assert _count(db, "SELECT count(*) FROM spans WHERE name = 'child'") == 1
    assert _count(db, "SELECT count(*) FROM traces WHERE status = 'IN_PROGRESS'") == 1
    assert _count(db, "SELECT count(*) FROM traces WHERE name = 'other'") == 1


def test_the_one_span_trace_fast_path_makes_the_rows_the_general_path_makes() -> None:
    """``batch_rows`` builds a one-span trace's row inline; odd values take the same care."""
    import enum

    from mlflow_trace_nb._internal.records import (
        FixedAttributes,
        make_span_record,
        make_trace_record,
    )
    from mlflow_trace_nb.store.rows import NO_ROWS, batch_rows, finished_rows

    class Kind(enum.Enum):
        LLM = "LLM"

    fixed = FixedAttributes({"mlflow.spanFunctionName": "f"})
    roots = [
        ("f", "UNKNOWN", 10, 2_000_020, "", {"x": 1}, 3, fixed, ()),
        ("bad \udc80 name", Kind.LLM, 10.5, 2e9, "boom \ud800", [1, {"a": None}], None, {}, ()),
        ("n" * 5_000, None, 10, None, "m" * 20_000, None, "out", {"k": float("nan")}, ()),
    ]
    for trace_id, (name, kind, start, end, message, inputs, outputs, attrs, events) in enumerate(
        roots, start=1
    ):
        root = make_span_record(
            trace_id, 9, None, "0", name, kind, start, end, "OK", message, inputs, outputs,
            attrs, events,
        )  # fmt: skip
        record = make_trace_record(root, {}, {}, 1)
        [fast] = batch_rows([record], lambda *_: None)
        general = finished_rows(record, NO_ROWS, f"tr-{trace_id:032x}")
        assert fast == general
        assert fast.root and not fast.spans


def test_rows_keep_the_order_the_traces_ended_in_fast_path_or_not() -> None:
    """Traces ending in the same millisecond are read back in the order they ended."""
    from mlflow_trace_nb._internal.records import make_span_record, make_trace_record
    from mlflow_trace_nb.store.rows import batch_rows

    def root(trace_id: int) -> Any:
        return make_span_record(
            trace_id, 1, None, "0", "r", None, 5, 6, "OK", "", None, 1, None, ()
        )

    child = make_span_record(2, 7, 1, "0", "c", None, 5, 6, "OK", "", None, 1, None, ())
    items = [
        make_trace_record(root(1), {}, {}, 1),
        child,
        make_trace_record(root(2), {}, {}, 2),
        make_trace_record(root(3), {}, {}, 1),
    ]
    rows = batch_rows(items, lambda *_: None)
    assert [r.trace[0] for r in rows] == [f"tr-{i:032x}" for i in (1, 2, 3)]
    assert [len(r.spans) for r in rows] == [0, 1, 0]


def test_an_odd_trace_id_takes_the_general_path_to_the_same_request_id() -> None:
    from mlflow_trace_nb._internal.records import make_span_record, make_trace_record
    from mlflow_trace_nb.store.rows import batch_rows

    for trace_id in (0, 1, 2**128 - 1, 2**130, -5):
        root = make_span_record(
            trace_id, 9, None, "0", "r", None, 5, 6, "OK", "", None, 1, None, ()
        )
        [rows] = batch_rows([make_trace_record(root, {}, {}, 1)], lambda *_: None)
        assert rows.trace[0] == f"tr-{trace_id:032x}"
