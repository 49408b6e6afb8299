"""One ``trace("step")`` object entered in two threads (and in interleaved asyncio tasks) at
once: each exit ends the span its own context opened."""

from __future__ import annotations

import asyncio
import threading

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Trace


def _by_root() -> dict[str, Trace]:
    traces = mlflow.search_traces(return_type="list")
    assert isinstance(traces, list)
    return {str(t.data.root.inputs["who"]) if t.data.root else "": t for t in traces}


def _check(traces: dict[str, Trace], names: list[str]) -> None:
    assert sorted(traces) == sorted(names)
    for who, trace in traces.items():
        spans = {s.name: s for s in trace.spans}
        assert set(spans) == {"step", f"child-{who}"}  # nothing of the other one's
        assert spans[f"child-{who}"].parent_id == spans["step"].span_id
        assert trace.status == "OK"


def test_one_trace_object_in_two_threads_keeps_their_spans_apart() -> None:
    step = mlflow.trace("step")
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[str, str]] = {}

    def run(who: str, before_exit: threading.Event, after_enter: threading.Event) -> None:
        with step as span:
            span.set_inputs({"who": who})
            after_enter.set()
            with mlflow.start_span(f"child-{who}"):
                pass
            assert before_exit.wait(10)
        ended = span.end_time_ns is not None
        seen[who] = (span.span_id, "ended" if ended else "open")
        if who == "a":
            a_done.set()

    # A enters, B enters, A exits while B is inside, then B exits.
    a = threading.Thread(target=run, args=("a", b_inside, a_inside))
    b = threading.Thread(target=run, args=("b", a_done, b_inside))
    a.start()
    assert a_inside.wait(10)
    b.start()
    a.join(10)
    b.join(10)
    assert {v[1] for v in seen.values()} == {"ended"}
    _check(_by_root(), ["a", "b"])


def test_one_trace_object_in_interleaved_asyncio_tasks() -> None:
    step = mlflow.trace("step")

    async def run(who: str, entered: asyncio.Event, go: asyncio.Event) -> None:
        with step as span:
            span.set_inputs({"who": who})
            entered.set()
            await go.wait()
            with mlflow.start_span(f"child-{who}"):
                await asyncio.sleep(0)

    async def main() -> None:
        a_in, b_in, a_go, b_go = (asyncio.Event() for _ in range(4))
        task_a = asyncio.create_task(run("a", a_in, a_go))
        await a_in.wait()
        task_b = asyncio.create_task(run("b", b_in, b_go))
        await b_in.wait()
        a_go.set()  # A leaves first, while B is inside
        await task_a
        b_go.set()
        await task_b

    asyncio.run(main())
    traces = _by_root()
    _check(traces, ["a", "b"])
    a_step = next(s for s in traces["a"].spans if s.name == "step")
    b_child = next(s for s in traces["b"].spans if s.name == "child-b")
    assert a_step.end_time_ns is not None and a_step.end_time_ns <= b_child.start_time_ns


def test_reentering_the_same_object_nests() -> None:
    step = mlflow.trace("step")
    with step as outer, step as inner:
        assert inner.parent_id == outer.span_id
    assert outer.end_time_ns is not None and inner.end_time_ns is not None
    assert mlflow.get_current_active_span() is None


def test_a_decorated_function_shared_by_threads() -> None:
    @mlflow.trace(name="step")
    def work(who: str) -> str:
        with mlflow.start_span(f"child-{who}"):
            return who

    threads = [threading.Thread(target=work, args=(w,)) for w in ("a", "b", "c", "d")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    _check(_by_root(), ["a", "b", "c", "d"])
