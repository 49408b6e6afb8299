"""Parents follow contextvars: threads, asyncio tasks, executors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.context import current_span
from tests.helpers import by_name, last_trace


@pytest.fixture
def threading_patched() -> Iterator[None]:
    handle = mlflow.tracing.instrument_threading()
    yield
    handle.undo()


@mlflow.trace
def work(i: int) -> int:
    return i * 2


def test_threads_without_propagation_start_their_own_traces() -> None:
    results: list[str] = []

    def in_thread() -> None:
        work(1)
        trace = mlflow.get_last_active_trace()
        assert trace is not None
        results.append(trace.spans[0].name)

    with mlflow.start_span("main"):
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
    assert results == ["work"]
    assert len(mlflow.search_traces()) == 2  # separate traces: no context crossed


def test_instrument_threading_nests_executor_work(threading_patched: None) -> None:
    with mlflow.start_span("fan-out"), ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(work, range(8))) == [i * 2 for i in range(8)]
    trace = last_trace()
    root = trace.spans[0]
    assert root.name == "fan-out"
    children = trace.spans[1:]
    assert len(children) == 8 and all(s.parent_id == root.span_id for s in children)
    assert sorted(s.inputs["i"] for s in children) == list(range(8))
    assert len(mlflow.search_traces()) == 1


def test_instrument_threading_nests_plain_threads(threading_patched: None) -> None:
    with mlflow.start_span("parent"):
        thread = threading.Thread(target=work, args=(3,))
        thread.start()
        thread.join()
    spans = by_name(last_trace())
    assert spans["work"].parent_id == spans["parent"].span_id


def test_instrument_threading_is_idempotent_and_undoable() -> None:
    original = ThreadPoolExecutor.submit
    first = mlflow.tracing.instrument_threading()
    patched = ThreadPoolExecutor.submit
    mlflow.tracing.instrument_threading()
    assert ThreadPoolExecutor.submit is patched is not original
    first.undo()
    assert ThreadPoolExecutor.submit is original


def test_concurrent_threads_keep_separate_traces() -> None:
    barrier = threading.Barrier(4)

    @mlflow.trace
    def job(n: int) -> int:
        barrier.wait()
        return work(n)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    traces = mlflow.search_traces(return_type="list")
    assert len(traces) == 4
    for trace in traces:
        spans = by_name(trace)
        assert spans["work"].parent_id == spans["job"].span_id
        assert spans["work"].inputs["i"] == spans["job"].inputs["n"]


def test_asyncio_gather_and_tasks_nest_under_the_creating_span() -> None:
    @mlflow.trace
    async def fetch(i: int) -> int:
        await asyncio.sleep(0.001 * (3 - i))
        return i

    @mlflow.trace
    async def pipeline() -> list[int]:
        first = await asyncio.gather(*(fetch(i) for i in range(3)))
        task = asyncio.create_task(fetch(9))
        return [*first, await task]

    assert asyncio.run(pipeline()) == [0, 1, 2, 9]
    trace = last_trace()
    root = trace.spans[0]
    assert root.name == "pipeline"
    fetches = [s for s in trace.spans if s.name == "fetch"]
    assert len(fetches) == 4 and all(s.parent_id == root.span_id for s in fetches)


def test_interleaved_async_generators_keep_their_own_parents() -> None:
    @mlflow.trace
    async def leaf(tag: str) -> str:
        return tag

    @mlflow.trace
    async def producer(tag: str):  # type: ignore[no-untyped-def]
        for _ in range(2):
            yield await leaf(tag)

    async def main() -> None:
        with mlflow.start_span("main"):
            a, b = producer("a"), producer("b")
            assert await a.__anext__() == "a"
            assert await b.__anext__() == "b"
            assert current_span() is not None and current_span().name == "main"  # type: ignore[union-attr]
            assert [x async for x in a] == ["a"]
            assert [x async for x in b] == ["b"]

    asyncio.run(main())
    trace = last_trace()
    producers = {s.inputs["tag"]: s for s in trace.spans if s.name == "producer"}
    for leaf_span in (s for s in trace.spans if s.name == "leaf"):
        assert leaf_span.parent_id == producers[leaf_span.inputs["tag"]].span_id
