"""Ported from mlflow/mlflow tests/entities/test_span_status.py (Apache-2.0), assertions
unchanged, imports swapped.

Left out:
- test_otel_proto_status_to_mlflow_status_conversion (3 cases): OTLP protobuf conversion
  (``from_otel_proto_status``) is not provided; our OTLP exporter builds its own messages.
- test_mlflow_status_to_otel_proto_status_conversion (3 cases): same (``to_otel_proto_status``).
"""

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.trace import Status as OTelStatus
from opentelemetry.trace import StatusCode as OTelStatusCode

from mlflow_trace_nb.entities import SpanStatus, SpanStatusCode
from mlflow_trace_nb.errors import MlflowException


@pytest.mark.parametrize("status_code", [SpanStatusCode.OK, "OK"])
def test_span_status_init(status_code):
    span_status = SpanStatus(status_code)
    assert span_status.status_code == SpanStatusCode.OK


def test_span_status_raise_invalid_status_code():
    with pytest.raises(MlflowException, match=r"INVALID is not a valid SpanStatusCode value."):
        SpanStatus("INVALID", description="test")


@pytest.mark.parametrize(
    ("status_code", "otel_status_code"),
    [
        (SpanStatusCode.OK, trace_api.StatusCode.OK),
        (SpanStatusCode.ERROR, trace_api.StatusCode.ERROR),
        (SpanStatusCode.UNSET, trace_api.StatusCode.UNSET),
    ],
)
def test_otel_status_conversion(status_code, otel_status_code):
    span_status = SpanStatus(status_code, description="test")
    otel_status = span_status.to_otel_status()

    # OpenTelemetry only allows specify description when status is ERROR
    # Otherwise it will be ignored with warning message.
    expected_description = "test" if status_code == SpanStatusCode.ERROR else None

    assert otel_status.status_code == otel_status_code
    assert otel_status.description == expected_description

    span_status = SpanStatus.from_otel_status(otel_status)
    assert span_status.status_code == status_code
    assert span_status.description == (expected_description or "")


@pytest.mark.parametrize(
    ("status_code", "status_desc", "expected_code", "expected_desc"),
    [
        # OTel only keeps description for ERROR status
        (OTelStatusCode.OK, "Success", SpanStatusCode.OK, ""),
        (OTelStatusCode.ERROR, "Failed", SpanStatusCode.ERROR, "Failed"),
        (OTelStatusCode.UNSET, "", SpanStatusCode.UNSET, ""),
    ],
)
def test_otel_status_to_mlflow_status_conversion(
    status_code, status_desc, expected_code, expected_desc
):
    # Create OTel status
    otel_status = OTelStatus(status_code, status_desc)

    # Convert to MLflow status
    mlflow_status = SpanStatus.from_otel_status(otel_status)
    assert mlflow_status.status_code == expected_code
    # OTel SDK clears description for non-ERROR statuses
    assert mlflow_status.description == (status_desc if status_code == OTelStatusCode.ERROR else "")

    # Convert back to OTel status
    converted_status = mlflow_status.to_otel_status()
    assert converted_status.status_code == status_code
    # Description is only preserved for ERROR status
    assert converted_status.description == expected_desc
