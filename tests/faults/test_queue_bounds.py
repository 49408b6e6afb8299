"""The pipeline's batch worker is bounded in spans and bytes, not in traces.

The records of real traces of 300 spans (an agent's) and of big payloads go through a
``BatchWorker``
whose writer is stuck or slow: the backlog stays under the bound, a stuck writer costs the
producer one bounded wait and then drops (counted), a slow one loses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.batch import BatchWorker as WriteBehindQueue
from mlflow_trace_nb._internal.records import record_spans
from mlflow_trace_nb._internal.sizing import estimate_item, estimate_value


def _agent_traces(count: int, spans: int = 300, payload: str = "") -> list[Any]:
    """The records (span records, then a trace record carrying the root's) of ``count``
    finished traces of ``spans`` spans each, made by the tracer."""
    items: list[Any] = []

    class Collector:
        def export(self, batch: list[Any]) -> None:
            items.extend(batch)

        def shutdown(self) -> None:
            pass

    @mlflow.trace(span_type="TOOL")
    def tool(i: int, text: str) -> str:
        return text

    mlflow.set_destination(["memory", Collector()])
    for n in range(count):
        with mlflow.start_span(f"agent-{n}", span_type="AGENT"):
            for i in range(spans - 1):
                tool(i, payload)
    mlflow.flush()
    mlflow.set_destination("memory")
    assert len(items) == count * spans  # one record per span (the root's in the trace's)
    return items


class Stuck:
    """An exporter that blocks until released (a store locked by another process, say)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.spans = 0

    def export(self, batch: list[Any]) -> None:
        self.release.wait(30)
        self.spans += sum(record_spans(r) for r in batch)


def test_300_span_traces_are_bounded_in_spans_and_a_stuck_writer_never_hangs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mlflow_trace_nb")
    records = _agent_traces(30)  # 9,000 spans; a bound of 20,000 traces would hold them all
    sink = Stuck()
    queue = WriteBehindQueue(
        sink.export,
        interval_s=0.01,
        max_batch_spans=600,
        max_pending_spans=3_000,
        max_block_s=0.3,
    )
    started = time.monotonic()
    peak = 0
    for item in records:
        queue.put(item, record_spans(item))
        peak = max(peak, queue.stats()["pending_spans"])
    elapsed = time.monotonic() - started
    # spans waiting never exceed the bound, but for the traces' own records (never dropped)
    assert peak <= 3_000 + 30
    stats = queue.stats()
    # span records are dropped one by one (trace records never)
    assert stats["dropped"] > 0 and stats["dropped_spans"] == stats["dropped"]
    # one producer waited max_block_s; while the writer stays stuck the others drop at once
    assert elapsed < 0.3 * 5, f"the producer was held {elapsed:.1f} s"
    assert caplog.text.count("the trace writer is stalled") == 1
    sink.release.set()
    assert queue.flush(20)
    assert sink.spans + stats["dropped_spans"] == 9_000  # written or counted, never lost
    queue.shutdown()
    assert (
        f"{stats['dropped']} records ({stats['dropped_spans']} spans) were dropped" in caplog.text
    )


def test_big_payloads_bound_the_queue_in_bytes() -> None:
    records = _agent_traces(20, spans=10, payload="p" * 50_000)  # about 100 KB a span
    assert estimate_item(records[0])[1] >= 100_000  # a tool: input and output counted
    sink = Stuck()
    queue = WriteBehindQueue(
        sink.export,
        interval_s=0.01,
        max_batch_spans=10,
        max_pending_bytes=2 * 2**20,
        max_block_s=0.2,
    )
    for item in records:
        queue.put(item, record_spans(item))
        # traces' own records have room up to twice the bound
        assert queue.stats()["pending_bytes"] <= 2 * 2 * 2**20
    assert queue.stats()["limit_spans"] < 30  # 2 MB of 100 KB spans, whatever the span bound
    assert queue.dropped > 0
    sink.release.set()
    assert queue.flush(20)
    assert sink.spans + queue.dropped_spans == 200
    queue.shutdown()


def test_a_slow_writer_slows_the_producer_and_loses_nothing() -> None:
    records = _agent_traces(20)
    written: list[int] = []

    def slow(batch: list[Any]) -> None:
        time.sleep(0.01)
        written.extend(record_spans(r) for r in batch)

    queue = WriteBehindQueue(
        slow, interval_s=0.01, max_batch_spans=600, max_pending_spans=1_500, max_block_s=30
    )
    peak = 0
    for item in records:
        queue.put(item, record_spans(item))
        peak = max(peak, queue.stats()["pending_spans"])
    assert queue.flush(30)
    assert peak <= 1_500 and queue.dropped == 0
    assert sum(written) == 6_000
    queue.shutdown()


def test_payload_estimates_reach_nested_text() -> None:
    messages = {"messages": [{"role": "user", "content": "x" * 10_000}] * 4, "model": "m"}
    assert estimate_value(messages) >= 40_000
    assert estimate_value(list(range(10_000))) >= 10_000 * 32  # long containers extrapolated
    assert 0 < estimate_value({"x": 1, "y": 2}) < 1_000
