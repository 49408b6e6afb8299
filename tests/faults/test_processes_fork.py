"""``os.fork()`` with real children that trace and leave with ``os._exit(0)``: the child's
work continues the trace of the span open at the fork (a fragment under that span), the
parent's trace is stored once, as the parent made it, and nothing the parent had queued is
written by the child."""

from __future__ import annotations

import os
import threading
import traceback
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.helpers import set_attributes

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@mlflow.trace(name="child-work")
def _child_work(x: int) -> int:
    with mlflow.start_span("child-inner") as span:
        span.set_outputs(x + 1)
    return x


def _in_child(body: object) -> None:
    """Fork; the child runs ``body`` and leaves with os._exit (no exit handler runs)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()  # type: ignore[operator]
        except BaseException:
            traceback.print_exc()  # shown by pytest with the failure
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _read(db: Path, trace_id: str) -> Trace:
    store = SqliteStore(str(db))
    try:
        trace = store.get_trace(trace_id)
    finally:
        store.close()
    assert trace is not None
    return trace


def test_child_forked_inside_an_open_span_continues_its_trace(db_path: Path) -> None:
    with mlflow.start_span("parent", inputs={"q": 1}) as root:
        with mlflow.start_span("before-fork"):
            pass
        _in_child(lambda: _child_work(1))
        root.set_outputs("parent done")
    mlflow.flush()
    trace = _read(db_path, root.trace_id)
    spans = {s.name: s for s in trace.spans}
    assert sorted(spans) == ["before-fork", "child-inner", "child-work", "parent"]
    assert spans["child-work"].parent_id == root.span_id  # under the span open at the fork
    assert spans["child-inner"].parent_id == spans["child-work"].span_id
    assert trace.name == "parent" and trace.status == "OK"
    assert trace.data.response == '"parent done"'
    assert len(mlflow.search_traces(return_type="list")) == 1  # one trace, not two


def test_child_that_ends_the_inherited_span_does_not_store_its_copy(db_path: Path) -> None:
    def child() -> None:
        # The child leaves the parent's `with` block (SystemExit passes through it): its copy
        # of the span ends, and must not replace what the parent stores.
        with mlflow.start_span("child-side"):
            pass
        raise SystemExit(0)

    with mlflow.start_span("parent") as root:
        pid = os.fork()
        if pid == 0:
            try:
                child()
            except SystemExit:
                pass
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        root.set_outputs("from the parent")
        root.set_attribute("side", "parent")
    mlflow.flush()
    trace = _read(db_path, root.trace_id)
    assert trace.data.response == '"from the parent"'
    assert trace.data.root is not None and set_attributes(trace.data.root) == {"side": "parent"}
    assert sorted(s.name for s in trace.spans) == ["child-side", "parent"]


def test_child_traces_outside_any_span_are_written_before_os_exit(db_path: Path) -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            _child_work(7)
            trace = mlflow.get_last_active_trace()
            os.write(write, (trace.request_id if trace else "none").encode())
        finally:
            os._exit(0)
    os.close(write)
    trace_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    trace = _read(db_path, trace_id)
    assert sorted(s.name for s in trace.spans) == ["child-inner", "child-work"]


def test_traces_the_parent_had_queued_are_written_once_by_the_parent(db_path: Path) -> None:
    from mlflow_trace_nb._internal.runtime import RUNTIME

    _child_work(1)  # queued in the parent (not flushed) when the child is forked
    queued = RUNTIME.last_trace
    assert queued is not None

    def child() -> None:
        # The child's queue starts empty and has nothing to write but its own trace.
        queue = RUNTIME._queue
        assert queue is None or queue.pending() == 0
        assert RUNTIME.last_trace is None  # the parent's last trace is not this process's
        before = queue.exported if queue else 0
        _child_work(2)  # written through: a child of a plain fork may leave with os._exit
        # one trace of two spans: a span record and the trace's (with its root's)
        assert RUNTIME.queue.exported == before + 2 and RUNTIME.queue.pending() == 0

    _in_child(child)
    mlflow.flush()
    assert len(mlflow.search_traces(return_type="list")) == 2
    assert _read(db_path, queued.request_id).name == "child-work"


def test_child_forked_while_the_parent_writes_is_not_stuck(db_path: Path) -> None:
    from mlflow_trace_nb._internal.runtime import RUNTIME

    store = RUNTIME.store
    held, release = threading.Event(), threading.Event()

    def write_in_progress() -> None:
        with store._write_lock:  # what the parent's writer holds during a batch
            held.set()
            release.wait(30)

    holder = threading.Thread(target=write_in_progress)
    holder.start()
    assert held.wait(10)
    read, write = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            try:
                _child_work(5)
                trace = RUNTIME.last_trace
                os.write(write, (trace.request_id if trace else "none").encode())
            finally:
                os._exit(0)
    finally:
        release.set()
        holder.join(10)
    os.close(write)
    trace_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert sorted(s.name for s in _read(db_path, trace_id).spans) == ["child-inner", "child-work"]


def test_child_forked_during_a_real_write_transaction_can_write(db_path: Path) -> None:
    """The parent's writer inside a SQLite write transaction when another thread forks: the
    fork waits for it to end (the child would inherit SQLite's record of that write lock,
    held by no one in the child, and each of its traces waited 10 s and was lost)."""
    from mlflow_trace_nb._internal.runtime import RUNTIME

    _child_work(0)
    mlflow.flush()
    store = RUNTIME.store
    held = threading.Event()

    def write_transaction() -> None:
        with store._write_lock:
            conn = store._writer()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE experiments SET name = name")
            held.set()
            threading.Event().wait(0.3)
            conn.execute("COMMIT")

    holder = threading.Thread(target=write_transaction)
    holder.start()
    assert held.wait(10)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _child_work(7)
            trace = RUNTIME.last_trace
            ok = trace is not None and mlflow.flush(5)
            os.write(write, (trace.request_id if ok and trace else "lost").encode())
        finally:
            os._exit(0)
    holder.join(10)
    os.close(write)
    trace_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert trace_id.startswith("tr-"), trace_id
    assert sorted(s.name for s in _read(db_path, trace_id).spans) == ["child-inner", "child-work"]
