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
