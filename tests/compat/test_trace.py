# ruff: noqa: B008  (ported as written upstream)
"""Ported from mlflow/mlflow tests/entities/test_trace.py (Apache-2.0), assertions unchanged,
imports swapped.

Left out:
- test_json_deserialization: asserts MLflow 2's ``to_json`` layout (``request_id``,
  ``context``...) and MLflow's recorded content (``mlflow.traceInputs`` metadata, source
  tags); we write MLflow 3's layout, and the recorded content (issue F item 3) is not done.
- test_trace_serialize_pydantic_model, test_trace_serialize_langchain_base_message: test
  MLflow's ``TraceJSONEncoder`` class, which we do not have (our payloads are converted by
  ``_internal.serialization``).
- test_trace_pandas_dataframe_columns: ``Trace.pandas_dataframe_columns`` /
  ``to_pandas_dataframe_row`` not built (the DataFrame work, priority 5, not done).
"""

from datetime import datetime

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import SpanType, Trace


def _test_model(datetime=datetime.now()):
    class TestModel:
        @mlflow.trace()
        def predict(self, x, y):
            z = x + y
            z = self.add_one(z)
            return z

        @mlflow.trace(
            span_type=SpanType.LLM,
            name="add_one_with_custom_name",
            attributes={
                "delta": 1,
                "metadata": {"foo": "bar"},
                # Test for non-json-serializable input
                "datetime": datetime,
            },
        )
        def add_one(self, z):
            return z + 1

    return TestModel()


def test_trace_to_from_dict_and_json():
    model = _test_model()
    model.predict(2, 5)

    trace = mlflow.get_last_active_trace()
    trace_dict = trace.to_dict()
    trace_from_dict = Trace.from_dict(trace_dict)
    trace_json = trace.to_json()
    trace_from_json = Trace.from_json(trace_json)
    for loaded_trace in [trace_from_dict, trace_from_json]:
        assert trace.info == loaded_trace.info
        assert trace.data.request == loaded_trace.data.request
        assert trace.data.response == loaded_trace.data.response
        assert len(trace.data.spans) == len(loaded_trace.data.spans)
        for i in range(len(trace.data.spans)):
            for attr in [
                "name",
                "request_id",
                "span_id",
                "start_time_ns",
                "end_time_ns",
                "parent_id",
                "status",
                "inputs",
                "outputs",
                "_trace_id",
                "attributes",
                "events",
            ]:
                assert getattr(trace.data.spans[i], attr) == getattr(
                    loaded_trace.data.spans[i], attr
                )
