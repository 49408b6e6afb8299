"""Worker processes keep every trace they finished, whatever ends them: ``with Pool()`` (whose
exit calls ``terminate()``, SIGTERM) under fork, spawn and forkserver, a
``ProcessPoolExecutor``, and a ``Process`` terminated right after it sent its result.
Read back from the real SQLite file, by a fresh store."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import DESTINATION_ENV
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.faults import _workers

METHODS = [
    m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()
]


@pytest.fixture
def child_db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Spawned children import the package afresh: point them at the test's file too."""
    monkeypatch.setenv(DESTINATION_ENV, f"sqlite:///{db_path}")
    return db_path


def _stored(db: Path, trace_ids: list[str]) -> None:
    """Every trace is in the file, complete (the task span and its child), and OK."""
    store = SqliteStore(str(db))
    try:
        for trace_id in trace_ids:
            trace = store.get_trace(trace_id)
            assert trace is not None, f"worker trace {trace_id} was lost"
            assert trace.status == "OK"
            assert sorted(s.name for s in trace.spans) == ["_square", "task"]
    finally:
        store.close()


@pytest.mark.parametrize("method", METHODS)
def test_pool_ended_by_terminate_keeps_every_trace(method: str, child_db: Path) -> None:
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:  # __exit__ calls terminate(): SIGTERM to the workers
        trace_ids = pool.map(_workers.traced_task, range(12), chunksize=3)
        trace_ids += [pool.apply_async(_workers.traced_task, (99,)).get(timeout=60)]
    assert len(set(trace_ids)) == 13
    _stored(child_db, trace_ids)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_executor_keeps_every_trace(method: str, child_db: Path) -> None:
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        trace_ids = list(executor.map(_workers.traced_task, range(6)))
    _stored(child_db, trace_ids)


def test_process_terminated_after_sending_keeps_its_trace(child_db: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_workers.put_trace_id_then_wait, args=(queue,))
    process.start()
    try:
        trace_id = queue.get(timeout=60)
    finally:
        process.terminate()
        process.join(30)
    assert process.exitcode == -15  # killed by SIGTERM, no exit handler ran
    _stored(child_db, [trace_id])


def test_fork_pool_started_inside_a_span_puts_its_tasks_under_it(child_db: Path) -> None:
    context = multiprocessing.get_context("fork")
    with mlflow.start_span("batch") as root, context.Pool(2) as pool:
        trace_ids = pool.map(_workers.traced_task, range(4))
    assert set(trace_ids) == {root.trace_id}  # each task continued the parent's trace
    mlflow.flush()
    store = SqliteStore(str(child_db))
    trace = store.get_trace(root.trace_id)
    store.close()
    assert trace is not None and trace.name == "batch"
    spans = trace.spans
    assert sorted(s.name for s in spans) == ["_square"] * 4 + ["batch"] + ["task"] * 4
    assert {s.parent_id for s in spans if s.name == "task"} == {root.span_id}
    assert len(mlflow.search_traces(return_type="list")) == 1
