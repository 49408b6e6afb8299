"""Absurd arguments to public query, config and tracing functions: a TypeError for a wrong
type and a ValueError for an absurd value, each naming the argument, before anything reaches
the store; and nothing changed by a rejected call."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME


def _traced() -> None:
    mlflow.trace(len)("ab")


QUERY_CASES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"filter_string": 5}, TypeError, "filter_string"),
    ({"filter_string": b"status = 'OK'"}, TypeError, "filter_string"),
    ({"filter_string": "name = 'x' OR " * 20_000 + "name = 'y'"}, ValueError, "filter"),
    ({"filter_string": "(" * 5_000 + "name = 'x'" + ")" * 5_000}, ValueError, "filter"),
    ({"max_results": 2**70}, ValueError, "max_results"),
    ({"max_results": -1}, ValueError, "max_results"),
    ({"max_results": 1.5}, TypeError, "max_results"),
    ({"max_results": True}, TypeError, "max_results"),
    ({"max_results": "10"}, TypeError, "max_results"),
    ({"order_by": ["timestamp_ms DESC"] * 5_000}, ValueError, "order_by"),
    ({"order_by": [5]}, TypeError, "order_by"),
    ({"order_by": {"timestamp_ms": "DESC"}}, TypeError, "order_by"),
    ({"order_by": ["x" * 100_000]}, ValueError, "order_by"),
    ({"experiment_ids": object()}, TypeError, "experiment_ids"),
    ({"experiment_ids": [None]}, TypeError, "experiment id"),
    ({"experiment_ids": [2**70]}, ValueError, "experiment id"),
    ({"experiment_ids": ["0"] * 100_000}, ValueError, "experiment_ids"),
    ({"tracking_uri": 5}, TypeError, "tracking_uri"),
]


@pytest.mark.parametrize(("kwargs", "error", "named"), QUERY_CASES)
@pytest.mark.parametrize("query", [mlflow.search_traces, mlflow.search_spans])
def test_queries_reject_absurd_arguments(
    query: Callable[..., Any], kwargs: dict[str, Any], error: type[Exception], named: str
) -> None:
    _traced()
    with pytest.raises(error, match=named):
        query(**kwargs)
    assert len(mlflow.search_traces(max_results=2**63 - 1)) == 1  # still works


def test_search_traces_return_type_and_get_trace() -> None:
    with pytest.raises(ValueError, match="Invalid return type"):
        mlflow.search_traces(return_type=["list"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="trace_id"):
        mlflow.get_trace(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trace_id"):
        mlflow.get_trace("tr-" + "0" * 100_000)
    with pytest.raises(TypeError, match="tracking_uri"):
        mlflow.get_trace("tr-1", tracking_uri=5)  # type: ignore[arg-type]
    assert mlflow.get_trace("tr-not-there") is None
    assert mlflow.get_trace("\ud800") is None and mlflow.get_trace("tr-é") is None


@pytest.mark.parametrize(
    ("timeout", "error"),
    [(float("inf"), ValueError), (float("nan"), ValueError), (-1, ValueError), ("1", TypeError)],
)
def test_flush_rejects_absurd_timeouts(timeout: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="timeout"):
        mlflow.flush(timeout)
    assert mlflow.flush(None) and mlflow.flush(0.5)


def test_configuration_rejects_absurd_arguments_and_keeps_its_state() -> None:
    with pytest.raises(TypeError, match="disable_propagation"):
        mlflow.configure(disable_propagation="false", sampling_rate=0.5)  # type: ignore[arg-type]
    assert RUNTIME.sampling_rate == 1.0 and RUNTIME.disable_propagation is False
    with pytest.raises(TypeError, match="sampling_rate"):
        mlflow.configure(sampling_rate="0.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sampling_rate"):
        mlflow.configure(sampling_rate=float("inf"))
    with pytest.raises(TypeError, match="experiment_id"):
        mlflow.enable(experiment_id=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="experiment_id"):
        mlflow.enable(experiment_id=str(2**70))
    with pytest.raises(TypeError, match="uri"):
        mlflow.set_tracking_uri(5)  # type: ignore[arg-type]
    assert RUNTIME.experiment_id == "0" and RUNTIME.tracking_uri is None


def test_set_destination_rejects_absurd_arguments_without_hanging() -> None:
    before = RUNTIME.exporters
    with pytest.raises(ValueError, match="at most"):
        mlflow.set_destination(itertools.repeat("memory"))  # endless
    nested: list[Any] = []
    nested.append(nested)
    with pytest.raises(TypeError, match="not a trace destination"):
        mlflow.set_destination(nested)
    with pytest.raises(TypeError, match="not a trace destination"):
        mlflow.set_destination({"memory": 1})
    with pytest.raises(ValueError, match="characters"):
        mlflow.set_destination("x" * 1_000_000 + ".db")
    assert RUNTIME.exporters == before


def test_event_timestamp_out_of_range() -> None:
    with mlflow.start_span("s"), pytest.raises(ValueError, match="timestamp"):
        mlflow.log_span_event("e", timestamp=2**70)


def test_experiments_reject_absurd_arguments() -> None:
    with pytest.raises(TypeError, match="experiment name"):
        mlflow.set_experiment(experiment_name=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="experiment name"):
        mlflow.set_experiment(experiment_name="x" * 100_000)
    with pytest.raises(TypeError, match="experiment_id"):
        mlflow.set_experiment(experiment_id=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="experiment name"):
        mlflow.get_experiment_by_name(["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="experiment_id"):
        mlflow.get_experiment(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: mlflow.start_span(5), "name"),  # type: ignore[arg-type]
        (lambda: mlflow.start_span("s", span_type=5), "span_type"),  # type: ignore[arg-type]
        (lambda: mlflow.start_span("s", attributes=[1]), "attributes"),  # type: ignore[arg-type]
        (lambda: mlflow.trace(name=5), "name"),
        (lambda: mlflow.trace(span_type=object()), "span_type"),  # type: ignore[arg-type]
        (lambda: mlflow.trace(len, attributes="a=1"), "attributes"),  # type: ignore[call-overload]
        (lambda: mlflow.mlflow_trace(span_type=5), "span_type"),
        (lambda: mlflow.trace("s", attributes=("k", "v")), "attributes"),  # type: ignore[arg-type]
        (lambda: mlflow.update_current_trace(tags=["a"]), "tags"),  # type: ignore[arg-type]
        (lambda: mlflow.update_current_trace(metadata=5), "metadata"),  # type: ignore[arg-type]
        (lambda: mlflow.log_span_event("e", timestamp="now"), "timestamp"),  # type: ignore[arg-type]
    ],
)
def test_span_functions_reject_wrong_types(call: Callable[[], Any], named: str) -> None:
    with pytest.raises(TypeError, match=named):
        call()
    assert mlflow.get_current_active_span() is None


class _Unprintable:
    """A key or value whose ``__str__`` and ``__repr__`` fail (a half-built object)."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_keys_tags_and_names_that_cannot_be_printed_never_raise_into_user_code() -> None:
    """Attribute keys, tag and metadata keys and values, event names and status messages
    whose ``__str__`` fails are stored as ``<unprintable _Unprintable>``; nothing raises,
    the span and its neighbours are kept."""
    odd: Any = _Unprintable()
    mark = "<unprintable _Unprintable>"
    with mlflow.start_span("odd") as span:
        span.set_attribute(odd, 1)
        span.set_attributes({odd: 2, "plain": 3})
        span.add_event(odd)
        mlflow.log_span_event(odd)
        mlflow.update_current_trace(tags={"k": odd, odd: "v"}, metadata={"m": odd})
        span.set_status("ERROR", odd)
    _traced()
    mlflow.flush()
    traces = mlflow.search_traces(return_type="list")
    assert len(traces) == 2
    trace = mlflow.get_trace(span.request_id)
    assert trace is not None
    stored = trace.data.spans[0]
    assert stored.attributes[mark] == 2 and stored.attributes["plain"] == 3
    assert [event.name for event in stored.events] == [mark, mark]
    assert stored.status.description == mark
    assert trace.info.tags["k"] == mark and trace.info.tags[mark] == "v"
    assert trace.info.request_metadata["m"] == mark


