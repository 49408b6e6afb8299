# ruff: noqa: SIM117  (ported as written upstream)
"""Ported from mlflow/mlflow tests/entities/test_span.py (Apache-2.0), assertions unchanged,
imports swapped.

Left out:
- test_create_live_span, test_create_non_live_span, test_create_noop_span,
  test_create_raise_for_invalid_otel_span, test_to_immutable_span,
  test_set_attribute_directly_to_otel_span: built on OpenTelemetry SDK span objects
  (``create_mlflow_span``, ``_get_tracer``, ``span._span``); our spans are not OTel-backed.
- test_otel_attribute_conversion, test_span_to_otel_proto_conversion,
  test_span_from_otel_proto_conversion, test_span_from_otel_proto_with_resource,
  test_span_from_otel_proto_with_empty_resource, test_span_from_otel_proto_with_location,
  test_span_from_otel_proto_with_pre_encoded_request_id,
  test_span_from_otel_proto_can_preserve_request_id_for_round_trip,
  test_otel_roundtrip_conversion, test_resource_to_otel_proto, test_resource_to_otel_proto_none:
  OTLP protobuf conversion of MLflow's own span class is not provided.
- test_load_from_old_span_dict and the tests after it in the file: not ported yet (time).
"""

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span, SpanEvent, SpanStatus, SpanStatusCode, SpanType
from mlflow_trace_nb.errors import MlflowException


@pytest.mark.parametrize(
    "status",
    [SpanStatus("OK"), SpanStatus(SpanStatusCode.ERROR, "Error!"), "OK", "ERROR"],
)
def test_set_status(status):
    with mlflow.start_span("test_span") as span:
        span.set_status(status)

    assert isinstance(span.status, SpanStatus)


def test_set_status_raise_for_invalid_value():
    with mlflow.start_span("test_span") as span:
        with pytest.raises(MlflowException, match=r"INVALID is not a valid SpanStatusCode value."):
            span.set_status("INVALID")


def test_dict_conversion():
    with mlflow.start_span("parent"):
        with mlflow.start_span("child", span_type=SpanType.LLM) as span:
            span.set_inputs({"input": 1})
            span.set_outputs(2)
            span.set_attribute("key", 3)
            span.set_status("OK")
            span.add_event(SpanEvent("test_event", timestamp=0, attributes={"foo": "bar"}))

    span_dict = span.to_dict()
    recovered_span = Span.from_dict(span_dict)

    assert span.trace_id == recovered_span.trace_id
    assert span._trace_id == recovered_span._trace_id
    assert span.span_id == recovered_span.span_id
    assert span.name == recovered_span.name
    assert span.span_type == recovered_span.span_type
    assert span.start_time_ns == recovered_span.start_time_ns
    assert span.end_time_ns == recovered_span.end_time_ns
    assert span.parent_id == recovered_span.parent_id
    assert span.status == recovered_span.status
    assert span.inputs == recovered_span.inputs
    assert span.outputs == recovered_span.outputs
    assert span.attributes == recovered_span.attributes
    assert span.events == recovered_span.events

    # Loaded span should not implement setter methods
    with pytest.raises(AttributeError, match="set_status"):
        recovered_span.set_status("OK")


def test_dict_conversion_with_exception_event():
    with pytest.raises(ValueError, match="Test exception"), mlflow.start_span("test") as span:
        raise ValueError("Test exception")

    span_dict = span.to_dict()
    recovered_span = Span.from_dict(span_dict)

    assert span.request_id == recovered_span.request_id
    assert span._trace_id == recovered_span._trace_id
    assert span.span_id == recovered_span.span_id
    assert span.name == recovered_span.name
    assert span.span_type == recovered_span.span_type
    assert span.start_time_ns == recovered_span.start_time_ns
    assert span.end_time_ns == recovered_span.end_time_ns
    assert span.parent_id == recovered_span.parent_id
    assert span.status == recovered_span.status
    assert span.inputs == recovered_span.inputs
    assert span.outputs == recovered_span.outputs
    assert span.attributes == recovered_span.attributes
    assert span.events == recovered_span.events

    # Loaded span should not implement setter methods
    with pytest.raises(AttributeError, match="set_status"):
        recovered_span.set_status("OK")


