"""Nothing a user passes, and nothing that goes wrong inside the tracer, breaks traced code."""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.serialization import MAX_STRING_CHARS
from tests.helpers import last_trace


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    def __str__(self) -> str:
        raise RuntimeError("str exploded")


class BadKey:
    def __hash__(self) -> int:
        return 1

    def __str__(self) -> str:
        raise ValueError("no str for you")


def circular() -> dict[str, Any]:
    data: dict[str, Any] = {"name": "loop"}
    data["self"] = data
    return data


HOSTILE: dict[str, Any] = {
    "bad_repr": BadRepr(),
    "circular": circular(),
    "huge": "x" * 5_000_000,
    "lock": threading.Lock(),
    "bytes": b"\x00\xff" * 100,
    "nan": [math.nan, math.inf, -math.inf],
    "non_string_keys": {1: "a", (2, 3): "b", None: "c", BadKey(): "d"},
    "surrogate": "\ud800 lone",
    "html": "<img src=x onerror=alert(1)>",
    "generator": (i for i in range(3)),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_inputs_outputs_and_attributes(kind: str) -> None:
    value = HOSTILE[kind]

    @mlflow.trace
    def f(payload: Any) -> Any:
        mlflow.tracing.set_span_attribute("payload", payload)
        mlflow.tracing.log_span_event("event", {"payload": payload})
        return payload

    assert f(value) is value
    span = last_trace().spans[0]
    # everything read back is plain JSON data
    json.dumps([span.inputs, span.outputs, span.attributes], allow_nan=False)
    assert "payload" in span.attributes


def test_huge_strings_are_truncated_with_a_visible_marker() -> None:
    @mlflow.trace
    def f(text: str) -> int:
        return len(text)

    f("y" * 5_000_000)
    recorded = last_trace().spans[0].inputs["text"]
    assert len(recorded) < MAX_STRING_CHARS + 100
    assert "truncated" in recorded


def test_user_objects_fall_back_to_a_placeholder() -> None:
    @mlflow.trace
    def f(obj: Any) -> None:
        return None

    f(BadRepr())
    text = json.dumps(last_trace().spans[0].inputs)
    assert "unserializable" in text or "BadRepr" in text


def test_exporter_failure_never_reaches_user_code(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def export(self, items: list[Any]) -> None:
            raise RuntimeError("exporter down")

        def shutdown(self) -> None:
            raise RuntimeError("and cannot shut down")

    mlflow.tracing.set_destination(["memory", Broken()])

    @mlflow.trace
    def f() -> int:
        return 1

    for _ in range(3):
        assert f() == 1
    assert mlflow.flush()
    assert len(mlflow.search_traces()) == 3  # the healthy destination got everything


def test_failing_hooks_never_reach_user_code() -> None:
    def bad_hook(_: Any) -> None:
        raise RuntimeError("hook failed")

    RUNTIME.span_end_hooks.append(bad_hook)
    RUNTIME.trace_start_hooks.append(bad_hook)
    RUNTIME.trace_end_hooks.append(bad_hook)
    try:

        @mlflow.trace
        def f() -> int:
            return 2

        assert f() == 2
        assert last_trace().spans[0].outputs == 2  # a broken hook loses no trace
    finally:
        RUNTIME.span_end_hooks.remove(bad_hook)
        RUNTIME.trace_start_hooks.remove(bad_hook)
        RUNTIME.trace_end_hooks.remove(bad_hook)


def test_tracer_failure_at_span_start_runs_the_function_untraced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow_trace_nb._internal.tracer.decorator as decorator

    def broken_open(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("tracer bug")

    monkeypatch.setattr(decorator, "open_span", broken_open)
    monkeypatch.setattr(decorator, "LiveSpan", broken_open)

    @mlflow.trace
    def f(x: int) -> int:
        return x + 1

    @mlflow.trace
    async def g(x: int) -> int:
        return x + 2

    @mlflow.trace
    def h(x: int):  # type: ignore[no-untyped-def]
        yield x

    assert f(1) == 2
    import asyncio

    assert asyncio.run(g(1)) == 3
    assert list(h(4)) == [4]
    assert mlflow.get_last_active_trace() is None
