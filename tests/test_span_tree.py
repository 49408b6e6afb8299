"""span_tree: parent indices of live and stored spans, and a lazy, iterative preorder."""

from __future__ import annotations

import sys

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.cost import trace_cost
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.span_tree import children_of, parent_indices, preorder
from tests.helpers import last_trace


def test_live_and_stored_spans_give_the_same_tree() -> None:
    with mlflow.start_span("root"):
        with mlflow.start_span("a"), mlflow.start_span("a1"):
            pass
        with mlflow.start_span("b") as span:
            span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 2, "output_tokens": 3})
    live = RUNTIME.last_trace
    assert live is not None
    stored = last_trace()
    live_spans, stored_spans = list(live.spans), list(stored.spans)
    assert [s.name for s in live_spans] == [s.name for s in stored_spans]
    assert parent_indices(live_spans) == parent_indices(stored_spans) == [-1, 0, 1, 0]
    order = [(live_spans[i].name, d) for i, d in preorder(parent_indices(live_spans))]
    assert order == [("root", 0), ("a", 1), ("a1", 2), ("b", 1)]
    assert trace_cost(live).total.to_dict() == trace_cost(stored).total.to_dict()


def test_preorder_is_iterative_lazy_and_drops_cycles() -> None:
    depth = sys.getrecursionlimit() * 3
    chain = [-1, *range(depth - 1)]  # span i's parent is i - 1
    walk = preorder(chain)
    assert next(walk) == (0, 0)  # lazy: nothing else computed yet
    assert list(walk)[-1] == (depth - 1, depth - 1)
    cycle = [-1, 2, 1]  # spans 1 and 2 name each other: unreachable from a root
    assert list(preorder(cycle)) == [(0, 0)]
    roots, children = children_of([-1, 0, 0, 3])  # span 3 names itself: a root
    assert roots == [0, 3] and children[0] == [1, 2]


def test_siblings_are_ordered_by_start() -> None:
    parents = [-1, 0, 0, 0]
    starts = [0, 30, 10, 20]
    assert [i for i, _ in preorder(parents, starts)] == [0, 2, 3, 1]
