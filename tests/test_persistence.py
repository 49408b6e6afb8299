"""Durability across processes: write-behind timing, SIGKILL, exit flush, concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME

ROOT = Path(__file__).resolve().parents[1]


def python(code: str, db: Path, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACE_NB_DESTINATION": f"sqlite:///{db}"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def count(db: Path, table: str = "traces") -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0
    finally:
        conn.close()


def test_trace_becomes_durable_without_a_flush_and_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    child = python(
        """
        import sys, time
        import mlflow_trace_nb as mlflow

        @mlflow.trace
        def step(i):
            return i

        @mlflow.trace
        def job():
            return [step(i) for i in range(3)]

        job()
        print("traced", flush=True)
        time.sleep(60)
        """,
        db,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "traced"
        traced_at = time.monotonic()
        # The writer wakes every 0.5 s on its own; the bound only keeps a broken writer from
        # hanging the test (no timing assertion: a loaded machine may take longer).
        while count(db) == 0 and time.monotonic() - traced_at < 30:
            time.sleep(0.02)
        assert count(db) == 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert count(db) == 1 and count(db, "spans") == 4


def test_everything_pending_is_flushed_at_exit(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    child = python(
        """
        import mlflow_trace_nb as mlflow

        @mlflow.trace
        def f(i):
            return i

        for i in range(3000):
            f(i)
        """,
        db,
    )
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert count(db) == 3000


def test_two_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    code = """
        import sys
        import mlflow_trace_nb as mlflow

        experiment = mlflow.set_experiment("shared")
        print(experiment.experiment_id, flush=True)

        @mlflow.trace
        def child(i):
            return i

        @mlflow.trace
        def root(i):
            return child(i)

        for i in range(2000):
            root(i)
            if i % 500 == 0:
                mlflow.flush()
        """
    writers = [python(code, db) for _ in range(3)]
    outputs = [w.communicate(timeout=120) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=False):
        assert writer.returncode == 0, err
    experiment_ids = {out.strip() for out, _ in outputs}
    assert len(experiment_ids) == 1  # set_experiment is race-safe across processes
    assert count(db) == 6000 and count(db, "spans") == 12000
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM experiments WHERE name = 'shared'").fetchone() == (1,)


def test_burst_loses_nothing_and_stays_bounded(db_path: Path) -> None:
    @mlflow.trace
    def f(i: int) -> int:
        return i

    queue = RUNTIME.queue
    peak = 0
    for i in range(30_000):
        f(i)
        if i % 100 == 0:
            peak = max(peak, len(queue._items))
    assert mlflow.flush(60)
    assert peak <= queue._max_pending
    assert count(db_path) == 30_000


def test_forked_children_write_their_own_traces(db_path: Path) -> None:
    import multiprocessing

    @mlflow.trace
    def work(i: int) -> int:
        return i

    work(0)  # the parent has a writer thread and open connections before forking
    mlflow.flush()
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        assert pool.map(_traced_in_child, range(4)) == [0, 1, 2, 3]
    assert count(db_path) == 5


def _traced_in_child(i: int) -> int:
    result = mlflow.trace(name="child-work")(lambda x: x)(i)
    assert mlflow.flush(10)
    return int(result)


def test_a_multiprocessing_child_flushes_when_it_exits(db_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    child = context.Process(target=_trace_without_flush)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert count(db_path) == 1


def _trace_without_flush() -> None:
    mlflow.trace(name="last-words")(lambda: "bye")()  # no flush: the exit must write it
