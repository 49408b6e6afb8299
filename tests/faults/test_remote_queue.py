"""The remote send queue is bounded in spans and bytes while its endpoint hangs; drops are
counted, warned about once, and reported at shutdown."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.tracing.destination import OTLP
from tests.faults import remote_servers as servers
from tests.faults.remote_servers import RawServer


@pytest.fixture
def hung() -> Iterator[RawServer]:
    server = RawServer(servers.hang)
    yield server
    mlflow.set_destination("memory")
    server.close()


def test_big_spans_are_bounded_in_bytes_and_drops_are_counted_once(
    hung: RawServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mlflow_trace_nb")
    remote = OTLP(
        hung.url, timeout_s=30, max_queue_bytes=1_000_000, interval_s=0.01, exit_timeout_s=0.1
    )
    mlflow.set_destination(["memory", remote])
    prompt = "q" * 40_000
    for i in range(60):  # 60 spans of about 80 KB: 4.8 MB, far over the 1 MB bound
        with mlflow.start_span(f"llm-{i}") as span:
            span.set_inputs({"prompt": prompt})
            span.set_outputs(prompt)
        assert RUNTIME.flush(10)  # local only: hands it to the exporter, never waits on it
        assert remote.sender.pending_bytes() <= 1_000_000
    assert mlflow.flush(0.2) is False
    stats = remote.stats()
    assert stats["dropped"] > 0 and stats["queued"] + stats["dropped"] == 60
    assert stats["queued"] * 80_000 <= 1_000_000
    assert caplog.text.count("send queue full") == 1  # one warning, then debug lines
    remote.shutdown(0.1)
    assert f"{stats['queued']} spans not delivered at shutdown, {stats['dropped']} dropped" in (
        caplog.text
    )
