"""The decorator and context manager: every kind of callable, inputs, outputs, statuses."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.tracing import SpanStatus, SpanType, mlflow_trace
from tests.helpers import by_name, last_trace, set_attributes


def test_bare_decorator_records_inputs_by_name_with_defaults_and_output() -> None:
    @mlflow.trace
    def add(x: int, y: int = 2, *rest: int, scale: int = 1, **extra: Any) -> int:
        return (x + y + sum(rest)) * scale

    assert add(1, 3, 4, 5, scale=2, note="n") == 26
    (span,) = last_trace().spans
    assert span.name == "add"
    assert span.span_type == SpanType.UNKNOWN
    assert span.inputs == {"x": 1, "y": 3, "rest": [4, 5], "scale": 2, "note": "n"}
    assert span.outputs == 26
    assert span.status_code == SpanStatus.OK
    assert span.parent_id is None

    add(1)
    assert last_trace().spans[0].inputs == {"x": 1, "y": 2, "scale": 1}


def test_decorator_with_arguments_and_mlflow_trace_spelling() -> None:
    @mlflow.trace(name="embed", span_type=SpanType.EMBEDDING, attributes={"model": "m1"})
    def get_embeddings(texts: list[str]) -> list[list[float]]:
        return [[0.1] for _ in texts]

    @mlflow_trace(span_type=SpanType.RETRIEVER)
    def retrieve(query: str, top_k: int = 2) -> list[str]:
        return [f"doc{i}" for i in range(top_k)]

    @mlflow_trace
    def plain() -> str:
        return "p"

    get_embeddings(["a"])
    span = last_trace().spans[0]
    assert (span.name, span.span_type) == ("embed", "EMBEDDING")
    # the function's name as MLflow 3 records it, beside the decorator's attributes
    assert set_attributes(span) == {"model": "m1", "mlflow.spanFunctionName": "get_embeddings"}
    retrieve("q")
    span = last_trace().spans[0]
    assert (span.name, span.span_type, span.outputs) == ("retrieve", "RETRIEVER", ["doc0", "doc1"])
    plain()
    assert last_trace().spans[0].name == "plain"


def test_wraps_metadata_and_signature_are_kept() -> None:
    def original(a: int, b: str = "x") -> str:
        """Docstring."""
        return b * a

    traced = mlflow.trace(original)
    assert traced.__name__ == "original"
    assert traced.__doc__ == "Docstring."
    assert traced.__wrapped__ is original
    assert inspect.signature(traced) == inspect.signature(original)

    async def coro(a: int) -> int:
        return a

    traced_coro = mlflow.trace(coro)
    assert inspect.iscoroutinefunction(traced_coro)
    assert inspect.signature(traced_coro) == inspect.signature(coro)


def test_nested_calls_build_a_tree() -> None:
    @mlflow.trace(span_type=SpanType.RETRIEVER)
    def retrieve(q: str) -> list[str]:
        return ["d"]

    @mlflow.trace(span_type=SpanType.LLM)
    def generate(q: str, docs: list[str]) -> str:
        return "answer"

    @mlflow.trace(span_type=SpanType.CHAIN)
    def rag(q: str) -> str:
        return generate(q, retrieve(q))

    rag("q")
    trace = last_trace()
    spans = by_name(trace)
    assert spans["retrieve"].parent_id == spans["rag"].span_id
    assert spans["generate"].parent_id == spans["rag"].span_id
    assert {s.trace_id for s in trace.spans} == {trace.request_id}
    assert trace.name == "rag" and trace.status == "OK"
    assert trace.request_id.startswith("tr-") and len(trace.request_id) == 35
    assert [s.name for s in trace.spans] == ["rag", "retrieve", "generate"]  # start order


def test_context_manager_spans_nest_and_carry_values() -> None:
    with mlflow.tracing.trace("outer", SpanType.CHAIN, inputs={"q": 1}) as outer:
        with mlflow.start_span("inner", span_type=SpanType.TOOL) as inner:
            inner.set_attribute("k", "v")
            inner.set_outputs({"r": 2})
        outer.set_outputs("done")
    spans = by_name(last_trace())
    assert spans["outer"].inputs == {"q": 1}
    assert spans["outer"].outputs == "done"
    assert spans["inner"].parent_id == spans["outer"].span_id
    assert set_attributes(spans["inner"]) == {"k": "v"}
    assert spans["inner"].outputs == {"r": 2}
    assert mlflow.get_current_active_span() is None


def test_user_exception_propagates_unchanged_and_is_recorded() -> None:
    error = ValueError("Empty data provided")

    @mlflow.trace
    def risky() -> None:
        raise error

    with pytest.raises(ValueError) as caught:
        risky()
    assert caught.value is error
    (span,) = last_trace().spans
    assert span.status_code == SpanStatus.ERROR
    assert last_trace().status == "ERROR"
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "Empty data provided"
    assert "raise error" in event.attributes["exception.stacktrace"]


def test_exception_recorded_by_hand_then_reraised_is_logged_once() -> None:
    with pytest.raises(KeyError), mlflow.tracing.trace("op") as span:
        try:
            raise KeyError("k")
        except KeyError as exc:
            mlflow.tracing.add_span_exception(exc)
            assert span.status_code == "ERROR"
            raise
    (span,) = last_trace().spans
    assert [e.name for e in span.events] == ["exception"]


def test_keyboard_interrupt_marks_cancelled() -> None:
    @mlflow.trace
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert last_trace().status == SpanStatus.CANCELLED


def test_asyncio_cancellation_marks_cancelled() -> None:
    @mlflow.trace
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert last_trace().status == SpanStatus.CANCELLED


def test_async_function() -> None:
    @mlflow.trace(span_type=SpanType.LLM)
    async def call(prompt: str) -> str:
        await asyncio.sleep(0)
        return prompt.upper()

    assert asyncio.run(call("hi")) == "HI"
    span = last_trace().spans[0]
    assert (span.inputs, span.outputs, span.span_type) == ({"prompt": "hi"}, "HI", "LLM")


def test_generator_is_traced_over_its_whole_run() -> None:
    @mlflow.trace
    def child(i: int) -> int:
        return i

    @mlflow.trace
    def stream(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield child(i)

    gen = stream(3)
    assert mlflow.get_last_active_trace() is None  # nothing runs before iteration
    assert mlflow.get_current_active_span() is None
    assert list(gen) == [0, 1, 2]
    trace = last_trace()
    root = trace.spans[0]
    assert root.name == "stream" and root.outputs == [0, 1, 2]
    assert [s.parent_id for s in trace.spans[1:]] == [root.span_id] * 3


def test_generator_context_does_not_leak_between_yields() -> None:
    @mlflow.trace
    def stream():  # type: ignore[no-untyped-def]
        yield 1
        yield 2

    gen = stream()
    next(gen)
    assert mlflow.get_current_active_span() is None  # the caller is not inside the span
    gen.close()
    span = last_trace().spans[0]
    assert span.status_code == "OK" and span.outputs == [1]


def test_generator_send_and_throw_are_forwarded() -> None:
    @mlflow.trace
    def echo():  # type: ignore[no-untyped-def]
        received = []
        try:
            while True:
                value = yield len(received)
                received.append(value)
        except RuntimeError:
            yield "recovered"
        return received

    gen = echo()
    assert next(gen) == 0
    assert gen.send("a") == 1
    assert gen.throw(RuntimeError("x")) == "recovered"
    with pytest.raises(StopIteration):
        next(gen)
    span = last_trace().spans[0]
    assert span.outputs == [0, 1, "recovered"] and span.status_code == "OK"


def test_generator_error_is_recorded() -> None:
    @mlflow.trace
    def broken():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        list(broken())
    span = last_trace().spans[0]
    # as MLflow: no outputs, the chunk events of what it yielded, then the exception
    assert span.status_code == "ERROR" and span.outputs is None
    assert [e.name for e in span.events] == ["mlflow.chunk.item.0", "exception"]


def test_async_generator() -> None:
    @mlflow.trace
    async def inner(i: int) -> int:
        return i * 10

    @mlflow.trace(span_type=SpanType.CHAT_MODEL)
    async def stream(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield await inner(i)

    async def main() -> list[int]:
        return [x async for x in stream(2)]

    assert asyncio.run(main()) == [0, 10]
    trace = last_trace()
    root = trace.spans[0]
    assert root.outputs == [0, 10] and root.span_type == "CHAT_MODEL"
    assert all(s.parent_id == root.span_id for s in trace.spans[1:])


def test_methods_classmethods_staticmethods() -> None:
    class Agent:
        def __init__(self) -> None:
            self.calls = 0

        @mlflow.trace
        def run(self, task: str) -> str:
            self.calls += 1
            return task

        @mlflow.trace
        @classmethod
        def build(cls, name: str) -> str:
            return name

        @classmethod
        @mlflow.trace
        def build2(cls, name: str) -> str:
            return name

        @mlflow.trace
        @staticmethod
        def helper(x: int) -> int:
            return x + 1

    agent = Agent()
    assert agent.run("t") == "t" and agent.calls == 1
    assert last_trace().spans[0].inputs == {"task": "t"}  # self is not recorded
    assert Agent.build("b") == "b"
    assert last_trace().spans[0].inputs == {"name": "b"}
    assert Agent.build2("c") == "c"
    assert last_trace().spans[0].inputs == {"name": "c"}
    assert Agent.helper(1) == 2 and agent.helper(2) == 3
    assert last_trace().spans[0].inputs == {"x": 2}


def test_inputs_are_captured_at_call_time() -> None:
    @mlflow.trace
    def chat(messages: list[dict[str, str]]) -> str:
        messages.append({"role": "assistant", "content": "hi"})
        return "hi"

    history = [{"role": "user", "content": "hello"}]
    chat(history)
    assert last_trace().spans[0].inputs == {"messages": [{"role": "user", "content": "hello"}]}


def test_trace_rejects_bad_arguments_clearly() -> None:
    with pytest.raises(TypeError, match="attributes must be a dict"):
        mlflow.trace(name="x", attributes=["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a function"):
        mlflow.trace(name="x")(42)  # type: ignore[type-var]


def test_span_setters_and_status() -> None:
    with mlflow.start_span("s") as span:
        span.set_inputs({"a": 1})
        span.set_attributes({"x": 1, "y": [1, 2]})
        span.add_event("retry", {"attempt": 2})
        span.set_status("TIMEOUT", "took too long")
        with pytest.raises(ValueError, match="BOGUS is not a valid SpanStatusCode value"):
            span.set_status("BOGUS")
    recorded = last_trace().spans[0]
    assert recorded.status_code == "TIMEOUT" and recorded.status_message == "took too long"
    assert set_attributes(recorded) == {"x": 1, "y": [1, 2]}
    assert [(e.name, e.attributes) for e in recorded.events] == [("retry", {"attempt": 2})]
    assert recorded.inputs == {"a": 1}


def test_start_span_and_end_span() -> None:
    root = mlflow.start_span("root")
    child = mlflow.start_span("child")
    assert mlflow.get_current_active_span() is child
    mlflow.end_span()
    assert mlflow.get_current_active_span() is root
    root.end(outputs="out")
    assert mlflow.get_current_active_span() is None
    spans = by_name(last_trace())
    assert spans["child"].parent_id == spans["root"].span_id
    assert spans["root"].outputs == "out"


def test_child_ending_after_root_is_written_as_a_late_span() -> None:
    root = mlflow.start_span("root")
    straggler = mlflow.start_span("straggler")
    root.end()  # the root ends first: the trace is final, the straggler not yet in it
    trace = mlflow.get_trace(root.trace_id)
    assert trace is not None
    assert trace.info.status == "OK"
    assert "straggler" not in by_name(trace)  # spans are written as they end
    straggler.end()
    trace = mlflow.get_trace(root.trace_id)
    assert trace is not None
    assert by_name(trace)["straggler"].status_code == "OK"
    assert by_name(trace)["straggler"].end_time_ns is not None


def test_setters_after_end_are_ignored() -> None:
    with mlflow.start_span("s") as span:
        pass
    span.set_attribute("late", 1)
    span.set_outputs("late")
    recorded = last_trace().spans[0]
    assert set_attributes(recorded) == {} and recorded.outputs is None


def test_timings_are_consistent() -> None:
    @mlflow.trace
    def child() -> None:
        pass

    @mlflow.trace
    def root() -> None:
        child()

    root()
    trace = last_trace()
    spans = by_name(trace)
    assert spans["root"].start_time_ns <= spans["child"].start_time_ns
    assert spans["child"].end_time_ns <= spans["root"].end_time_ns  # type: ignore[operator]
    assert trace.timestamp_ms == spans["root"].start_time_ns // 1_000_000
    assert trace.execution_time_ms is not None and trace.execution_time_ms >= 0


def test_inputs_binding_covers_every_parameter_kind() -> None:
    @mlflow.trace
    def f(a: int, /, b: int = 2, *rest: int, c: int = 3, **extra: int) -> None:
        return None

    f(1)
    assert last_trace().spans[0].inputs == {"a": 1, "b": 2, "c": 3}
    f(1, 5, 6, 7, c=8, d=9)
    assert last_trace().spans[0].inputs == {"a": 1, "b": 5, "rest": [6, 7], "c": 8, "d": 9}

    @mlflow.trace
    def g(x: int, y: int = 2, z: str = "z") -> None:
        return None

    g(1)
    assert last_trace().spans[0].inputs == {"x": 1, "y": 2, "z": "z"}
    g(1, 5)
    assert last_trace().spans[0].inputs == {"x": 1, "y": 5, "z": "z"}
    g(y=7, x=0)
    assert last_trace().spans[0].inputs == {"y": 7, "x": 0, "z": "z"}


def test_decorating_a_class_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match="not classes"):

        @mlflow.trace
        class Agent:
            pass


def test_callable_objects_and_partials_can_be_traced() -> None:
    import functools

    class Scorer:
        def __call__(self, text: str) -> int:
            return len(text)

    traced = mlflow.trace(name="scorer")(Scorer())
    assert traced("abc") == 3
    assert last_trace().spans[0].inputs == {"text": "abc"}
    double = mlflow.trace(functools.partial(lambda a, b: a * b, 2))
    assert double(b=5) == 10
    assert last_trace().spans[0].outputs == 10


def test_a_traced_functions_shared_attributes_are_never_changed() -> None:
    """Spans of one traced function start from one shared attribute dict (the function's
    name, the decorator's attributes, snapshotted at decoration); a span that sets an
    attribute changes its own copy only, and each span reads back what it recorded."""
    tags = ["a"]

    @mlflow.trace(attributes={"tags": tags})
    def step(i: int) -> int:
        if i == 1:
            mlflow.get_current_active_span().set_attribute("only", "one")
        return i

    tags.append("b")  # after decoration: not recorded (MLflow reads them at decoration too)
    for i in range(3):
        step(i)
    mlflow.flush()
    traces = mlflow.search_traces(return_type="list", order_by=["timestamp_ms ASC"])
    recorded = [set_attributes(t.data.spans[0]) for t in traces[-3:]]
    base = {"tags": ["a"], "mlflow.spanFunctionName": "step"}
    assert recorded == [base, {**base, "only": "one"}, base]
