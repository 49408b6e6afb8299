"""Read-only entities: dict round trips, lazy payloads, search helpers."""

from __future__ import annotations

import json
import re

from mlflow_trace_nb.entities import Span, SpanContext, SpanEvent, Trace, TraceData, TraceInfo
from mlflow_trace_nb.store.trace_builder import build_trace


def make_span(**overrides: object) -> Span:
    fields: dict[str, object] = {
        "name": "llm",
        "span_id": "a" * 16,
        "trace_id": "tr-" + "1" * 32,
        "parent_id": None,
        "span_type": "LLM",
        "start_time_ns": 1_000,
        "end_time_ns": 3_500,
        "status_code": "OK",
        "inputs": {"prompt": "hi"},
        "outputs": "hello",
        "attributes": {"tokens": 3},
        "events": [SpanEvent("token", 2_000, {"i": 0})],
    }
    fields.update(overrides)
    return Span(**fields)  # type: ignore[arg-type]


def test_span_dict_round_trip() -> None:
    span = make_span()
    again = Span.from_dict(json.loads(json.dumps(span.to_dict())))
    assert again.to_dict() == span.to_dict()
    assert span.duration_ns == 2_500
    assert span.context == SpanContext("a" * 16, "tr-" + "1" * 32)
    assert span.get_attribute("tokens") == 3 and span.status == "OK"


def test_span_from_row_decodes_payloads_once_and_lazily() -> None:
    row = ("tr-x", "b" * 16, None, "n", "TOOL", 1, 2, "OK", "", '[{"q":1},[1,2],{"k":"v"},[]]')
    span = Span._from_row(row)
    assert span.name == "n" and span.parent_id is None and span.end_time_ns == 2
    assert span.inputs == {"q": 1}
    assert span.outputs == [1, 2] and span.events == []
    assert span.attributes == {  # what is set, plus MLflow's keys made from the fields
        "mlflow.traceRequestId": "tr-x",
        "mlflow.spanType": "TOOL",
        "mlflow.spanInputs": {"q": 1},
        "mlflow.spanOutputs": [1, 2],
        "mlflow.spanLogLevel": 20,
        "k": "v",
    }
    broken = Span._from_row((*row[:9], "not json"))
    assert broken.inputs is None and broken.events == []
    assert broken.attributes == {
        "mlflow.traceRequestId": "tr-x",
        "mlflow.spanType": "TOOL",
        "mlflow.spanLogLevel": 20,
    }


def test_trace_accessors_and_search_spans() -> None:
    root = make_span(name="root", span_type="CHAIN")
    child = make_span(name="child-1", span_id="c" * 16, parent_id="a" * 16, span_type="TOOL")
    info = TraceInfo(
        request_id="tr-" + "1" * 32,
        experiment_id="0",
        timestamp_ms=1,
        execution_time_ms=2,
        status="OK",
        tags={"user": "ana"},
        name="root",
    )
    trace = Trace(info, TraceData([root, child]))
    assert trace.request_id == trace.trace_id == info.trace_id
    assert trace.tags == {"user": "ana", "mlflow.traceName": "root"}
    assert trace.status == info.state == "OK"
    assert trace.data.root is root
    assert json.loads(trace.data.request or "null") == {"prompt": "hi"}
    assert trace.search_spans(span_type="TOOL") == [child]
    assert trace.search_spans(name=re.compile(r"child-\d")) == [child]
    assert json.loads(trace.to_json())["data"]["spans"][1]["name"] == "child-1"
    assert "spans=2" in repr(trace)


def test_build_trace_orders_spans_by_start() -> None:
    trace_row = ("tr-1", 0, "root", 1, 2, "OK", None, None, "{}", '{"a":"b"}')
    late = ("tr-1", "2" * 16, "1" * 16, "late", None, 20, 30, "OK", "", "[null,null,{},[]]")
    early = ("tr-1", "1" * 16, None, "root", None, 10, 40, "OK", "", "[null,null,{},[]]")
    trace = build_trace(trace_row, [late, early])
    assert [s.name for s in trace.spans] == ["root", "late"]
    assert trace.tags == {"a": "b", "mlflow.traceName": "root"} and trace.experiment_id == "0"


