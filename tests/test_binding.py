"""A traced call's inputs by parameter name: the generated fast path binds as the general one."""

from __future__ import annotations

from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.binding import MAX_GENERATED_PARAMETERS, Binder
from mlflow_trace_nb.testing.collector import Collector


def _plain(x: int, y: int = 2, z: Any = None) -> None: ...


class _Methods:
    def method(self, a: int, b: int = 2, *rest: int) -> None: ...


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (_plain, (1,)),
        (_plain, (1, 5)),
        (_plain, (1, 5, {"a": [1]})),
        (_Methods.method, (_Methods(), 1)),
        (_Methods.method, (_Methods(), 1, 2)),
    ],
)
def test_the_fast_path_binds_as_the_general_path(func: Any, args: tuple[Any, ...]) -> None:
    binder = Binder(func)
    assert binder.makers[len(args)] is not None  # the generated maker is the one used
    fast = binder.bind(args, {})
    assert fast == binder._bind_any(args, {})
    assert list(fast) == list(binder._bind_any(args, {}))  # same key order
    assert "self" not in fast


def test_containers_are_copied_on_the_fast_path() -> None:
    items = [1, 2]
    inputs = Binder(_plain).bind((items,), {})
    items.append(3)
    assert inputs == {"x": [1, 2], "y": 2, "z": None}


def test_odd_names_and_calls_take_the_general_path() -> None:
    names = ", ".join(f"p{i}" for i in range(MAX_GENERATED_PARAMETERS + 1))
    namespace: dict[str, Any] = {}
    exec(f"def wide({names}): pass", namespace)  # a signature too wide to generate for
    wide = Binder(namespace["wide"])
    assert wide.makers == ()
    assert wide.bind(tuple(range(MAX_GENERATED_PARAMETERS + 1)), {})["p3"] == 3

    binder = Binder(_plain)
    assert binder.bind((), {"x": 3}) == {"x": 3, "y": 2, "z": None}  # keywords
    assert binder.bind((1, 2, 3, 4), {}) == {"x": 1, "y": 2, "z": 3}  # too many: as before
    # names that would be code if they were not quoted are only ever dict keys
    hostile = Binder(lambda **kw: None)
    assert hostile.bind((), {"'}); import os; ({'": 1}) == {"'}); import os; ({'": 1}


def test_a_traced_call_records_inputs_from_the_fast_path() -> None:
    sink = Collector()
    mlflow.set_destination(sink)

    @mlflow.trace
    def add(x: int, y: int = 2) -> int:
        return x + y

    add(1)
    add(1, 5)
    mlflow.flush()
    assert [r.inputs for r in sink.items] == [{"x": 1, "y": 2}, {"x": 1, "y": 5}]