@pytest.mark.parametrize(
    ("value", "error"),
    [(2**64, ValueError), (-1, ValueError), ("abc", TypeError), (True, TypeError)],
)
def test_span_times_out_of_range_are_refused_before_anything_changes(
    value: Any, error: type[Exception]
) -> None:
    """MLflow accepts these and then loses the trace; here the call raises, naming the
    argument, and the span (or its absence) is as it was: nothing half-made is stored."""
    mlflow.set_destination("memory")
    with pytest.raises(error, match="start_time_ns"):
        mlflow.start_span_no_context("bad start", start_time_ns=value)
    span = mlflow.start_span_no_context("bad end")
    with pytest.raises(error, match="end_time_ns"):
        span.end(outputs="lost?", end_time_ns=value)
    assert span.end_time_ns is None and span.outputs is None  # still open, unchanged
    client = mlflow.MlflowClient()
    root = client.start_trace("client")
    with pytest.raises(error, match="end_time_ns"):
        client.end_trace(root.trace_id, end_time_ns=value)
    client.end_trace(root.trace_id)  # still open to the client, so it can end it right
    span.end()
    assert mlflow.flush(10)
    names = sorted(t.data.spans[0].name for t in mlflow.search_traces(return_type="list"))
    assert names == ["bad end", "client"]


