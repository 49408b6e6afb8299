"""The trace file deleted, replaced or damaged under a running process."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.errors import MlflowTraceNbError, StoreCorruptedError
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.faults.store_helpers import rows, run_python


@mlflow.trace
def work(i: int, text: str = "") -> int:
    return i


def _trace(start: int, n: int, text: str = "") -> None:
    for i in range(start, start + n):
        work(i, text)
    assert mlflow.flush(20)


@pytest.mark.parametrize("remove", ["db", "db-wal-shm"])
def test_deleted_file_is_recreated_and_later_traces_go_there(db_path: Path, remove: str) -> None:
    _trace(0, 5)
    assert len(mlflow.search_traces()) == 5
    for suffix in ("", "-wal", "-shm") if remove == "db-wal-shm" else ("",):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    _trace(5, 4)
    assert db_path.exists()
    assert rows(db_path, "SELECT count(*) FROM traces") == [(4,)]
    assert len(mlflow.search_traces()) == 4  # reads follow the new file too
    assert RUNTIME.store.health().written_traces == 9


def test_replaced_file_is_followed(db_path: Path, tmp_path: Path) -> None:
    _trace(0, 3)
    other = SqliteStore(str(tmp_path / "other.db"))
    other.count_traces()  # create it with the schema
    other.close()
    os.replace(tmp_path / "other.db", db_path)
    _trace(3, 2)
    assert rows(db_path, "SELECT count(*) FROM traces") == [(2,)]
    assert len(mlflow.search_traces()) == 2


def _damage(path: Path, start: float, end: float) -> None:
    """Overwrite bytes [start, end) of the file (as fractions of its size) with garbage."""
    size = path.stat().st_size
    begin, stop = int(size * start), int(size * end)
    with open(path, "r+b") as f:
        f.seek(begin)
        f.write(bytes((i * 37 + 11) % 256 for i in range(stop - begin)))


@pytest.mark.parametrize(("start", "end"), [(0.0, 0.01), (0.25, 0.75)])
def test_damaged_file_query_raises_one_error_and_the_writer_starts_a_new_file(
    db_path: Path, start: float, end: float
) -> None:
    _trace(0, 200, "payload " * 100)
    RUNTIME.store.close()  # checkpointed into the main file
    assert not Path(f"{db_path}-wal").exists()
    _damage(db_path, start, end)

    with pytest.raises(StoreCorruptedError) as caught:
        mlflow.search_traces(max_results=1000)
    error = caught.value
    assert isinstance(error, MlflowTraceNbError) and error.path == str(db_path)
    assert str(db_path) in str(error) and "Move it aside" in str(error)

    _trace(200, 3)  # tracing never raises, and the next batch moves the file aside
    moved = RUNTIME.store.health().moved_aside
    assert len(moved) == 1 and Path(moved[0]).exists() and ".corrupt-" in moved[0]
    assert len(mlflow.search_traces()) == 3
    assert rows(db_path, "SELECT count(*) FROM traces") == [(3,)]


def test_a_process_that_only_traces_moves_a_damaged_file_aside(tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    store = SqliteStore(str(db))
    store.count_traces()
    store.close()
    _damage(db, 0.0, 1.0)
    child = run_python(
        """
        import mlflow_trace_nb as mlflow
        for i in range(7):
            mlflow.trace(name=f"t{i}")(lambda: i)()
        """,
        db,
    )
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "is damaged" in err and "moved it to" in err and "Traceback" not in err
    assert rows(db, "SELECT count(*) FROM traces") == [(7,)]
    (aside,) = tmp_path.glob("damaged.db.corrupt-*")
    with pytest.raises(sqlite3.DatabaseError):
        rows(aside, "SELECT count(*) FROM traces")


def _memory_fallback(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Tracing into ``path`` keeps traces in memory with a warning; queries work."""
    mlflow.set_destination(f"sqlite:///{path}")
    _trace(0, 3)
    health = RUNTIME.store.health()
    assert health.state == "memory" and health.written_traces == 3
    assert len(mlflow.search_traces()) == 3
    assert "keeping traces in memory" in caplog.text


@pytest.mark.parametrize("layout", ["other program", "newer version"])
def test_a_database_of_another_layout_is_never_written_to(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, layout: str
) -> None:
    """Another program's ``traces`` table, or a newer version's file without a table this
    one writes: memory with a warning naming the file (was: retried forever, queries raised
    raw ``sqlite3`` errors, every trace lost at exit)."""
    path = tmp_path / "other.db"
    if layout == "other program":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE traces (a, b)")
    else:
        store = SqliteStore(str(path))
        store.count_traces()  # creates the file and its tables
        store.close()
        with sqlite3.connect(path) as conn:
            conn.execute("ALTER TABLE span_rows RENAME TO span_rows_v9")
            conn.execute("INSERT INTO _migrations VALUES ('m099_future', 0)")
    _memory_fallback(path, caplog)
    assert str(path) in caplog.text
    with sqlite3.connect(path) as conn:  # left as it was
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "span_rows" not in tables


def test_a_path_that_is_not_a_regular_file_keeps_traces_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A FIFO (as ``/dev/full`` or ``/dev/null``): SQLite would retry it forever."""
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    _memory_fallback(fifo, caplog)
    assert "not a regular file" in caplog.text


def test_text_that_is_not_utf8_is_read_with_replacement_characters(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One stored value with bytes that are not UTF-8 (quick_check finds nothing): every
    query still works, the bad bytes read as U+FFFD (was: every unfiltered search raised)."""
    _trace(0, 5, "plain")
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE traces SET request = CAST(x'7b2278223a22fffe227d' AS TEXT) "
            "WHERE rowid = (SELECT min(rowid) FROM traces)"
        )
    frame = mlflow.search_traces()
    assert len(frame) == 5
    assert "\ufffd" in "".join(str(r) for r in frame["request"])
    assert "not valid UTF-8" in caplog.text
    _trace(5, 2)
    assert len(mlflow.search_traces()) == 7


def test_a_query_on_a_file_that_cannot_be_read_raises_store_unavailable(db_path: Path) -> None:
    """The trace file replaced by a directory under a running process: a query raises the
    documented ``StoreUnavailableError`` naming the file (was: a raw ``sqlite3`` error)."""
    from mlflow_trace_nb.errors import StoreUnavailableError

    _trace(0, 2)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_path.mkdir()
    with pytest.raises(StoreUnavailableError, match=str(db_path)) as raised:
        mlflow.search_traces()
    assert isinstance(raised.value, MlflowTraceNbError)
    db_path.rmdir()
    _trace(2, 1)
    assert len(mlflow.search_traces()) >= 1
