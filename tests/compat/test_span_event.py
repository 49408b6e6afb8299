"""Ported from mlflow/mlflow tests/entities/test_span_event.py (Apache-2.0), assertions
unchanged, imports swapped.

Left out:
- test_span_event_to_otel_proto_conversion (4 cases): OTLP protobuf conversion
  (``SpanEvent.to_otel_proto``) is not provided.
"""

import time

from mlflow_trace_nb.entities import SpanEvent
from mlflow_trace_nb.errors import MlflowException


def test_default_timestamp_is_in_nanoseconds():
    # Record the time before and after creating the event
    before_ns = int(time.time() * 1e9)
    event = SpanEvent(name="test_event")
    after_ns = int(time.time() * 1e9)

    # The event's timestamp should be between before and after in nanoseconds
    assert before_ns <= event.timestamp <= after_ns


def test_from_exception():
    exception = MlflowException("test")
    span_event = SpanEvent.from_exception(exception)
    assert span_event.name == "exception"
    assert span_event.attributes["exception.message"] == "test"
    assert span_event.attributes["exception.type"] == "MlflowException"
    assert span_event.attributes["exception.stacktrace"] is not None
