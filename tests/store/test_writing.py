"""``store.writing``: rows go in as multi-row INSERTs, a few statements per batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.store.sqlite import SqliteStore
from mlflow_trace_nb.store.writing import insert_rows
from mlflow_trace_nb.testing.collector import Collector


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c)")
    return conn


def test_insert_rows_writes_every_row_in_power_of_two_statements() -> None:
    conn = _table()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    rows = [(i, f"row {i}", None if i % 3 else i * 0.5) for i in range(1_000)]
    assert insert_rows(conn, "INSERT INTO t VALUES (?, ?, ?)", rows) == 1_000
    # 1,000 = 512 + 256 + 128 + 64 + 32 + 8: six statements, not a thousand
    assert len(statements) == 6
    assert conn.execute("SELECT * FROM t ORDER BY a").fetchall() == rows
    assert insert_rows(conn, "INSERT INTO t VALUES (?, ?, ?)", []) == 0


def test_insert_or_ignore_counts_only_the_rows_inserted() -> None:
    conn = _table()
    insert_rows(conn, "INSERT INTO t VALUES (?, ?, ?)", [(i, "old", 0) for i in range(0, 100, 2)])
    changed = insert_rows(
        conn, "INSERT OR IGNORE INTO t VALUES (?, ?, ?)", [(i, "new", 1) for i in range(100)]
    )
    assert changed == 50
    assert conn.execute("SELECT count(*) FROM t WHERE b = 'old'").fetchone() == (50,)


def test_a_low_limit_on_bound_parameters_gives_smaller_statements() -> None:
    """SQLite before 3.32 binds at most 999 parameters per statement."""
    conn = _table()
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)  # 13 rows of 3
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert insert_rows(conn, "INSERT INTO t VALUES (?, ?, ?)", [(i, "x", i) for i in range(100)])
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (100,)
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 13  # 12 of 8 rows (at most 13 fit), then 4


def test_a_store_batch_of_spans_is_a_few_statements(tmp_path: Path) -> None:
    """2,000 three-span traces: the writer's INSERTs number a few dozen, not thousands."""
    sink = Collector()
    mlflow.set_destination(sink)

    @mlflow.trace
    def child(x: int) -> int:
        return x + 1

    @mlflow.trace(name="root")
    def root(i: int) -> int:
        return child(i) + child(i + 1)

    for i in range(2_000):
        root(i)
    mlflow.flush()
    items = sink.items
    store = SqliteStore(str(tmp_path / "w.db"))
    store.count_traces()
    conn = store._writer()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    store.export(items)
    conn.set_trace_callback(None)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert 0 < len(inserts) <= 40
    assert store.count_traces() == 2_000
    store.close()
    with sqlite3.connect(tmp_path / "w.db") as check:
        assert check.execute("SELECT count(*) FROM spans").fetchone() == (6_000,)
