"""The provider: config, the registered sinks and the one batch worker feeding them."""

from __future__ import annotations

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal import provider, runtime
from mlflow_trace_nb._internal.records import SpanRecord, TraceRecord
from mlflow_trace_nb.testing.collector import Collector


def test_the_runtime_is_the_default_provider() -> None:
    assert runtime.RUNTIME is provider.DEFAULT_PROVIDER
    assert isinstance(runtime.RUNTIME, provider.Provider)


def test_an_added_sink_receives_records_until_it_is_removed() -> None:
    sink = Collector()
    default = provider.DEFAULT_PROVIDER
    default.add_sink(sink)
    assert sink in default.sinks and default.store in default.sinks
    with mlflow.start_span("root"), mlflow.start_span("child"):
        pass
    assert mlflow.flush(10)
    assert [type(r) for r in sink.items] == [SpanRecord, TraceRecord]
    assert mlflow.search_traces(return_type="list")  # the store got them too
    default.remove_sink(sink)
    assert sink not in default.sinks
    with mlflow.start_span("later"):
        pass
    assert mlflow.flush(10)
    assert len(sink.items) == 2
