"""The SQLite store on real files: schema, WAL, round trips, experiments, failure modes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.store.migrations import MIGRATIONS, migrate
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.helpers import last_trace


def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    assert migrate(conn) == [m.__name__ for m in MIGRATIONS]
    assert migrate(conn) == []
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"experiments", "traces", "span_rows", "trace_tags", "trace_metadata"} <= tables
    views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"spans"}  # span_rows and the roots kept in trace rows, as one table
    assert conn.execute("SELECT name FROM experiments WHERE experiment_id = 0").fetchone() == (
        "Default",
    )


def test_store_file_uses_wal_and_holds_the_trace(db_path: Path) -> None:
    @mlflow.trace
    def f(x: int) -> int:
        return x

    f(1)
    mlflow.flush()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = conn.execute("SELECT name, status, request, response FROM traces").fetchall()
    assert rows == [("f", "OK", '{"x":1}', "1")]
    assert conn.execute("SELECT count(*) FROM spans").fetchone()[0] == 1


def test_default_destination_is_a_file_in_the_working_directory(tmp_path: Path) -> None:
    mlflow.reset()  # back to the default destination (cwd is tmp_path)

    @mlflow.trace
    def f() -> None:
        pass

    f()
    mlflow.flush()
    assert (tmp_path / "mlflow_traces.db").exists()
    assert RUNTIME.store.path == str(tmp_path / "mlflow_traces.db")


def test_environment_variable_chooses_the_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACE_NB_DESTINATION", f"sqlite:///{tmp_path}/env.db")
    mlflow.reset()
    assert RUNTIME.store.path == str(tmp_path / "env.db")
    monkeypatch.setenv("MLFLOW_TRACE_NB_DESTINATION", "memory")
    mlflow.reset()
    assert RUNTIME.store.is_memory


def test_memory_destination_keeps_traces_in_process(tmp_path: Path) -> None:
    mlflow.set_destination("memory")

    @mlflow.trace
    def f() -> str:
        return "m"

    f()
    assert last_trace().spans[0].outputs == "m"
    assert len(mlflow.search_traces()) == 1
    assert not list(tmp_path.glob("*.db-wal")) or True  # nothing required on disk


def test_unopenable_path_falls_back_to_memory_and_user_code_runs(
    tmp_path: Path, caplog_warnings: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    mlflow.set_destination(f"sqlite:///{blocker}/sub/t.db")

    @mlflow.trace
    def f() -> int:
        return 7

    assert f() == 7
    assert last_trace().spans[0].outputs == 7
    assert RUNTIME.store.is_memory
    assert "keeping traces in memory" in caplog_warnings.text


def test_get_trace_unknown_id_is_none() -> None:
    assert mlflow.get_trace("tr-" + "0" * 32) is None
    assert mlflow.get_trace("nonsense") is None
    with pytest.raises(TypeError):
        mlflow.get_trace(123)  # type: ignore[arg-type]


def test_experiments_create_fetch_and_route(db_path: Path) -> None:
    experiment = mlflow.set_experiment("llm-application")
    assert experiment.name == "llm-application" and experiment.experiment_id != "0"
    assert mlflow.set_experiment("llm-application") == experiment
    assert mlflow.get_experiment_by_name("llm-application") == experiment
    assert mlflow.get_experiment_by_name("missing") is None

    @mlflow.trace
    def f() -> None:
        pass

    f()
    assert last_trace().experiment_id == experiment.experiment_id
    assert len(mlflow.search_traces(experiment_ids=[experiment.experiment_id])) == 1
    assert len(mlflow.search_traces(experiment_ids=["0"])) == 0

    mlflow.tracing.enable(experiment_id="123")
    f()
    assert last_trace().experiment_id == "123"
    assert len(mlflow.search_traces(experiment_ids=["123"])) == 1
    with pytest.raises(ValueError, match="experiment_id"):
        mlflow.tracing.enable(experiment_id="abc")
    with pytest.raises(ValueError, match="exactly one"):
        mlflow.set_experiment()
    with pytest.raises(ValueError, match="non-empty"):
        mlflow.set_experiment("  ")


def test_store_can_be_closed_and_reopened(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "reopen.db"))
    mlflow.set_destination(store)

    @mlflow.trace
    def f() -> int:
        return 3

    f()
    mlflow.flush()
    store.close()
    assert store.count_traces() == 1
