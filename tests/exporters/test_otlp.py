"""OTLP/HTTP export to real receivers: MLflow's ``/v1/traces`` and a local OTLP server.

The MLflow server is killed mid-run and started again on the same port: traced code never
sees an error, nothing within the queue bound is lost, and what exceeds the bound is
dropped and counted.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import mlflow_trace_nb as tracing
from mlflow_trace_nb.tracing.destination import OTLP, LocalStore
from tests.conftest_servers import MlflowServer
from tests.exporters._remote import new_experiment, remote_traces, wait_for_count


@tracing.trace(span_type="CHAIN")
def pipeline(i: int) -> int:
    return step(i) + 1


@tracing.trace(span_type="TOOL")
def step(i: int) -> int:
    return i * 2


def test_spans_reach_mlflows_otlp_receiver(mlflow_server: MlflowServer) -> None:
    experiment = new_experiment(mlflow_server.uri)
    remote = OTLP(
        endpoint=f"{mlflow_server.uri}/v1/traces",
        headers={"x-mlflow-experiment-id": experiment},
    )
    tracing.set_destination(["memory", remote])
    for i in range(5):
        pipeline(i)
    assert tracing.flush()
    assert remote.stats()["sent"] == 10
    traces = remote_traces(mlflow_server.uri, experiment, include_spans=True)
    local_ids = {t.info.request_id for t in tracing.search_traces(return_type="list")}
    assert {t.info.trace_id for t in traces} == local_ids
    for trace in traces:
        spans = {s.name: s for s in trace.data.spans}
        assert spans["step"].parent_id == spans["pipeline"].span_id
        assert spans["pipeline"].span_type == "CHAIN" and spans["step"].span_type == "TOOL"
        i = spans["pipeline"].inputs["i"]
        assert spans["pipeline"].outputs == i * 2 + 1


def test_receiver_killed_mid_run_loses_nothing_within_the_bound(
    mlflow_server: MlflowServer, tmp_path: Any
) -> None:
    experiment = new_experiment(mlflow_server.uri)
    remote = OTLP(
        f"{mlflow_server.uri}/v1/traces",
        {"x-mlflow-experiment-id": experiment},
        max_queue=100,  # exactly what piles up below: the bound is reached, not exceeded
        initial_backoff_s=0.2,
        max_backoff_s=1.0,
        interval_s=0.05,
    )
    tracing.set_destination([LocalStore(str(tmp_path / "local.db")), remote])

    for i in range(10):
        pipeline(i)
    assert tracing.flush()
    mlflow_server.stop()  # killed mid-run
    try:
        for i in range(10, 60):  # 50 traces, 100 spans, while the receiver is down
            assert pipeline(i) == i * 2 + 1  # user code unaffected
        assert tracing.flush(1.0) is False  # the remote part cannot complete now
        assert len(tracing.search_traces(return_type="list")) == 60  # the local store is
        stats = remote.stats()
        assert stats["queued"] == 100 and stats["dropped"] == 0 and stats["retries"] >= 1
    finally:
        mlflow_server.start()  # back on the same port
    assert tracing.flush(60)
    assert remote.stats()["sent"] == 120
    assert wait_for_count(mlflow_server.uri, experiment, 60) == 60
    traces = remote_traces(mlflow_server.uri, experiment, include_spans=True)
    assert sorted(t.data.spans[0].inputs["i"] for t in traces if t.data.spans) == list(range(60))


class _Receiver(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP receiver: decodes protobuf, answers 200 (or a set status)."""

    requests: ClassVar[list[tuple[dict[str, str], ExportTraceServiceRequest]]] = []
    status = 200
    server: ThreadingHTTPServer
    port = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        type(self).requests.append((dict(self.headers.items()), request))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _serve(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.server = server
    _Receiver.port = int(server.server_address[1])
    return server


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.requests = []
    _Receiver.status = 200
    _serve(0)
    try:
        yield f"http://127.0.0.1:{_Receiver.port}/v1/traces"
    finally:
        _Receiver.server.shutdown()
        _Receiver.server.server_close()


def test_headers_and_gzip_reach_the_receiver(receiver: str) -> None:
    remote = OTLP(receiver, headers={"authorization": "Bearer t0ken"}, compression="gzip")
    tracing.set_destination(["memory", remote])
    pipeline(1)
    assert tracing.flush()
    [(headers, request)] = _Receiver.requests
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["authorization"] == "Bearer t0ken"
    assert lowered["content-type"] == "application/x-protobuf"
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sorted(s.name for s in spans) == ["pipeline", "step"]


def test_uri_shorthand_and_rejection_by_the_receiver(receiver: str) -> None:
    _Receiver.status = 400
    tracing.set_destination(["memory", "otlp+" + receiver])
    pipeline(2)
    assert tracing.flush()  # a rejected batch is done with, not retried forever
    from mlflow_trace_nb._internal.runtime import RUNTIME

    remote = RUNTIME.exporters[1]
    assert isinstance(remote, OTLP)
    assert remote.stats()["failed"] == 2 and remote.stats()["sent"] == 0
    assert len(_Receiver.requests) == 1
    assert len(tracing.search_traces(return_type="list")) == 1


def test_queue_bound_while_the_receiver_is_down(receiver: str) -> None:
    remote = OTLP(receiver, max_queue=20, initial_backoff_s=0.05, max_backoff_s=0.2)
    tracing.set_destination(["memory", remote])
    pipeline(0)
    assert tracing.flush()
    _Receiver.server.shutdown()  # the receiver goes away (port kept for the restart)
    _Receiver.server.server_close()
    for i in range(1, 51):  # 100 spans while down: at most 20 are kept
        assert pipeline(i) == i * 2 + 1
        assert remote.stats()["queued"] <= 20
    tracing.flush(0.5)
    assert remote.stats()["dropped"] == 80 and remote.stats()["queued"] == 20
    _serve(_Receiver.port)  # back on the same port
    assert tracing.flush(30)
    stats = remote.stats()
    assert stats["sent"] == 22 and stats["sent"] + stats["dropped"] == 102
    received = [
        s
        for _, r in _Receiver.requests
        for rs in r.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    assert len(received) == 22


_CHILD = """
import sys
import mlflow_trace_nb as tracing
from mlflow_trace_nb.tracing.destination import OTLP
tracing.set_destination(["memory", OTLP(sys.argv[1], exit_timeout_s=float(sys.argv[2]))])
for i in range(int(sys.argv[3])):
    with tracing.start_span(f"exit-{i}"):
        pass
"""  # no flush: the process just ends


def _run_child(endpoint: str, exit_timeout: float, traces: int) -> str:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _CHILD, endpoint, str(exit_timeout), str(traces)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stderr


def test_the_send_queue_is_flushed_at_exit(receiver: str) -> None:
    _run_child(receiver, 30.0, 25)
    names = sorted(
        s.name
        for _, r in _Receiver.requests
        for rs in r.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    )
    assert names == sorted(f"exit-{i}" for i in range(25))


def test_exit_with_the_receiver_down_is_bounded_and_reported() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stderr = _run_child(f"http://127.0.0.1:{port}/v1/traces", 0.5, 3)
    assert "3 spans not delivered at shutdown" in stderr