def test_from_v2_dict():
    span = Span.from_dict(
        {
            "name": "test",
            "context": {
                "span_id": "8a90fc46e65ea5a4",
                "trace_id": "0125978dc5c5a9456d7ca9ef1f7cf4af",
            },
            "parent_id": None,
            "start_time": 1738662897576578992,
            "end_time": 1738662899068969049,
            "status_code": "OK",
            "status_message": "",
            "attributes": {
                "mlflow.traceRequestId": '"tr-123"',
                "mlflow.spanType": '"LLM"',
                "mlflow.spanInputs": '{"input": 1}',
                "mlflow.spanOutputs": "2",
                "key": "3",
            },
            "events": [],
        }
    )

    assert span.request_id == "tr-123"
    assert span.name == "test"
    assert span.span_type == SpanType.LLM
    assert span.parent_id is None
    assert span.status == SpanStatus(SpanStatusCode.OK, description="")
    assert span.inputs == {"input": 1}
    assert span.outputs == 2
    assert span.events == []


def test_from_dict_raises_when_trace_id_is_empty():
    with pytest.raises(MlflowException, match=r"Failed to create a Span object from "):
        Span.from_dict(
            {
                "name": "predict",
                "context": {
                    "trace_id": "12345",
                    "span_id": "12345",
                },
                "parent_id": None,
                "start_time": 0,
                "end_time": 1,
                "status_code": "OK",
                "status_message": "",
                "attributes": {
                    "mlflow.traceRequestId": None,
                },
                "events": [],
            }
        )


def test_span_from_dict_old_format():
    span_dict = {
        "trace_id": "6ST7JNq8BC4JRp0HA/vD6Q==",
        "span_id": "Sd/l0Zs4M3g=",
        "parent_span_id": None,
        "name": "test_span",
        "start_time_unix_nano": 1000000000,
        "end_time_unix_nano": 2000000000,
        "status": {"code": "STATUS_CODE_ERROR", "message": "Error occurred"},
        "attributes": {
            "mlflow.spanInputs": '{"query": "test"}',
            "mlflow.spanOutputs": '{"result": "success"}',
            "custom": "value",
            "mlflow.traceRequestId": '"tr-e924fb24dabc042e09469d0703fbc3e9"',
        },
        "events": [],
    }

    # Deserialize it
    recovered_span = Span.from_dict(span_dict)

    # Verify all fields are recovered correctly
    assert recovered_span.trace_id == "tr-e924fb24dabc042e09469d0703fbc3e9"
    assert recovered_span.span_id == "49dfe5d19b383378"
    assert recovered_span.parent_id is None
    assert recovered_span.name == span_dict["name"]
    assert recovered_span.start_time_ns == span_dict["start_time_unix_nano"]
    assert recovered_span.end_time_ns == span_dict["end_time_unix_nano"]
    assert recovered_span.status.status_code.value == "ERROR"
    assert recovered_span.inputs == {"query": "test"}
    assert recovered_span.outputs == {"result": "success"}
    assert recovered_span.get_attribute("custom") == "value"


def test_span_dict_v4_with_no_parent():
    with mlflow.start_span("root_span") as span:
        span.set_inputs({"x": 1})
        span.set_outputs({"y": 2})

    span_dict = span.to_dict()

    # Root span should have None for parent_span_id
    assert span_dict["parent_span_id"] is None

    # Deserialize and verify
    recovered = Span.from_dict(span_dict)
    assert recovered.parent_id is None
    assert recovered.name == "root_span"
    assert recovered.inputs == {"x": 1}
    assert recovered.outputs == {"y": 2}


def test_span_from_dict_supports_both_status_code_formats():
    with mlflow.start_span("test") as span:
        span.set_status("OK")

    span_dict = span.to_dict()

    # Current code serializes as protobuf enum name
    assert span_dict["status"]["code"] == "STATUS_CODE_OK"

    # Verify we can deserialize protobuf enum name format (backward compatibility)
    span_dict["status"]["code"] = "STATUS_CODE_ERROR"
    recovered = Span.from_dict(span_dict)
    assert recovered.status.status_code == SpanStatusCode.ERROR

    # Verify we can also deserialize enum value format
    # (forward compatibility with older serialized data)
    span_dict["status"]["code"] = "OK"
    recovered = Span.from_dict(span_dict)
    assert recovered.status.status_code == SpanStatusCode.OK

    span_dict["status"]["code"] = "UNSET"
    recovered = Span.from_dict(span_dict)
    assert recovered.status.status_code == SpanStatusCode.UNSET

    span_dict["status"]["code"] = "ERROR"
    recovered = Span.from_dict(span_dict)
    assert recovered.status.status_code == SpanStatusCode.ERROR
