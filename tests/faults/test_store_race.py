"""Several processes making their first trace at the same moment, in a directory with no file.

``WRITERS`` forked processes go through ``ROUNDS`` rounds; in each they wait on one barrier,
then all open a new file at once and write their traces to it: the first open (the WAL switch
needs an exclusive lock, and SQLite answers "database is locked" at once, without waiting,
when two connections ask together; then the schema migration) is contended. Every process
must keep using the file (none may fall back to memory) and every trace must be in it.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.store.migrations import check_layout, migrate, pending
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.faults.store_helpers import flat, record, rows, traced

ROUNDS = 30
WRITERS = 4
TRACES = 4


def _race(folder: str, items: list[Any], barrier: Any, results: Any) -> None:
    for r in range(ROUNDS):
        try:
            store = SqliteStore(f"{folder}/round-{r}.db")
            barrier.wait(30)
            store.count_traces()  # a first read opens (and creates) the file
            store.export(flat(items))  # and so does the first write
            outcome: Any = (store.is_memory, store.health().written_traces, store.count_traces())
            store.close()
        except BaseException as error:  # reported to the parent, which fails the test
            outcome = repr(error)
        results.put((r, outcome))


def _traces_of(writer: int) -> Any:
    return lambda: traced(TRACES, f"w{writer}-")


def _run(folder: Path, batches: list[list[Any]]) -> dict[int, list[Any]]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(batches))
    results = context.Queue()
    racers = [
        context.Process(target=_race, args=(str(folder), batch, barrier, results))
        for batch in batches
    ]
    for racer in racers:
        racer.start()
    by_round: dict[int, list[Any]] = {}
    for _ in range(ROUNDS * len(racers)):
        r, outcome = results.get(timeout=60)
        by_round.setdefault(r, []).append(outcome)
    for racer in racers:
        racer.join(30)
        assert racer.exitcode == 0
    return by_round


def test_processes_racing_to_create_a_new_store_all_keep_their_traces(tmp_path: Path) -> None:
    batches = [record(_traces_of(w)) for w in range(WRITERS)]
    for batch in batches:
        assert all(t.request_id for t in batch)  # ids drawn before the fork
    by_round = _run(tmp_path, batches)
    for r in range(ROUNDS):
        outcomes = by_round[r]
        assert all(o[:2] == (False, TRACES) for o in outcomes), f"round {r}: {outcomes}"
        assert rows(tmp_path / f"round-{r}.db", "SELECT count(*) FROM traces") == [
            (WRITERS * TRACES,)
        ], f"round {r}"


def test_a_locked_store_holds_up_continued_requests_once_not_each(tmp_path: Path) -> None:
    """A server's handler spans (continued traces) wait for their store write, but while
    another process holds the file's write lock only the first waits its full bound; the
    next ones wait 0.05 s, and every trace is stored once the lock is gone."""
    import sqlite3
    import time

    from mlflow_trace_nb._internal.tracer import span_lifecycle

    path = tmp_path / "locked.db"
    mlflow.set_destination(str(path))
    with mlflow.start_span("client"):
        headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
    mlflow.flush()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # as another process writing for a long time would
    started = time.monotonic()
    try:
        for i in range(20):
            continued = mlflow.tracing.set_tracing_context_from_http_request_headers(headers)
            with continued, mlflow.start_span(f"handler-{i}"):
                pass
        held_up = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # the first waits up to CONTINUED_FLUSH_S, the other 19 about 0.05 s each (not 2 s each)
    assert held_up < span_lifecycle.CONTINUED_FLUSH_S + 19 * 0.05 + 3.0
    assert mlflow.flush(30)
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id() or "")
    assert trace is not None
    assert {s.name for s in trace.data.spans} >= {f"handler-{i}" for i in range(20)}


def _hold_write_lock(db_path: Path, until: Callable[[], object]) -> threading.Thread:
    """A thread that takes the file's write lock as another program would (``BEGIN
    EXCLUSIVE``), holds it until ``until()`` returns, then commits. Returns once held."""
    locked = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(db_path, isolation_level=None, timeout=0)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        until()
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    return holder


def test_reads_and_flush_do_not_wait_for_a_lock_another_program_keeps(db_path: Path) -> None:
    """Another program holds the file's write lock for 20 s: a traced call, a search, a
    get_trace, ``flush(timeout=0.5)`` and ``get_last_active_trace`` all return while it is
    still held (the search shows what is on disk); once it is released the waiting trace is
    written. (Each used to wait 5-10 s: the pre-read flush waited out the writer's busy
    timeout, twice, and ``flush`` ignored its timeout.)"""
    from mlflow_trace_nb._internal.runtime import RUNTIME

    traced(1)
    assert mlflow.flush(10)
    release = threading.Event()
    holder = _hold_write_lock(db_path, lambda: release.wait(20))
    try:
        traced(1, "u")
        frame = mlflow.search_traces()
        assert len(frame) == 1  # what is on disk
        assert mlflow.get_trace(frame["trace_id"][0]) is not None
        assert mlflow.flush(timeout=0.5) is False
        started = time.monotonic()
        for _ in range(10):
            assert mlflow.flush(timeout=0.05) is False
        # each attempt waits for the lock at most its own 0.05 s, not the store's 1 s busy
        # timeout (10 s in all before); a bound with 10x to spare, for a loaded machine
        assert time.monotonic() - started < 5
        assert mlflow.get_last_active_trace() is not None
        assert holder.is_alive() and not release.is_set()  # all of it under the lock
        assert RUNTIME.store.health().pending_spans >= 1
    finally:
        release.set()
        holder.join(30)
    assert mlflow.flush(20)
    assert len(mlflow.search_traces()) == 2


class _MigratedByAnotherProcessMidCheck(sqlite3.Connection):
    """A connection to a new file that, just before it lists the file's tables, lets another
    connection create the whole schema: the moment at which, in CI, a spawned pool worker
    found the tables its sibling had just made and called the file "not a trace store"."""

    other_path = ""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if "sqlite_master" in sql and self.other_path:
            other = sqlite3.connect(self.other_path, isolation_level=None)
            migrate(other)
            other.close()
            self.other_path = ""
        return super().execute(sql, *args)


def test_a_schema_made_by_another_process_between_two_reads_is_not_foreign(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "new.db")
    conn = sqlite3.connect(path, isolation_level=None, factory=_MigratedByAnotherProcessMidCheck)
    conn.other_path = path
    try:
        assert pending(conn) is False or migrate(conn) == []  # never UnusableStoreError
        check_layout(conn)
    finally:
        conn.close()


def test_flush_keeps_trying_until_a_lock_another_program_holds_ends(db_path: Path) -> None:
    """``flush(timeout=20)`` while another program holds the write lock for 3.5 s: it used to
    make one attempt and return False after the 1 s busy timeout, with time left."""
    traced(1)
    assert mlflow.flush(10)
    holder = _hold_write_lock(db_path, lambda: time.sleep(3.5))
    try:
        traced(1, "u")
        assert mlflow.flush(timeout=20) is True  # written once the lock ended
    finally:
        holder.join(30)
    assert len(mlflow.search_traces()) == 2
