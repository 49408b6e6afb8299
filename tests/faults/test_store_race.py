"""Several processes making their first trace at the same moment, in a directory with no file.

``WRITERS`` forked processes go through ``ROUNDS`` rounds; in each they wait on one barrier,
then all open a new file at once and write their traces to it: the first open (the WAL switch
needs an exclusive lock, and SQLite answers "database is locked" at once, without waiting,
when two connections ask together; then the schema migration) is contended. Every process
must keep using the file (none may fall back to memory) and every trace must be in it.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

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