def test_span_times_as_floats_and_at_the_limits_are_kept() -> None:
    mlflow.set_destination("memory")
    span = mlflow.start_span_no_context("float", start_time_ns=1.5e18)
    span.end(end_time_ns=2**63 - 1)
    zero = mlflow.start_span_no_context("zero", start_time_ns=0)
    zero.end()
    assert mlflow.flush(10)
    kept = mlflow.get_trace(span.trace_id)
    assert kept is not None
    assert (kept.data.spans[0].start_time_ns, kept.data.spans[0].end_time_ns) == (
        1_500_000_000_000_000_000,
        2**63 - 1,
    )
    assert len(span.trace_id) == len(zero.trace_id) == 35  # the id's time bits never widen it
    frame = mlflow.search_traces()
    assert len(frame) == 2


def test_a_client_end_refused_for_its_status_or_attributes_can_be_retried() -> None:
    """The client used to forget the span before ending it: a refused status or attributes
    left it open for good ("is not open") and it was written ERROR when collected."""
    mlflow.set_destination("memory")
    client = mlflow.MlflowClient()
    root = client.start_trace("root")
    child = client.start_span("child", trace_id=root.trace_id, parent_id=root.span_id)
    with pytest.raises(mlflow.MlflowException, match="NOPE"):
        client.end_span(trace_id=root.trace_id, span_id=child.span_id, status="NOPE")
    with pytest.raises(TypeError, match="attributes"):
        client.end_span(
            trace_id=root.trace_id,
            span_id=child.span_id,
            outputs="kept?",
            attributes=["not a dict"],  # type: ignore[arg-type]
        )
    assert child.end_time_ns is None and child.outputs is None  # nothing changed
    client.end_span(trace_id=root.trace_id, span_id=child.span_id)
    client.end_trace(trace_id=root.trace_id)
    assert mlflow.flush(10)
    trace = mlflow.get_trace(root.trace_id)
    assert trace is not None
    assert {s.name: s.status.status_code for s in trace.data.spans} == {"root": "OK", "child": "OK"}


def test_refused_start_arguments_leave_no_half_made_trace() -> None:
    """Tags that are not a dict, or a log_trace time that is not an integer, were refused
    after the span had started: each left a trace written ERROR when it was collected."""
    mlflow.set_destination("memory")
    with pytest.raises(TypeError, match="tags"):
        mlflow.start_span_no_context("bad", tags=["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata"):
        mlflow.start_span_no_context("bad", metadata=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tags"):
        mlflow.MlflowClient().start_trace("bad", tags=["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="execution_time_ms"):
        mlflow.log_trace("bad", start_time_ms=1000, execution_time_ms="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start_time_ms"):
        mlflow.log_trace("bad", start_time_ms=2**63)
    gc.collect()
    assert mlflow.flush(10)
    assert mlflow.search_traces(return_type="list") == []
    assert mlflow.get_current_active_span() is None


def test_an_end_before_the_start_and_a_parent_that_is_no_span_are_refused() -> None:
    mlflow.set_destination("memory")
    span = mlflow.start_span_no_context("s", start_time_ns=2_000)
    with pytest.raises(ValueError, match="before the span's start"):
        span.end(end_time_ns=1_000)
    with pytest.raises(ValueError, match="start_time_ns"):
        mlflow.start_span_no_context("negative", start_time_ns=-0.9)
    span.end(end_time_ns=np.float32(3e3))  # a numpy float is a number of nanoseconds too
    for parent in ("nope", 42, {"span_id": "x"}):
        with pytest.raises(TypeError, match="parent_span"):
            mlflow.start_span_no_context("child", parent_span=parent)  # type: ignore[arg-type]
    assert mlflow.flush(10)
    (trace,) = mlflow.search_traces(return_type="list")
    assert (trace.data.spans[0].start_time_ns, trace.data.spans[0].end_time_ns) == (2_000, 3_000)
