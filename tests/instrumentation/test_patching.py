"""The shared patching mechanism: once per name, undo restores exactly what was there, and
no failure of ours (describe, finish) changes what the patched call returns or raises."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation._llm_common import async_wrapper, sync_wrapper
from mlflow_trace_nb.instrumentation._patching import (
    Instrumentation,
    SpanRequest,
    activate,
    deactivate,
    end_span_safely,
    is_active,
)
from tests.helpers import last_trace


class Base:
    def greet(self, name: str) -> str:
        return f"hello {name}"

    async def agreet(self, name: str) -> str:
        return f"hello {name}"

    @staticmethod
    def static(x: int) -> int:
        return x + 1

    @classmethod
    def klass(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"


class Child(Base):
    pass


def describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    return SpanRequest("greet", "LLM", {"name": args[-1]})


def finish(span: LiveSpan, result: Any) -> Any:
    span.set_outputs(result)
    end_span_safely(span)
    return result


def broken_describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    raise RuntimeError("describe bug")


def broken_finish(span: LiveSpan, result: Any) -> Any:
    raise RuntimeError("finish bug")


@pytest.fixture(autouse=True)
def clean_up() -> Any:
    originals = {k: v for k, v in vars(Base).items()}
    yield
    deactivate("test")
    assert {k: v for k, v in vars(Base).items()} == originals
    assert "greet" not in vars(Child)


def install(target: type = Base, d: Any = describe, f: Any = finish) -> Any:
    def installer(handle: Instrumentation) -> None:
        handle.wrap(target, "greet", sync_wrapper(d, f))
        handle.wrap(target, "agreet", async_wrapper(d, f))

    return installer


def test_activating_twice_patches_once_and_returns_the_same_handle() -> None:
    first = activate("test", install())
    second = activate("test", install())
    assert first is second and is_active("test")
    assert Base().greet("ann") == "hello ann"
    mlflow.flush()
    trace = last_trace()
    assert [s.name for s in trace.spans] == ["greet"]  # one span, not two nested
    assert trace.spans[0].inputs == {"name": "ann"} and trace.spans[0].outputs == "hello ann"


def test_undo_restores_the_original_function_and_stops_tracing() -> None:
    original = vars(Base)["greet"]
    handle = activate("test", install())
    assert vars(Base)["greet"] is not original
    handle.undo()
    assert vars(Base)["greet"] is original and not is_active("test")
    handle.undo()  # idempotent
    assert deactivate("test") is False
    Base().greet("bob")
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None


def test_an_inherited_attribute_is_removed_again_not_copied_onto_the_subclass() -> None:
    handle = activate("test", install(Child))
    assert "greet" in vars(Child)
    assert Child().greet("cy") == "hello cy"
    assert Base().greet("cy") == "hello cy"  # the parent is untouched
    handle.undo()
    assert "greet" not in vars(Child) and Child.greet is Base.greet


def test_static_and_class_methods_survive_the_round_trip() -> None:
    static, klass = vars(Base)["static"], vars(Base)["klass"]

    def installer(handle: Instrumentation) -> None:
        handle.wrap(Base, "static", lambda original: staticmethod(lambda x: original(x) * 10))
        handle.wrap(Base, "klass", lambda original: original)

    handle = activate("test", installer)
    assert Base.static(1) == 20
    handle.undo()
    assert vars(Base)["static"] is static and vars(Base)["klass"] is klass
    assert Base.static(1) == 2 and Child.klass(3) == "Child:3"


def test_a_patch_made_over_ours_is_left_alone_on_undo() -> None:
    original = vars(Base)["greet"]
    handle = activate("test", install())

    def theirs(self: Base, name: str) -> str:
        return "theirs"

    Base.greet = theirs  # type: ignore[method-assign]
    handle.undo()
    assert Base().greet("x") == "theirs"
    Base.greet = original  # type: ignore[method-assign]  # clean_up compares with originals


def test_a_failing_installer_leaves_nothing_patched() -> None:
    def installer(handle: Instrumentation) -> None:
        handle.wrap(Base, "greet", sync_wrapper(describe, finish))
        raise ImportError("vendor missing")

    original = vars(Base)["greet"]
    with pytest.raises(ImportError):
        activate("test", installer)
    assert vars(Base)["greet"] is original and not is_active("test")


def test_broken_describe_still_runs_the_call_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mlflow_trace_nb")
    calls = []

    class Counting(Base):
        def greet(self, name: str) -> str:
            calls.append(name)
            return f"hi {name}"

    activate("test", lambda h: h.wrap(Counting, "greet", sync_wrapper(broken_describe, finish)))
    assert Counting().greet("dee") == "hi dee"
    assert calls == ["dee"]
    assert "describe bug" in caplog.text
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None


def test_broken_finish_returns_the_result_and_ends_the_span() -> None:
    activate("test", install(f=broken_finish))
    assert Base().greet("eve") == "hello eve"
    assert asyncio.run(Base().agreet("eve")) == "hello eve"
    mlflow.flush()
    trace = last_trace()
    assert trace.spans[0].status_code == "OK"


def test_the_vendor_exception_passes_through_unchanged_and_marks_the_span() -> None:
    error = ValueError("bad request")

    class Failing(Base):
        def greet(self, name: str) -> str:
            raise error

    activate("test", lambda h: h.wrap(Failing, "greet", sync_wrapper(describe, finish)))
    with pytest.raises(ValueError) as info:
        Failing().greet("fay")
    assert info.value is error
    mlflow.flush()
    span = last_trace().spans[0]
    assert span.status_code == "ERROR" and "bad request" in span.status_message


def test_describe_returning_none_means_no_span() -> None:
    activate("test", install(d=lambda args, kwargs: None))
    assert Base().greet("gil") == "hello gil"
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None


def test_disabled_tracing_runs_the_call_without_a_span() -> None:
    activate("test", install())
    mlflow.tracing.disable()
    try:
        assert Base().greet("hal") == "hello hal"
    finally:
        mlflow.tracing.enable()
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None


def test_async_wrapper_traces_the_awaited_call_under_the_callers_span() -> None:
    activate("test", install())

    @mlflow.trace(name="outer")
    async def outer() -> str:
        return await Base().agreet("ivy")

    assert asyncio.run(outer()) == "hello ivy"
    mlflow.flush()
    spans = {s.name: s for s in last_trace().spans}
    assert spans["greet"].parent_id == spans["outer"].span_id
    assert spans["greet"].outputs == "hello ivy"
