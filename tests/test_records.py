"""Finished-span and trace records: made by the tracer when a span ends, immutable."""

from __future__ import annotations

import dataclasses

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.records import (
    SpanRecord,
    TraceRecord,
    make_span_record,
    make_trace_record,
    record_spans,
)
from mlflow_trace_nb.testing.collector import Collector


def _collect() -> Collector:
    sink = Collector()
    mlflow.set_destination(sink)
    return sink


def test_each_span_is_handed_on_as_a_record_when_it_ends() -> None:
    sink = _collect()
    with mlflow.start_span("root", inputs={"q": 1}) as root:
        with mlflow.start_span("child", span_type="TOOL") as child:
            child.set_attribute("k", [1, 2])
            child.set_outputs("out")
        assert mlflow.flush(10)
        # the child is in the pipeline before its root ends
        assert [type(i).__name__ for i in sink.items] == ["SpanRecord"]
    assert mlflow.flush(10)
    child_record, trace_record = sink.items  # the trace's record carries the root's
    root_record = trace_record.root
    assert isinstance(child_record, SpanRecord) and isinstance(trace_record, TraceRecord)
    assert child_record.name == "child" and child_record.span_type == "TOOL"
    assert child_record.parent_id == root_record.span_id and root_record.parent_id is None
    assert child_record.attributes == {"k": [1, 2]} and child_record.outputs == "out"
    assert root_record.inputs == {"q": 1} and root_record.status_code == "OK"
    assert child_record.request_id == root.trace_id == trace_record.request_id
    assert trace_record.root_span_id == root_record.span_id and trace_record.span_count == 2
    assert trace_record.name == "root" and trace_record.end_time_ns == root_record.end_time_ns


def test_records_cannot_be_changed() -> None:
    record = make_span_record(1, 2, None, "0", "s", None, 1, 2, "OK", "", 1, 2, {}, [])
    with pytest.raises(AttributeError):
        record.name = "other"  # type: ignore[misc]
    assert not dataclasses.is_dataclass(record) and isinstance(record, tuple)
    assert record.request_id == "tr-" + "0" * 31 + "1"  # formatted when read


def test_make_span_record_copies_what_could_change() -> None:
    attributes = {"a": 1}
    events: list[object] = []
    record = make_span_record(
        1, 2, None, "0", "s", None, 1, 2, "OK", "", None, None, attributes, events
    )
    attributes["a"] = 2
    events.append("e")
    assert record.attributes == {"a": 1} and record.events == ()


def test_trace_records_carry_tags_metadata_and_the_roots_record() -> None:
    sink = _collect()
    with mlflow.start_span("root"):
        mlflow.update_current_trace(tags={"t": "v"}, metadata={"m": "w"})
    assert mlflow.flush(10)
    (trace,) = sink.items
    assert trace.tags == {"t": "v"} and trace.metadata == {"m": "w"}
    assert record_spans(trace) == record_spans(trace.root) == 1
    rebuilt = make_trace_record(trace.root, {"t": "v"}, {"m": "w"}, 1)
    assert rebuilt == trace


def test_setters_after_the_end_do_not_reach_the_record() -> None:
    sink = _collect()
    with mlflow.start_span("root") as span:
        pass
    span.set_attribute("late", 1)
    assert mlflow.flush(10)
    assert sink.items[0].root.attributes is None
