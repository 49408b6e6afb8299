"""configure / enable / disable / reset / set_destination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.records import TraceRecord
from mlflow_trace_nb._internal.runtime import RUNTIME


@mlflow.trace
def leaf(i: int) -> int:
    return i


@mlflow.trace
def root(i: int) -> int:
    return leaf(i) + leaf(i + 1)


def test_disable_records_nothing_and_enable_resumes() -> None:
    mlflow.tracing.disable()
    assert not mlflow.tracing.is_enabled()
    assert root(1) == 3
    with mlflow.tracing.trace("block") as span:
        span.set_attribute("ignored", True)
        assert mlflow.get_current_active_span() is None
    assert mlflow.get_last_active_trace() is None
    assert len(mlflow.search_traces()) == 0
    mlflow.tracing.enable()
    root(1)
    assert len(mlflow.search_traces()) == 1


def test_sampling_keeps_whole_traces_at_the_configured_rate() -> None:
    mlflow.tracing.configure(sampling_rate=0.3)
    for i in range(2000):
        root(i)
    traces = mlflow.search_traces(return_type="list", max_results=5000)
    # binomial(2000, 0.3): mean 600, sd ~20.5; +-5 sd
    assert 497 < len(traces) < 703
    assert all(len(t.spans) == 3 for t in traces)  # children follow their root


def test_sampling_extremes_and_validation() -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    root(1)
    assert len(mlflow.search_traces()) == 0
    assert mlflow.get_current_active_span() is None
    mlflow.tracing.configure(sampling_rate=1.0)
    root(1)
    assert len(mlflow.search_traces()) == 1
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="sampling_rate"):
            mlflow.tracing.configure(sampling_rate=bad)
    with pytest.raises(TypeError):
        mlflow.tracing.configure(sampling_rate="half")  # type: ignore[arg-type]


def test_unsampled_start_span_restores_context() -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    span = mlflow.start_span("unsampled")
    child = mlflow.start_span("child")
    assert mlflow.get_current_active_span() is None
    child.end()
    span.end()
    mlflow.tracing.configure(sampling_rate=1.0)
    root(1)
    trace = mlflow.get_last_active_trace()
    assert trace is not None and trace.name == "root"


def test_configure_propagation_flag_and_reset() -> None:
    mlflow.tracing.configure(disable_propagation=True, sampling_rate=0.5)
    mlflow.tracing.disable()
    assert RUNTIME.disable_propagation and RUNTIME.sampling_rate == 0.5
    mlflow.tracing.reset()
    assert not RUNTIME.disable_propagation
    assert RUNTIME.sampling_rate == 1.0
    assert RUNTIME.enabled
    assert RUNTIME.experiment_id == "0"


def test_set_destination_switches_and_flushes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    mlflow.tracing.set_destination(f"sqlite:///{first}")
    root(1)
    mlflow.tracing.set_destination(str(second))
    root(2)
    assert len(mlflow.search_traces()) == 1
    mlflow.tracing.set_destination(mlflow.tracing.destination.LocalStore(str(first)))
    assert len(mlflow.search_traces()) == 1


def test_several_destinations_at_once(tmp_path: Path) -> None:
    received: list[Any] = []

    class Collector:
        def export(self, items: list[Any]) -> None:
            received.extend(items)

        def shutdown(self) -> None:
            pass

    mlflow.tracing.set_destination(["memory", Collector()])
    root(5)
    mlflow.flush()
    traces = [r for r in received if isinstance(r, TraceRecord)]  # after its span records
    assert len(traces) == 1 and traces[0].root.name == "root" and received[-1] is traces[0]
    assert len(mlflow.search_traces()) == 1


@pytest.mark.parametrize(
    ("destination", "error"),
    [
        ("postgres://nope", ValueError),
        ("", ValueError),
        ([], ValueError),
        (42, TypeError),
        ("sqlite:///", ValueError),
    ],
)
def test_bad_destinations_are_rejected(destination: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        mlflow.tracing.set_destination(destination)


def test_unsampled_async_and_generator_functions_run_normally() -> None:
    import asyncio

    @mlflow.trace
    async def coro(x: int) -> int:
        return leaf(x)

    @mlflow.trace
    def gen(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield leaf(i)

    @mlflow.trace
    async def agen(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield leaf(i)

    async def collect() -> list[int]:
        return [x async for x in agen(3)]

    mlflow.tracing.configure(sampling_rate=0.0)
    assert asyncio.run(coro(4)) == 4
    assert list(gen(3)) == [0, 1, 2]
    assert asyncio.run(collect()) == [0, 1, 2]
    assert len(mlflow.search_traces()) == 0
    mlflow.tracing.disable()
    assert asyncio.run(coro(5)) == 5 and list(gen(2)) == [0, 1]
    assert asyncio.run(collect()) == [0, 1, 2]
    assert len(mlflow.search_traces()) == 0
