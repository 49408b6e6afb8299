"""The exporters' HTTP client against real misbehaving servers: bounded in time and memory."""

from __future__ import annotations

import http.client
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.exporters._http import MAX_RESPONSE_BYTES, HttpClient
from mlflow_trace_nb.tracing.destination import OTLP
from tests.faults import remote_servers as servers
from tests.faults.remote_servers import RawServer


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Any, RawServer], None]], RawServer]]:
    started: list[RawServer] = []

    def start(behaviour: Callable[[Any, RawServer], None]) -> RawServer:
        server = RawServer(behaviour)
        started.append(server)
        return server

    yield start
    mlflow.set_destination("memory")
    for server in started:
        server.close()


def test_an_endless_body_is_read_up_to_the_limit_only(serve: Any) -> None:
    server = serve(servers.endless)
    client = HttpClient(timeout_s=5.0)
    tracemalloc.start()
    try:
        response = client.request("POST", server.url, b"payload", {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status == 200 and response.truncated
    assert len(response.body) == MAX_RESPONSE_BYTES
    assert peak < 4 * MAX_RESPONSE_BYTES + 2**20  # the limit plus buffers, not the stream
    # the client hung up: the server could only fill the socket buffers, never more
    assert servers.wait_until(lambda: server.stop.is_set() or _settled(server), 5)
    assert server.sent_bytes < 32 * 2**20


def _settled(server: RawServer) -> bool:
    before = server.sent_bytes
    time.sleep(0.2)
    return server.sent_bytes == before


def test_an_exporter_facing_an_endless_body_counts_the_batch_as_sent(serve: Any) -> None:
    server = serve(servers.endless)
    remote = OTLP(server.url, timeout_s=5.0, interval_s=0.05, exit_timeout_s=0.2)
    mlflow.set_destination(["memory", remote])
    for i in range(3):
        with mlflow.start_span(f"s{i}"):
            pass
    assert mlflow.flush(10)
    assert remote.stats()["sent"] == 3
    # the exporter hung up after its limit: the server soon stops (it can only fill buffers)
    assert servers.wait_until(lambda: server.stop.is_set() or _settled(server), 5)
    assert server.sent_bytes < 32 * 2**20


def test_a_hung_server_times_out_at_the_deadline(serve: Any) -> None:
    server = serve(servers.hang)
    client = HttpClient(timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"within 0\.5 s"):
        client.request("POST", server.url, b"x" * 1000, {})
    assert time.monotonic() - started < 10.0  # a hang detector, not a timing: deadline 0.5 s


def test_a_trickle_cannot_stretch_the_deadline(serve: Any) -> None:
    server = serve(servers.trickle)
    client = HttpClient(timeout_s=0.5)  # each byte comes well within any read timeout
    with pytest.raises(TimeoutError):
        client.request("POST", server.url, b"x", {})
    assert server.sent_bytes < 20


def test_garbage_is_an_http_error_and_refusal_an_os_error(serve: Any) -> None:
    server = serve(servers.garbage)
    with pytest.raises(http.client.HTTPException):
        HttpClient(timeout_s=2.0).request("POST", server.url, b"x", {})
    with pytest.raises(ConnectionRefusedError):
        HttpClient().request("POST", f"http://127.0.0.1:{servers.closed_port()}/", b"x", {})


def test_one_connection_is_kept_alive_across_requests(serve: Any) -> None:
    server = serve(servers.junk_ok)
    client = HttpClient(timeout_s=2.0)
    for _ in range(5):
        response = client.request("POST", server.url, b"x", {})
        assert response.status == 200 and not response.truncated
        assert response.text(12) == "<html>certai"
    assert server.connections == 1
    client.close()
