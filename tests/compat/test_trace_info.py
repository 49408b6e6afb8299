"""Ported from mlflow/mlflow tests/entities/test_trace_info_v3.py (Apache-2.0), assertions
unchanged, imports swapped (``TraceInfoV3`` is MLflow 3's ``TraceInfo``).

Left out:
- test_trace_info_v3: needs protobuf conversion (``to_proto``/``from_proto``, not provided);
  assessments' dict format is checked against real MLflow in test_assessment.py.
- tests/entities/test_trace_info.py (3 tests) and test_trace_state.py (4 cases): they test
  protobuf conversion (``to_proto``/``from_proto``), not provided.
"""

from mlflow_trace_nb.entities import TraceInfo as TraceInfoV3
from mlflow_trace_nb.entities import TraceLocation, TraceState


def test_backwards_compatibility_with_v2():
    trace_info = TraceInfoV3(
        trace_id="trace_id",
        client_request_id="client_request_id",
        trace_location=TraceLocation.from_experiment_id("123"),
        request="'request'",
        response="'response'",
        request_time=1234567890,
        state=TraceState.OK,
        trace_metadata={"foo": "bar"},
        tags={"baz": "qux"},
    )

    assert trace_info.request_id == trace_info.trace_id
    assert trace_info.experiment_id == "123"
    assert trace_info.request_metadata == {"foo": "bar"}
    assert trace_info.timestamp_ms == 1234567890
    assert trace_info.execution_time_ms is None
