"""W3C traceparent propagation, in process and across two real processes over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.propagation import (
    RemoteParent,
    extract,
    format_traceparent,
    inject,
    parse_traceparent,
)
from mlflow_trace_nb.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]

# Process 2: a stdlib HTTP server that continues the caller's trace in its handler.
SERVER = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    import mlflow_trace_nb as mlflow

    mlflow.set_destination(sys.argv[1])

    @mlflow.trace(span_type="TOOL")
    def lookup(query):
        return {"answer": query.upper()}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with mlflow.tracing.set_tracing_context_from_http_request_headers(self.headers):
                with mlflow.start_span("server-handler", span_type="CHAIN") as span:
                    span.set_inputs(body)
                    result = lookup(body["query"])
                    span.set_outputs(result)
                    ids = {"trace_id": span.trace_id, "span_id": span.span_id,
                           "parent_id": span.parent_id}
                    outgoing = mlflow.tracing.get_tracing_context_headers_for_http_request()
            mlflow.flush()
            ids["outgoing"] = outgoing
            data = json.dumps(ids).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


class Process2:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}/agent"

    def call(self, headers: dict[str, str], query: str = "hi") -> dict[str, Any]:
        data = json.dumps({"query": query}).encode()
        request = urllib.request.Request(
            self.url, data=data, headers={**headers, "Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
        return result


def _start_process2(tmp_path: Path, destination: str) -> Iterator[Process2]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), destination],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield Process2(proc, port)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture
def same_store_server(tmp_path: Path, db_path: Path) -> Iterator[Process2]:
    yield from _start_process2(tmp_path, f"sqlite:///{db_path}")


@pytest.fixture
def other_store_server(tmp_path: Path) -> Iterator[Process2]:
    yield from _start_process2(tmp_path, f"sqlite:///{tmp_path / 'process2.db'}")


# Header format -----------------------------------------------------------------------------
def test_headers_carry_the_active_span() -> None:
    with mlflow.start_span("client") as span:
        headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
    assert headers == {"traceparent": f"00-{span.trace_id[3:]}-{span.span_id}-01"}
    assert len(span.span_id) == 16


def test_no_headers_outside_a_span() -> None:
    assert mlflow.tracing.get_tracing_context_headers_for_http_request() == {}
    assert inject() == {}


def test_inject_adds_to_an_existing_dict() -> None:
    headers = {"Accept": "application/json"}
    with mlflow.start_span("client") as span:
        result = inject(headers)
    assert result is headers
    assert headers["Accept"] == "application/json"
    assert headers["traceparent"].split("-")[2] == span.span_id


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",  # all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # v00 has 4 fields
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
    ],
)
def test_malformed_traceparent_is_ignored(value: str) -> None:
    assert parse_traceparent(value) is None
    continued = mlflow.tracing.set_tracing_context_from_http_request_headers
    with continued({"traceparent": value}), mlflow.start_span("handler") as span:
        pass
    assert span.parent_id is None  # a new trace, not an error
    assert span.trace_id != "tr-4bf92f3577b34da6a3ce929d0e0e4736"


def test_future_version_with_extra_fields_is_accepted() -> None:
    parent = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-x")
    assert parent is not None
    assert parent.sampled
    assert parent.remote_span_id == 0x00F067AA0BA902B7


def test_header_names_are_case_insensitive() -> None:
    value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    for key in ("traceparent", "Traceparent", "TRACEPARENT"):
        parent = extract({key: value})
        assert isinstance(parent, RemoteParent)
        assert parent.traceparent == value
    assert extract({}) is None
    assert extract(None) is None


# Continuing a trace in process ---------------------------------------------------------------
def test_continued_spans_share_the_trace_and_hang_under_the_remote_span() -> None:
    trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{trace_hex}-00f067aa0ba902b7-01"}
    with mlflow.tracing.set_tracing_context_from_http_request_headers(headers):
        assert mlflow.get_current_active_span() is None
        with mlflow.start_span("handler") as handler, mlflow.start_span("step") as step:
            # a further hop continues from the local span, same trace
            onward = mlflow.tracing.get_tracing_context_headers_for_http_request()
    assert mlflow.tracing.get_tracing_context_headers_for_http_request() == {}
    assert handler.trace_id == step.trace_id == f"tr-{trace_hex}"
    assert handler.parent_id == "00f067aa0ba902b7"
    assert step.parent_id == handler.span_id
    assert onward["traceparent"] == f"00-{trace_hex}-{step.span_id}-01"
    stored = mlflow.get_trace(f"tr-{trace_hex}")
    assert stored is not None
    assert stored.name == "handler"
    assert stored.data.root is not None and stored.data.root.name == "handler"
    assert [s.name for s in stored.spans] == ["handler", "step"]


def test_inside_the_block_but_outside_spans_headers_pass_the_remote_context_on() -> None:
    value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with mlflow.tracing.set_tracing_context_from_http_request_headers({"traceparent": value}):
        assert mlflow.tracing.get_tracing_context_headers_for_http_request() == {
            "traceparent": value
        }


def test_disable_propagation_turns_both_directions_off() -> None:
    mlflow.tracing.configure(disable_propagation=True)
    with mlflow.start_span("client"):
        assert mlflow.tracing.get_tracing_context_headers_for_http_request() == {}
        assert inject({}) == {}
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    assert extract(headers) is None
    continued = mlflow.tracing.set_tracing_context_from_http_request_headers
    with continued(headers), mlflow.start_span("handler") as span:
        pass
    assert span.parent_id is None
    assert span.trace_id != "tr-4bf92f3577b34da6a3ce929d0e0e4736"
    mlflow.tracing.configure(disable_propagation=False)
    continued = mlflow.tracing.set_tracing_context_from_http_request_headers
    with continued(headers), mlflow.start_span("handler") as span:
        pass
    assert span.parent_id == "00f067aa0ba902b7"


def test_format_traceparent() -> None:
    assert format_traceparent(1, 2, False) == f"00-{1:032x}-{2:016x}-00"


def test_top_level_names() -> None:
    assert mlflow.get_tracing_context_headers_for_http_request is (
        mlflow.tracing.get_tracing_context_headers_for_http_request
    )
    assert mlflow.set_tracing_context_from_http_request_headers is (
        mlflow.tracing.set_tracing_context_from_http_request_headers
    )


# Two processes over loopback HTTP --------------------------------------------------------------
@mlflow.trace(span_type="AGENT")
def _ask(server: Process2, query: str) -> dict[str, Any]:
    with mlflow.start_span("http-call", span_type="TOOL") as span:
        reply = server.call(mlflow.tracing.get_tracing_context_headers_for_http_request(), query)
        span.set_outputs(reply)
    return reply


def test_two_processes_one_store_make_one_trace(same_store_server: Process2) -> None:
    reply = _ask(same_store_server, "where")
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    assert reply["trace_id"] == trace.request_id
    stored = mlflow.get_trace(trace.request_id)
    assert stored is not None
    by_name = {s.name: s for s in stored.spans}
    assert set(by_name) == {"_ask", "http-call", "server-handler", "lookup"}
    assert by_name["_ask"].parent_id is None
    assert by_name["server-handler"].parent_id == by_name["http-call"].span_id
    assert by_name["lookup"].parent_id == by_name["server-handler"].span_id
    assert by_name["lookup"].outputs == {"answer": "WHERE"}
    assert by_name["server-handler"].inputs == {"query": "where"}
    # process 1's root is the trace's root, whatever order the rows arrived in
    assert stored.name == "_ask"
    assert stored.data.root is by_name["_ask"] or stored.data.root.name == "_ask"
    assert stored.info.execution_time_ms is not None
    assert reply["outgoing"]["traceparent"].split("-")[1] == trace.request_id[3:]
    assert len(mlflow.search_traces()) == 1
    spans = mlflow.search_spans()
    assert len(spans) == 4


def test_two_processes_two_stores_line_up(other_store_server: Process2, tmp_path: Path) -> None:
    _ask(other_store_server, "x")
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    local = mlflow.get_trace(trace.request_id)
    assert local is not None
    remote = SqliteStore(str(tmp_path / "process2.db")).get_trace(trace.request_id)
    assert remote is not None
    call = next(s for s in local.spans if s.name == "http-call")
    assert [s.name for s in local.spans] == ["_ask", "http-call"]
    assert remote.request_id == local.request_id
    assert remote.name == "server-handler"  # process 2's own view: its fragment's root
    root = remote.data.root
    assert root is not None and root.name == "server-handler"
    assert root.parent_id == call.span_id
    assert root.context.trace_id == local.request_id


def test_unsampled_client_tells_the_server_not_to_record(same_store_server: Process2) -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    with mlflow.start_span("client"):
        headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
        assert headers["traceparent"].endswith("-00")
        same_store_server.call(headers)
    mlflow.tracing.configure(sampling_rate=1.0)
    assert len(mlflow.search_traces()) == 0  # no orphan fragment from process 2 either


def test_a_server_stopped_right_after_it_answers_keeps_its_part(
    tmp_path: Path, db_path: Path
) -> None:
    """MLflow's distributed e2e pattern: the handler does not flush, and the server gets
    SIGTERM (no exit handlers run) as soon as the client has its answer. The handler's part
    of the trace was stored before its root span's end returned."""
    script = tmp_path / "server.py"
    script.write_text(SERVER.replace("        mlflow.flush()\n", ""))
    assert "mlflow.flush()" not in script.read_text()
    proc = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{db_path}"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        server = Process2(proc, int(proc.stdout.readline()))
        with mlflow.start_span("client-root") as client:
            reply = server.call(mlflow.tracing.get_tracing_context_headers_for_http_request())
    finally:
        proc.terminate()  # SIGTERM at once, as MLflow's test does
        proc.wait(timeout=15)
    assert reply["parent_id"] == client.span_id
    stored = mlflow.get_trace(client.trace_id)
    assert stored is not None
    assert sorted(s.name for s in stored.spans) == ["client-root", "lookup", "server-handler"]
