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


def test_ended_traces_are_freed_without_the_cyclic_gc() -> None:
    """Once a later trace ends (and no view holds traces), an ended trace's live spans are
    let go: freed by reference counting, never left as cyclic garbage for the GC (whose
    collections traverse everything queued). The last trace stays whole."""
    import gc

    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan

    @mlflow.trace
    def step(i: int) -> int:
        return i

    def live_spans() -> int:
        return sum(type(o) is LiveSpan for o in gc.get_objects())

    step(0)
    gc.collect()
    before = live_spans()
    gc.disable()
    try:
        for i in range(1_000):
            step(i)
        assert live_spans() - before <= 2  # not 1,000 spans waiting for a collection
    finally:
        gc.enable()
    last = mlflow.get_last_active_trace()
    assert last is not None and last.data.spans[0].inputs == {"i": 999}
