"""The store writer's own cost per span: ``SqliteStore.export`` of ready-made traces.

Traces are recorded first (3 spans each: a root and two children, small payloads; or, with
``spans`` = 1, one span each) into a collecting exporter (their records: the span records and
the trace's, with its root's), then written to a fresh SQLite file in batches of 6,000
records. Only ``export`` is timed: serialisation, text checks, SQL. By hand:
``PYTHONPATH=. python benchmarks/bench_store_writer.py [traces] [rounds] [spans: 3 or 1]``.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.records import TraceRecord, record_spans
from mlflow_trace_nb.store.sqlite import SqliteStore
from mlflow_trace_nb.testing.collector import Collector as _Collect

BATCH = 2_000 * 3  # records: 2 spans + the trace's (with its root's) per 3-span trace


def record(n_traces: int, spans: int = 3) -> list[Any]:
    """The records of ``n_traces`` finished traces of ``spans`` spans (3 or 1)."""
    sink = _Collect()
    mlflow.set_destination(sink)

    @mlflow.trace
    def child(x: int) -> int:
        return x + 1

    @mlflow.trace(name="root-step")
    def root(i: int) -> int:
        return child(i) + child(i + 1)

    for i in range(n_traces):
        if spans == 1:
            child(i)
        else:
            root(i)
    mlflow.flush()
    mlflow.set_destination("memory")
    return sink.items


def write_once(items: list[Any], path: str) -> tuple[float, float]:
    """Wall and CPU (this thread's) seconds ``export`` takes to write ``items`` in
    writer-sized batches. CPU time is the steadier figure on a busy machine."""
    store = SqliteStore(path)
    store.count_traces()  # open and migrate before timing
    gc.collect()
    t0, c0 = time.perf_counter(), time.thread_time()
    for start in range(0, len(items), BATCH):
        store.export(items[start : start + BATCH])
    elapsed, cpu = time.perf_counter() - t0, time.thread_time() - c0
    assert store.count_traces() == sum(1 for i in items if type(i) is TraceRecord)
    store.close()
    return elapsed, cpu


def main() -> None:
    n_traces = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    per_trace = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    if per_trace not in (1, 3):
        raise SystemExit("spans per trace: 3 or 1")
    items = record(n_traces, per_trace)
    spans = sum(record_spans(i) for i in items)
    wall, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            seconds, cpu_seconds = write_once(items, os.path.join(tmp, f"w{r}.db"))
            wall.append(seconds / spans * 1e6)
            cpu.append(cpu_seconds / spans * 1e6)
    print(
        f"{n_traces:,} traces, {spans:,} spans, {rounds} rounds, us/span: "
        f"CPU median {statistics.median(cpu):.2f} (min {min(cpu):.2f}), "
        f"wall median {statistics.median(wall):.2f} (min {min(wall):.2f})"
    )


if __name__ == "__main__":
    main()
