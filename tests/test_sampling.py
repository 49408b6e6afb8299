"""``configure(sampling_rate=r)``: whole traces are kept with probability r, children follow
their root, and a trace continued from a ``traceparent`` follows the caller's decision."""

from __future__ import annotations

import asyncio
import math

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.store.sqlite import SqliteStore

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@mlflow.trace(span_type="RETRIEVER")
def _leaf(i: int) -> int:
    return i + 1


@mlflow.trace
def _gen(n: int):  # type: ignore[no-untyped-def]
    yield from range(n)


@mlflow.trace
async def _async_child(i: int) -> int:
    return _leaf(i)


@mlflow.trace(span_type="CHAIN")
def _root(i: int) -> int:
    """Four more spans under the root: decorated, nested, generator, start_span."""
    with mlflow.start_span("block") as span:
        span.set_attribute("i", i)
        value = _leaf(i)
    return value + sum(_gen(2))


def _stored_shapes() -> list[int]:
    mlflow.flush()
    return [len(t.spans) for t in mlflow.search_traces(return_type="list")]


def test_rate_is_honoured_within_five_sigma_and_trees_are_whole() -> None:
    n, rate = 10_000, 0.3
    mlflow.tracing.configure(sampling_rate=rate)
    for i in range(n):
        _root(i)
    shapes = _stored_shapes()
    kept = len(shapes)
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(kept - n * rate) <= 5 * sigma, (kept, n * rate, sigma)
    assert set(shapes) == {4}  # root, block, _leaf, _gen: never a partial tree
    spans = mlflow.search_spans()
    assert len(spans) == 4 * kept
    assert spans.groupby("request_id").parent_id.apply(lambda p: p.isna().sum()).eq(1).all()


def test_rate_zero_keeps_nothing_and_records_nothing() -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    seen = []
    for i in range(200):
        with mlflow.start_span("root"):
            seen.append(mlflow.get_current_active_span())
            _root(i)
    assert seen == [None] * 200  # unsampled: no active span, setters are no-ops
    assert _stored_shapes() == []
    assert mlflow.get_last_active_trace() is None


def test_rate_one_keeps_everything() -> None:
    mlflow.tracing.configure(sampling_rate=1.0)
    for i in range(300):
        _root(i)
    assert _stored_shapes() == [4] * 300


def test_async_children_follow_their_root() -> None:
    mlflow.tracing.configure(sampling_rate=0.5)

    @mlflow.trace
    async def main(i: int) -> int:
        values = await asyncio.gather(_async_child(i), _async_child(i + 1))
        return sum(values)

    async def run() -> None:
        for i in range(400):
            await main(i)

    asyncio.run(run())
    shapes = _stored_shapes()
    assert 0 < len(shapes) < 400
    assert set(shapes) == {5}  # main, two async children, their two leaves


def test_sampled_remote_parent_is_recorded_even_at_rate_zero() -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
    with mlflow.tracing.set_tracing_context_from_http_request_headers(headers):
        for i in range(3):
            with mlflow.start_span(f"handler-{i}"):
                _leaf(i)  # children follow the continued root, not the local rate
    trace = mlflow.get_trace(f"tr-{TRACE_ID}")
    assert trace is not None
    assert sorted(s.name for s in trace.spans) == sorted(
        ["handler-0", "handler-1", "handler-2", "_leaf", "_leaf", "_leaf"]
    )
    handlers = [s for s in trace.spans if s.name.startswith("handler")]
    assert {s.parent_id for s in handlers} == {PARENT}


def test_unsampled_remote_parent_is_not_recorded_even_at_rate_one() -> None:
    mlflow.tracing.configure(sampling_rate=1.0)
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT}-00"}
    continued = mlflow.tracing.set_tracing_context_from_http_request_headers
    with continued(headers), mlflow.start_span("handler") as span:
        assert mlflow.get_current_active_span() is None
        span.set_attribute("ignored", 1)
        _root(1)
        onward = mlflow.tracing.get_tracing_context_headers_for_http_request()
    # the decision is passed on with the same trace id, and nothing is stored
    assert onward == {"traceparent": f"00-{TRACE_ID}-{PARENT}-00"}
    assert mlflow.get_trace(f"tr-{TRACE_ID}") is None
    assert _stored_shapes() == []


def test_unsampled_local_root_sends_not_sampled() -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    with mlflow.start_span("client"), mlflow.start_span("child"):
        value = mlflow.tracing.get_tracing_context_headers_for_http_request()["traceparent"]
    assert value.startswith("00-") and value.endswith("-00")
    assert len(value) == 55


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_disabled_tracing_ignores_remote_context(rate: float, db_path: object) -> None:
    mlflow.tracing.configure(sampling_rate=rate)
    mlflow.tracing.disable()
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
    continued = mlflow.tracing.set_tracing_context_from_http_request_headers
    with continued(headers), mlflow.start_span("handler"):
        _leaf(1)
    mlflow.tracing.enable()
    mlflow.flush()
    assert SqliteStore(str(db_path)).count_traces() == 0
