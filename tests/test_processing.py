"""The write-behind queue: batching, flush, back-pressure, failures."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mlflow_trace_nb._internal.processing import WriteBehindQueue


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[Any]] = []
        self.delay = delay
        self.max_seen_pending = 0
        self.lock = threading.Lock()

    def export(self, items: list[Any]) -> None:
        time.sleep(self.delay)
        with self.lock:
            self.batches.append(list(items))

    @property
    def items(self) -> list[Any]:
        return [i for b in self.batches for i in b]


def test_flush_writes_everything_in_order() -> None:
    sink = Recorder()
    queue = WriteBehindQueue(sink.export, interval_s=60, max_batch=7)
    for i in range(50):
        queue.put(i)
    assert queue.flush(5)
    assert sink.items == list(range(50))
    assert all(len(b) <= 7 for b in sink.batches)
    queue.shutdown()


def test_items_are_written_without_flush_within_the_interval() -> None:
    sink = Recorder()
    queue = WriteBehindQueue(sink.export, interval_s=0.05)
    queue.put("x")
    deadline = time.monotonic() + 2
    while not sink.items and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.items == ["x"]
    queue.shutdown()


def test_flush_with_nothing_pending_returns_at_once() -> None:
    queue = WriteBehindQueue(Recorder().export)
    started = time.perf_counter()
    assert queue.flush()
    assert time.perf_counter() - started < 0.5  # generous: no I/O, no thread round trip


def test_backpressure_bounds_the_queue_and_loses_nothing() -> None:
    sink = Recorder(delay=0.002)
    queue = WriteBehindQueue(sink.export, interval_s=0.01, max_batch=50, max_pending=200)
    peak = 0
    for i in range(3000):
        queue.put(i)
        peak = max(peak, len(queue._items))
    assert peak <= 200
    assert queue.flush(30)
    assert sink.items == list(range(3000))
    queue.shutdown()


def test_failing_exporter_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def broken(items: list[Any]) -> None:
        calls.append(items)
        raise OSError("disk on fire")

    queue = WriteBehindQueue(broken, interval_s=60)
    queue.put(1)
    assert queue.flush(5)
    queue.put(2)
    assert queue.flush(5)
    assert calls == [[1], [2]]
    assert queue.failed == 2
    assert caplog.text.count("could not write traces") >= 1
    queue.shutdown()


def test_concurrent_producers_and_flushers() -> None:
    sink = Recorder()
    queue = WriteBehindQueue(sink.export, interval_s=0.01, max_batch=64, max_pending=500)

    def produce(base: int) -> None:
        for i in range(1000):
            queue.put(base + i)
            if i % 250 == 0:
                queue.flush(5)

    threads = [threading.Thread(target=produce, args=(k * 10_000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert queue.flush(10)
    assert sorted(sink.items) == sorted(k * 10_000 + i for k in range(4) for i in range(1000))
    queue.shutdown()


def test_a_stalled_writer_never_hangs_the_producer(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    written: list[Any] = []

    def stuck(items: list[Any]) -> None:
        release.wait(30)
        written.extend(items)

    queue = WriteBehindQueue(stuck, interval_s=0.01, max_batch=10, max_pending=20, max_block_s=0.05)
    started = time.monotonic()
    for i in range(60):
        queue.put(i)
    elapsed = time.monotonic() - started
    assert elapsed < 15  # bounded: each put waits at most max_block_s
    assert len(queue._items) <= 20  # memory stays bounded
    assert queue.dropped > 0
    assert "writer is stalled" in caplog.text
    release.set()
    assert queue.flush(10)
    assert len(written) + queue.dropped == 60  # every item written or counted as dropped
    queue.shutdown()


def test_writer_survives_base_exceptions_from_exporters() -> None:
    calls: list[list[Any]] = []

    def explosive(items: list[Any]) -> None:
        calls.append(items)
        if len(calls) == 1:
            raise SystemExit("exporter called sys.exit")

    queue = WriteBehindQueue(explosive, interval_s=60)
    queue.put(1)
    assert queue.flush(5)
    queue.put(2)
    assert queue.flush(5)
    assert calls == [[1], [2]] and queue.failed == 1
    queue.shutdown()