def test_status_objects_keep_the_reference_strings_working() -> None:
    from mlflow_trace_nb.entities import SpanStatus, SpanStatusCode, SpanType, TraceState
    from mlflow_trace_nb.tracing import provider

    assert provider.SpanStatus is SpanStatus and provider.SpanStatusCode is SpanStatusCode
    assert provider.SpanType is SpanType and SpanType.LLM == "LLM"
    span = make_span(status_code="ERROR", status_message="boom")
    assert span.status == SpanStatus(SpanStatusCode.ERROR, "boom") and span.status == "ERROR"
    assert span.status.status_code == "ERROR" and str(span.status) == "ERROR"
    assert SpanStatus.CANCELLED == "CANCELLED"  # the reference API's constants
    cancelled = make_span(status_code="CANCELLED", status_message="user gave up")
    assert cancelled.to_dict()["status"] == {
        "code": "STATUS_CODE_ERROR",
        "message": "CANCELLED: user gave up",
    }
    assert TraceState.OK == "OK"


def test_trace_info_has_mlflow_3_fields_and_the_reference_spellings() -> None:
    from mlflow_trace_nb.entities import TraceLocation, TraceState

    info = TraceInfo(
        trace_id="tr-" + "2" * 32,
        trace_location=TraceLocation.from_experiment_id("7"),
        request_time=1_000,
        execution_duration=25,
        state=TraceState.OK,
        trace_metadata={"m": "1"},
        tags={"t": "2", "mlflow.traceName": "root"},
        client_request_id="c-1",
    )
    assert (info.request_id, info.experiment_id, info.timestamp_ms) == (info.trace_id, "7", 1_000)
    assert (info.execution_time_ms, info.status, info.request_metadata) == (25, "OK", {"m": "1"})
    assert info.name == "root" and info.client_request_id == "c-1"
    assert TraceInfo.from_dict(info.to_dict()) == info
    timed_out = TraceInfo(
        request_id="tr-x",
        experiment_id="0",
        timestamp_ms=0,
        execution_time_ms=None,
        status="TIMEOUT",
    )
    assert timed_out.state == TraceState.ERROR and timed_out.status == "TIMEOUT"


def test_get_attribute_answers_mlflows_own_span_keys_from_the_fields() -> None:
    import mlflow_trace_nb as mlflow

    @mlflow.trace(span_type="LLM")
    def double(x: int) -> int:
        return x * 2

    double(3)
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    (span,) = trace.data.spans
    assert span.get_attribute("mlflow.spanType") == "LLM"
    assert span.get_attribute("mlflow.spanInputs") == {"x": 3}
    assert span.get_attribute("mlflow.spanOutputs") == 6
    assert span.get_attribute("mlflow.traceRequestId") == trace.info.request_id
    assert span.get_attribute("absent") is None
    assert span.attributes["mlflow.spanType"] == "LLM"  # as MLflow's Span.attributes
    stored = span._row[9]  # the payload columns as the store holds them
    assert '"x"' in stored and "mlflow.spanType" not in stored  # not stored twice
    assert "mlflow.spanInputs" not in stored


def test_a_span_dicts_kind_is_kept_on_a_round_trip() -> None:
    """MLflow 3.18 writes a span's ``kind``; what is read back is written back, and a span
    dict without one (MLflow 3.17, this package) does not gain one."""
    from mlflow_trace_nb.entities import Span

    data = {
        "trace_id": "T52GO8S5pc3m9tGM72bGZw==",
        "span_id": "OiMZUQsjlHM=",
        "parent_span_id": None,
        "name": "answer",
        "start_time_unix_nano": 1,
        "end_time_unix_nano": 2,
        "events": [],
        "status": {"code": "STATUS_CODE_OK", "message": ""},
        "attributes": {"mlflow.traceRequestId": '"tr-4f9d863bc4b9a5cde6f6d18cef66c667"'},
        "links": [],
    }
    assert "kind" not in Span.from_dict(data).to_dict()
    assert Span.from_dict({**data, "kind": "SPAN_KIND_INTERNAL"}).to_dict()["kind"] == (
        "SPAN_KIND_INTERNAL"
    )
