"""The backlog: bounded while the file cannot be written, counted when it overflows, written
in order when the fault clears. Real faults: a file-size limit, a lock held by another
process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.faults.store_helpers import rows, run_python

OVERFLOW_CHILD = """
    import json, os, resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    import mlflow_trace_nb as mlflow
    from mlflow_trace_nb.store.sqlite import SqliteStore
    from tests.faults.store_helpers import record

    @mlflow.trace
    def step(i, text):
        return i

    items = record(lambda: [step(i, "q" * 20_000) for i in range(50)])
    store = SqliteStore(sys.argv[1], max_backlog_spans=20)
    store.count_traces()
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(sys.argv[1]) + 4096, hard))
    for item in items:  # one trace per batch, as a slow stream of traces would come
        store.export(item.records())
    during = store.health()
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    flushed = store.flush()
    after = store.health()
    found = store.search(experiment_ids=None, order_by="t.rowid")  # the order they were written
    names = [t.info.request_id for t in found]
    print(json.dumps({
        "pending": during.pending_spans, "dropped": during.dropped_spans, "flushed": flushed,
        "after": [after.state, after.pending_spans, after.dropped_spans, after.written_traces],
        "kept_newest": names == [t.request_id for t in items[30:]],
    }), flush=True)
"""


def test_backlog_overflow_drops_the_oldest_counts_them_and_warns(tmp_path: Path) -> None:
    db = tmp_path / "overflow.db"
    child = run_python(OVERFLOW_CHILD, db, [str(db)])
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["pending"] == 20 and result["dropped"] == 30
    assert result["flushed"] is True
    assert result["after"] == ["ok", 0, 30, 20]
    assert result["kept_newest"] is True
    assert "dropped the oldest" in err


LOCKED_CHILD = """
    import json, sys
    import mlflow_trace_nb.store.connection as connection
    connection.BUSY_TIMEOUT_MS = 100  # give up on a held lock quickly (default 1 s)
    import mlflow_trace_nb as mlflow
    from mlflow_trace_nb._internal.runtime import RUNTIME

    def trace(n, start):
        for i in range(start, start + n):
            mlflow.trace(name=f"t{i}")(lambda: i)()

    trace(2, 0)
    print(json.dumps(mlflow.flush()), flush=True)
    sys.stdin.readline()  # the parent now holds the write lock
    trace(3, 2)
    flushed = mlflow.flush()
    health = RUNTIME.store.health()
    print(json.dumps([flushed, health.state, health.pending_spans, health.last_error]), flush=True)
    sys.stdin.readline()  # the lock is released
    trace(1, 5)
    print(json.dumps([mlflow.flush(), RUNTIME.store.health().written_traces]), flush=True)
"""


def test_a_lock_held_by_another_process_delays_traces_without_losing_them(
    tmp_path: Path,
) -> None:
    db = tmp_path / "locked.db"
    SqliteStore(str(db)).count_traces()
    child = run_python(LOCKED_CHILD, db)
    assert child.stdin is not None and child.stdout is not None
    try:
        assert json.loads(child.stdout.readline()) is True
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        child.stdin.write("go\n")
        child.stdin.flush()
        flushed, state, pending, error = json.loads(child.stdout.readline())
        assert (flushed, state, pending) == (False, "retrying", 3)
        assert "locked" in error
        assert rows(db, "SELECT count(*) FROM traces") == [(2,)]  # reads are not blocked
        holder.execute("ROLLBACK")
        holder.close()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert json.loads(child.stdout.readline()) == [True, 6]
    finally:
        _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert rows(db, "SELECT count(*) FROM traces") == [(6,)]
