"""MlflowClient's tracing methods, as MLflow's examples use them (real store, real threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal import client as client_module
from mlflow_trace_nb.errors import MlflowException


def test_a_trace_built_by_ids_with_tags_changed_after_it_is_stored() -> None:
    client = mlflow.MlflowClient()
    root = client.start_trace(name="my_trace", inputs={"x": 1, "y": 2}, tags={"fruit": "apple"})
    child = client.start_span(
        name="child",
        request_id=root.request_id if hasattr(root, "request_id") else root.trace_id,
        parent_id=root.span_id,
        inputs={"z": 3},
        attributes={"model": "m"},
    )
    client.end_span(trace_id=root.trace_id, span_id=child.span_id, outputs=9, status="OK")
    client.set_trace_tag(root.trace_id, "vegetable", "carrot")  # while it runs
    client.end_trace(trace_id=root.trace_id, outputs=10)
    (trace,) = client.search_traces()
    assert trace.info.tags["fruit"] == "apple" and trace.info.tags["vegetable"] == "carrot"
    assert [s.name for s in trace.data.spans] == ["my_trace", "child"]
    assert trace.data.spans[1].parent_id == trace.data.spans[0].span_id
    client.set_trace_tag(trace.info.request_id, "fruit", "orange")  # stored now
    client.delete_trace_tag(trace.info.request_id, "vegetable")
    stored = client.get_trace(trace.info.request_id)
    assert stored.info.tags["fruit"] == "orange" and "vegetable" not in stored.info.tags
    found = mlflow.search_traces(filter_string="tags.fruit = 'orange'", return_type="list")
    assert [t.info.request_id for t in found] == [trace.info.request_id]  # type: ignore[union-attr]
    assert (
        mlflow.search_traces(filter_string="tags.vegetable IS NOT NULL", return_type="list") == []
    )


def test_spans_of_one_trace_from_many_threads() -> None:
    client = mlflow.MlflowClient()
    root = client.start_trace(name="fan_out")

    def task(x: int) -> int:
        span = client.start_span("child", trace_id=root.trace_id, parent_id=root.span_id)
        client.end_span(trace_id=root.trace_id, span_id=span.span_id, outputs=x * x)
        return x * x

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(task, range(50))) == sum(x * x for x in range(50))
    client.end_trace(trace_id=root.trace_id)
    trace = mlflow.get_last_active_trace()
    assert trace is not None and len(trace.data.spans) == 51
    assert client_module._OPEN == {}


def test_misuse_raises_mlflow_exceptions() -> None:
    client = mlflow.MlflowClient()
    with pytest.raises(MlflowException, match="not open"):
        client.end_span(trace_id="tr-0", span_id="00")
    with pytest.raises(MlflowException, match="no open root span"):
        client.end_trace(trace_id="tr-nope")
    with pytest.raises(MlflowException, match="trace_id must be"):
        client.start_span("x", trace_id=5, parent_id="a")  # type: ignore[arg-type]
    with pytest.raises(MlflowException, match="not found"):
        client.get_trace("tr-missing")
    with pytest.raises(MlflowException, match="not found"):
        client.set_trace_tag("tr-missing", "k", "v")
    root = client.start_trace("t")
    client.end_trace(trace_id=root.trace_id)
    with pytest.raises(MlflowException, match="Tag with key k not found"):
        client.delete_trace_tag(root.trace_id, "k")


def test_tracing_disabled_gives_no_op_spans() -> None:
    mlflow.disable()
    try:
        client = mlflow.MlflowClient()
        root = client.start_trace("off")
        child = client.start_span("c", trace_id=root.trace_id, parent_id=root.span_id)
        client.end_span(trace_id=root.trace_id, span_id=child.span_id)
        client.end_trace(trace_id=root.trace_id)
    finally:
        mlflow.enable()
    assert mlflow.search_traces(return_type="list") == []


def test_open_spans_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_OPEN_SPANS", 3)
    client = mlflow.MlflowClient()
    roots = [client.start_trace(f"t{i}") for i in range(5)]
    assert len(client_module._OPEN) == 3
    assert roots[0].end_time_ns is not None  # the oldest ended as leaked
    for root in roots[2:]:
        client.end_trace(trace_id=root.trace_id)
