"""Traced generators, trace state and span order, compared with real MLflow 3: the same code
run under ``mlflow`` and under this package, and what each records read back.

- A traced generator (sync and async) gets one ``mlflow.chunk.item.{i}`` event per yielded
  item (``mlflow.chunk.value``: the item's JSON text); outputs are the items, or
  ``output_reducer(items)``; a generator that fails part-way has no outputs, the chunk events
  of what it yielded and an ``exception`` event.
- ``update_current_trace(state=...)`` sets the trace's state, not its root span's status.
- ``trace.data.spans`` is the root first, then the other spans by start time.

Not compared (MLflow leaves the span open, so there is nothing to compare): a generator the
consumer closes early, or one that does not handle an exception thrown into it. Here the
first ends OK with what it yielded, the second ERROR.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import mlflow_trace_nb
from tests.compat.both import traced_by_both

pytest.importorskip("mlflow")


def _value(code: Any) -> Any:
    return getattr(code, "value", code)


def _recorded(span: Any) -> dict[str, Any]:
    """What a span records that both packages must agree on (ids and times aside)."""
    events = [
        (e.name, e.attributes if e.name != "exception" else e.attributes["exception.message"])
        for e in span.events
    ]
    return {
        "name": span.name,
        "status": _value(span.status.status_code),
        "outputs": span.outputs,
        "events": events,
    }


def _same_spans(real_mlflow: Any, define: Callable[[Any], Callable[[], Any]]) -> Any:
    ours, theirs = traced_by_both(real_mlflow, define)
    assert [_recorded(s) for s in ours.data.spans] == [_recorded(s) for s in theirs.data.spans]
    assert _value(ours.info.state) == _value(theirs.info.state)
    return ours


ITEMS: list[Any] = [0, "é \u2603", {"k": [1, 2.5, None, True], "n": {"x": "y"}}, None, [3, "a"]]


def test_a_generator_records_mlflows_chunk_events(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def stream(n: int) -> Any:
            yield from ITEMS[:n]

        return lambda: list(stream(len(ITEMS)))

    ours = _same_spans(real_mlflow, define)
    span = ours.data.spans[0]
    assert span.outputs == ITEMS
    assert [e.name for e in span.events] == [f"mlflow.chunk.item.{i}" for i in range(5)]
    assert span.events[1].attributes == {"mlflow.chunk.value": '"\\u00e9 \\u2603"'}
    assert span.events[2].attributes["mlflow.chunk.value"] == (
        '{"k": [1, 2.5, null, true], "n": {"x": "y"}}'
    )


def test_an_async_generator_records_mlflows_chunk_events(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        async def stream() -> Any:
            for item in ITEMS:
                yield item

        async def consume() -> list[Any]:
            return [item async for item in stream()]

        return lambda: asyncio.run(consume())

    _same_spans(real_mlflow, define)


def test_an_output_reducer_makes_the_outputs_and_keeps_the_events(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace(output_reducer=lambda chunks: "".join(chunks))
        def stream() -> Any:
            yield "Hel"
            yield "lo"

        return lambda: list(stream())

    ours = _same_spans(real_mlflow, define)
    assert ours.data.spans[0].outputs == "Hello"
    assert len(ours.data.spans[0].events) == 2


def test_a_generator_failing_part_way_is_recorded_as_mlflow_records_it(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def inner(i: int) -> int:
            return i

        @mlflow.trace
        def stream() -> Any:
            yield inner(1)
            yield {"partial": True}
            raise ValueError("stream broke")

        return lambda: list(stream())

    ours = _same_spans(real_mlflow, define)
    root = ours.data.spans[0]
    assert root.outputs is None and _value(root.status.status_code) == "ERROR"
    assert [e.name for e in root.events] == [
        "mlflow.chunk.item.0",
        "mlflow.chunk.item.1",
        "exception",
    ]


def test_chunk_events_of_nested_generators(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def words() -> Any:
            yield "a"
            yield "b"

        @mlflow.trace(output_reducer=len)
        def sentence() -> Any:
            for word in words():
                yield word.upper()

        return lambda: list(sentence())

    _same_spans(real_mlflow, define)


# update_current_trace(state=...) --------------------------------------------------------------


def test_trace_state_error_in_a_function_that_returns(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def judged() -> str:
            mlflow.update_current_trace(state="ERROR")
            return "done"

        return judged

    ours = _same_spans(real_mlflow, define)
    assert _value(ours.info.state) == "ERROR"
    assert _value(ours.data.spans[0].status.status_code) == "OK"
    assert ours.data.spans[0].outputs == "done"


def test_trace_state_ok_in_a_function_that_raises(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def child() -> None:
            pass

        @mlflow.trace
        def failing() -> None:
            child()
            mlflow.update_current_trace(state="OK")
            raise ValueError("no")

        return failing

    ours = _same_spans(real_mlflow, define)
    assert _value(ours.info.state) == "OK"
    assert [_value(s.status.status_code) for s in ours.data.spans] == ["ERROR", "OK"]


def test_trace_state_set_with_the_enum_and_by_a_start_span_block(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        def run() -> None:
            with mlflow.start_span("outer"), mlflow.start_span("inner"):
                mlflow.update_current_trace(state=mlflow.entities.TraceState.ERROR)

        return run

    ours = _same_spans(real_mlflow, define)
    assert _value(ours.info.state) == "ERROR"


# Span order on read -------------------------------------------------------------------------


def test_the_root_comes_first_even_when_a_child_started_before_it(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        def run() -> None:
            now = time.time_ns()
            root = mlflow.start_span_no_context("root", start_time_ns=now)
            for name, start in (("late", 5_000), ("early", 2_000), ("before_root", -500)):
                child = mlflow.start_span_no_context(
                    name, parent_span=root, start_time_ns=now + start
                )
                child.end(end_time_ns=now + start + 100)
            grand = mlflow.start_span_no_context(
                "grandchild", parent_span=root, start_time_ns=now + 1_000
            )
            grand.end(end_time_ns=now + 1_500)
            root.end(end_time_ns=now + 10_000)

        return run

    ours = _same_spans(real_mlflow, define)
    names = [s.name for s in ours.data.spans]
    assert names == ["root", "before_root", "grandchild", "early", "late"]


def test_spans_started_out_of_end_order_read_in_start_order(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        @mlflow.trace
        def root() -> None:
            parent = mlflow.get_current_active_span()
            b = mlflow.start_span_no_context("B", parent_span=parent)
            a = mlflow.start_span_no_context("A", parent_span=parent)
            a.end()
            c = mlflow.start_span_no_context("C", parent_span=b)
            c.end()
            b.end()

        return root

    ours = _same_spans(real_mlflow, define)
    assert [s.name for s in ours.data.spans] == ["root", "B", "A", "C"]


def test_an_added_earlier_trace_reads_after_the_root(real_mlflow: Any) -> None:
    def define(mlflow: Any) -> Callable[[], Any]:
        def run() -> None:
            with mlflow.start_span("other"), mlflow.start_span("other_child"):
                pass
            other = mlflow.get_trace(mlflow.get_last_active_trace_id())
            time.sleep(0.002)
            with mlflow.start_span("host"):
                with mlflow.start_span("first"):
                    pass
                mlflow.add_trace(other)
                with mlflow.start_span("last"):
                    pass

        return run

    ours, theirs = traced_by_both(real_mlflow, define)
    names = [s.name for s in ours.data.spans]
    assert names == [s.name for s in theirs.data.spans]
    assert names == ["host", "other", "other_child", "first", "last"]
    for module in (mlflow_trace_nb, real_mlflow):  # the search frame's spans: the same order
        frame = module.search_traces(filter_string="name = 'host'")
        assert [s["name"] for s in frame["spans"][0]] == names, module.__name__
