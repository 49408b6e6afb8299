"""instrument_langchain() and sync ``batch``: the items are siblings, never nested in one
another (real langchain-core runnables, and a real LangGraph graph when it is installed).

``RunnableSequence.batch`` reports the start of every item from the caller's thread before it
runs any, so each item's span used to become the active span the next item nested under."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import Runnable, RunnableLambda

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span, Trace
from mlflow_trace_nb.instrumentation import instrument_langchain, uninstrument_langchain


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_langchain()
    yield
    uninstrument_langchain()


def _traces() -> list[Trace]:
    found = mlflow.search_traces(return_type="list")
    assert isinstance(found, list)
    return found


def _children(trace: Trace, parent: Span) -> list[Span]:
    return [s for s in trace.spans if s.parent_id == parent.span_id]


def _sequence() -> Runnable[Any, Any]:
    return RunnableLambda(lambda x: x + 1, name="add") | RunnableLambda(
        lambda x: x * 2, name="double"
    )


def _assert_items_are_siblings(trace: Trace, parent: Span, item: str, steps: list[str]) -> None:
    items = _children(trace, parent)
    assert [s.name for s in items] == [item] * 3
    for span in items:
        assert sorted(s.name for s in _children(trace, span)) == sorted(steps)


@pytest.mark.parametrize("max_concurrency", [None, 1])
def test_sequence_batch_under_a_user_root_gives_the_root_three_children(
    max_concurrency: int | None,
) -> None:
    chain = _sequence()

    @mlflow.trace
    def answer_all() -> list[int]:
        return chain.batch([1, 2, 3], config={"max_concurrency": max_concurrency})

    assert answer_all() == [4, 6, 8]
    assert mlflow.get_current_active_span() is None
    (trace,) = _traces()
    root = trace.data.root
    assert root is not None and root.name == "answer_all"
    _assert_items_are_siblings(trace, root, "RunnableSequence", ["add", "double"])
    inputs = sorted(s.inputs for s in _children(trace, root))
    assert inputs == [1, 2, 3]


def test_sequence_batch_without_a_root_gives_one_trace_per_item() -> None:
    assert _sequence().batch([1, 2, 3]) == [4, 6, 8]
    assert mlflow.get_current_active_span() is None
    traces = _traces()
    assert len(traces) == 3
    for trace in traces:
        root = trace.data.root
        assert root is not None and root.name == "RunnableSequence"
        assert sorted(s.name for s in _children(trace, root)) == ["add", "double"]
    assert sorted(t.data.root.outputs for t in traces if t.data.root) == [4, 6, 8]


@pytest.mark.parametrize("rooted", [False, True])
def test_lambda_batch_items_are_siblings(rooted: bool) -> None:
    double = RunnableLambda(lambda x: x * 2, name="double")
    if rooted:
        with mlflow.start_span("root"):
            assert double.batch([1, 2, 3]) == [2, 4, 6]
        (trace,) = _traces()
        root = trace.data.root
        assert root is not None
        assert [s.name for s in _children(trace, root)] == ["double"] * 3
    else:
        assert double.batch([1, 2, 3]) == [2, 4, 6]
        traces = _traces()
        assert [len(t.spans) for t in traces] == [1, 1, 1]


def test_batch_as_completed_and_a_batch_inside_a_run_nest_under_their_parent() -> None:
    chain = _sequence()
    fan_out = RunnableLambda(lambda xs: chain.batch(xs), name="fan_out")
    with mlflow.start_span("root"):
        assert sorted(r for _, r in chain.batch_as_completed([1, 2, 3])) == [4, 6, 8]
        assert fan_out.invoke([1, 2, 3]) == [4, 6, 8]
    (trace,) = _traces()
    root = trace.data.root
    assert root is not None
    assert sorted(s.name for s in _children(trace, root)) == ["RunnableSequence"] * 3 + ["fan_out"]
    (fan,) = [s for s in trace.spans if s.name == "fan_out"]
    _assert_items_are_siblings(trace, fan, "RunnableSequence", ["add", "double"])


class _State(TypedDict):
    n: int


def _graph() -> Any:
    graph_module = pytest.importorskip("langgraph.graph")
    graph = graph_module.StateGraph(_State)
    graph.add_node("inc", lambda s: {"n": s["n"] + 1})
    graph.add_node("double", lambda s: {"n": s["n"] * 2})
    graph.add_edge(graph_module.START, "inc")
    graph.add_edge("inc", "double")
    graph.add_edge("double", graph_module.END)
    return graph.compile()


@pytest.mark.parametrize("rooted", [False, True])
def test_langgraph_batch_items_are_siblings(rooted: bool) -> None:
    app = _graph()
    inputs = [{"n": 1}, {"n": 2}, {"n": 3}]
    if rooted:
        with mlflow.start_span("root"):
            assert app.batch(inputs) == [{"n": 4}, {"n": 6}, {"n": 8}]
        (trace,) = _traces()
        root = trace.data.root
        assert root is not None
        _assert_items_are_siblings(trace, root, "LangGraph", ["inc", "double"])
    else:
        assert app.batch(inputs) == [{"n": 4}, {"n": 6}, {"n": 8}]
        traces = _traces()
        assert len(traces) == 3
        assert all(t.data.root is not None and t.data.root.name == "LangGraph" for t in traces)


def test_a_sequence_ending_in_a_graph_batches_into_siblings() -> None:
    chain = RunnableLambda(lambda x: {"n": x}, name="wrap") | _graph()
    with mlflow.start_span("root"):
        assert chain.batch([1, 2, 3]) == [{"n": 4}, {"n": 6}, {"n": 8}]
    (trace,) = _traces()
    root = trace.data.root
    assert root is not None
    _assert_items_are_siblings(trace, root, "RunnableSequence", ["wrap", "LangGraph"])


def test_chat_openai_batch_gives_one_model_span_per_item_with_its_openai_call(
    llm_server: Any,
) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    mlflow.instrument_openai()
    try:
        model = langchain_openai.ChatOpenAI(
            model="gpt-4o-mini", base_url=llm_server.openai_base_url, api_key="t", max_retries=0
        )
        with mlflow.start_span("root"):
            answers = model.batch(["a", "b", "c"])
    finally:
        mlflow.uninstrument_openai()
    assert [a.content for a in answers] == ["Echo: a", "Echo: b", "Echo: c"]
    (trace,) = _traces()
    root = trace.data.root
    assert root is not None
    _assert_items_are_siblings(trace, root, "ChatOpenAI", ["openai.chat.completions.create"])
