"""A trace continued in another process arrives as a fragment (its root's parent is remote):
the store merges it into the trace whatever the order of arrival, and the caller's root wins."""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.store.sqlite import SqliteStore


def _fragment(
    headers: dict[str, str], name: str = "remote", end_time_ns: int | None = None
) -> None:
    """What another process does with our headers, run in a fresh (empty) context."""

    def handler() -> None:
        with mlflow.tracing.set_tracing_context_from_http_request_headers(headers):
            mlflow.update_current_trace(tags={"ignored": "outside any span"})
            span = mlflow.start_span(name, span_type="TOOL", inputs={"from": "remote"})
            mlflow.update_current_trace(tags={"side": "remote", "shared": "remote"})
            with mlflow.start_span(f"{name}-child"):
                pass
            span.set_outputs("remote result")
            span.end(end_time_ns=end_time_ns)

    contextvars.Context().run(handler)


def _tree(trace: Trace) -> dict[str, str | None]:
    names = {s.span_id: s.name for s in trace.spans}
    return {s.name: names.get(s.parent_id) if s.parent_id else None for s in trace.spans}


def _check_merged(trace: Trace | None) -> Trace:
    assert trace is not None
    assert _tree(trace) == {
        "client": None,
        "call": "client",
        "remote": "call",
        "remote-child": "remote",
    }
    assert trace.name == "client"
    assert trace.status == "OK"
    assert trace.data.root is not None and trace.data.root.name == "client"
    assert trace.data.request is not None and "question" in trace.data.request
    assert trace.tags["side"] == "remote"  # fragment tags merge in...
    assert trace.tags["shared"] == "client"  # ...but the root's values win
    return trace


def test_fragment_written_before_the_root() -> None:
    with mlflow.start_span("client", inputs={"question": "q"}) as root:
        mlflow.update_current_trace(tags={"shared": "client"})
        with mlflow.start_span("call"):
            _fragment(mlflow.tracing.get_tracing_context_headers_for_http_request())
        mlflow.flush()  # the fragment's row is on disk before the root's
        early = mlflow.get_trace(root.trace_id)
        assert early is not None and early.name == "remote"  # alone, it is its own root
        root.set_outputs("answer")
    trace = _check_merged(mlflow.get_trace(root.trace_id))
    assert trace.data.response == '"answer"'
    assert len(mlflow.search_traces()) == 1


def test_fragment_written_after_the_root_extends_its_end() -> None:
    with mlflow.start_span("client", inputs={"question": "q"}) as root:
        mlflow.update_current_trace(tags={"shared": "client"})
        with mlflow.start_span("call"):
            headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
    mlflow.flush()
    before = mlflow.get_trace(root.trace_id)
    assert before is not None
    _fragment(headers, end_time_ns=root.start_time_ns + 5_000_000_000)  # e.g. async work
    trace = _check_merged(mlflow.get_trace(root.trace_id))
    assert trace.timestamp_ms == before.timestamp_ms
    assert trace.execution_time_ms in (4_999, 5_000)  # whole ms on each side
    frame = mlflow.analysis_frame(filter_string="span.name = 'remote-child'")
    assert list(frame.name) == ["client"]


def test_fragment_in_the_same_batch_as_its_root() -> None:
    with mlflow.start_span("client", inputs={"question": "q"}) as root:
        mlflow.update_current_trace(tags={"shared": "client"})
        with mlflow.start_span("call"):
            _fragment(mlflow.tracing.get_tracing_context_headers_for_http_request())
    _check_merged(mlflow.get_trace(root.trace_id))


def test_a_store_with_only_the_fragment(tmp_path: Path) -> None:
    with mlflow.start_span("client") as root:
        headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
    other = tmp_path / "other.db"
    mlflow.set_destination(f"sqlite:///{other}")
    _fragment(headers)
    mlflow.flush()
    trace = SqliteStore(str(other)).get_trace(root.trace_id)
    assert trace is not None
    assert trace.name == "remote"
    assert trace.data.root is not None and trace.data.root.name == "remote"
    assert trace.data.root.parent_id == root.span_id
    assert json.loads(trace.data.request or "null") == {"from": "remote"}
    assert trace.tags == {"side": "remote", "shared": "remote", "mlflow.traceName": "remote"}


def test_two_fragments_of_one_trace() -> None:
    with mlflow.start_span("client", inputs={"question": "q"}) as root:
        mlflow.update_current_trace(tags={"shared": "client"})
        with mlflow.start_span("call"):
            headers = mlflow.tracing.get_tracing_context_headers_for_http_request()
            _fragment(headers)
            mlflow.flush()
            _fragment(headers, name="second")
    trace = mlflow.get_trace(root.trace_id)
    assert trace is not None
    assert trace.name == "client"
    assert _tree(trace) == {
        "client": None,
        "call": "client",
        "remote": "call",
        "remote-child": "remote",
        "second": "call",
        "second-child": "second",
    }
