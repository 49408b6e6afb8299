"""The pipeline's one batching worker (``_internal.batch.BatchWorker``)."""

from __future__ import annotations

import gc
import os
import threading
import weakref
from typing import Any

import pytest

from mlflow_trace_nb._internal.batch import BatchWorker
from mlflow_trace_nb._internal.fork_hooks import register_fork_hook
from mlflow_trace_nb._internal.records import make_span_record, make_trace_record, record_spans


def _span(i: int) -> Any:
    return make_span_record(
        i + 1, i + 1, None, "0", f"s{i}", None, 1, 2, "OK", "", None, None, None, None
    )


class Sink:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.gate = threading.Event()
        self.gate.set()

    def export(self, batch: list[Any]) -> None:
        self.gate.wait(30)
        self.items.extend(batch)


def test_records_arrive_in_order_in_batches() -> None:
    sink = Sink()
    worker = BatchWorker(sink.export, interval_s=60, max_batch=7)
    records = [_span(i) for i in range(50)]
    for record in records:
        worker.put(record, record_spans(record))
    assert worker.flush(10)
    assert sink.items == records
    assert worker.stats()["pending_spans"] == 0
    worker.shutdown()


def test_without_blocking_what_does_not_fit_is_dropped_and_counted() -> None:
    sink = Sink()
    sink.gate.clear()  # the sink is stuck
    worker = BatchWorker(sink.export, interval_s=0.01, max_pending_spans=20, block=False)
    span = _span(0)
    for _ in range(200):
        worker.put(span, 1)
    trace = make_trace_record(span, None, None, 1)
    worker.put(trace, 1)  # a trace's record has room up to twice the bound
    stats = worker.stats()
    assert stats["dropped"] > 0 and stats["dropped_spans"] == stats["dropped"]
    sink.gate.set()
    assert worker.flush(10)
    assert len(sink.items) + stats["dropped"] == 201 and sink.items[-1] is trace
    worker.shutdown()


def test_a_writer_behind_costs_the_caller_a_check_per_measurement_not_per_put() -> None:
    sink = Sink()
    sink.gate.clear()  # the writer takes its first batch and sticks: it is behind
    worker = BatchWorker(sink.export, interval_s=60, max_pending_spans=10_000, block=False)
    checks = 0
    admit = worker._admit

    def counting(item: Any, spans: int) -> bool:
        nonlocal checks
        checks += 1
        return admit(item, spans)

    worker._admit = counting  # type: ignore[method-assign]
    span = _span(0)
    for _ in range(9_000):  # past the wake-up point (half the bound), short of the bound
        worker.put(span, 1)
    assert worker.stats()["dropped"] == 0
    assert checks < 9_000 // 100  # about one per 256 spans measured, not one per put
    for _ in range(3_000):  # the bound still holds at once
        worker.put(span, 1)
    stats = worker.stats()
    assert stats["dropped"] > 0 and stats["pending_spans"] <= 10_000
    sink.gate.set()
    assert worker.flush(10)
    assert len(sink.items) + stats["dropped"] == 12_000
    worker.shutdown()


def test_the_fork_hook_does_not_keep_a_worker_alive() -> None:
    worker = BatchWorker(Sink().export)
    ref = weakref.ref(worker)
    del worker
    gc.collect()
    assert ref() is None


def test_a_bound_method_hook_runs_in_a_forked_child_while_its_object_lives() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")

    class Thing:
        ran = False

        def hook(self) -> None:
            Thing.ran = True

    thing = Thing()
    register_fork_hook(thing.hook)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if Thing.ran else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_forked_child_starts_with_an_empty_queue() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    sink = Sink()
    sink.gate.clear()
    worker = BatchWorker(sink.export, interval_s=60)
    worker.put(_span(1), 1)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if worker.pending() == 0 and worker.stats()["pending_spans"] == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sink.gate.set()
    assert worker.flush(10) and len(sink.items) == 1
    worker.shutdown()
