"""Exceptions of every kind get the right status and reach the caller unchanged; one crossing
hundreds of traced levels is described once and its stack trace formatted once, off the
caller's thread."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.capture import (
    MAX_EXCEPTION_MESSAGE_CHARS,
    MAX_PENDING_TRACEBACKS,
)
from mlflow_trace_nb.entities import Span
from mlflow_trace_nb.store.limits import MAX_MESSAGE_CHARS
from tests.helpers import last_trace


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


class _NotAString(Exception):
    def __str__(self) -> Any:
        return 42


class _StrInterrupts(Exception):
    def __str__(self) -> str:
        raise KeyboardInterrupt("from __str__")


class _StrRecurses(Exception):
    def __str__(self) -> str:
        return str(self)


class _HostileTraceback(Exception):
    @property
    def __traceback__(self) -> Any:
        raise RuntimeError("no traceback for you")

    @__traceback__.setter
    def __traceback__(self, value: Any) -> None:
        pass


def _cases() -> list[tuple[str, Callable[[], BaseException], str]]:
    cases: list[tuple[str, Callable[[], BaseException], str]] = [
        ("ValueError", lambda: ValueError("bad"), "ERROR"),
        ("StopIteration", lambda: StopIteration("out of a plain function"), "ERROR"),
        ("StopAsyncIteration", lambda: StopAsyncIteration(), "ERROR"),
        ("GeneratorExit", lambda: GeneratorExit(), "OK"),
        ("KeyboardInterrupt", lambda: KeyboardInterrupt(), "CANCELLED"),
        ("CancelledError", lambda: asyncio.CancelledError(), "CANCELLED"),
        ("SystemExit(0)", lambda: SystemExit(0), "OK"),
        ("SystemExit(None)", lambda: SystemExit(), "OK"),
        ("SystemExit(2)", lambda: SystemExit(2), "ERROR"),
        ("SystemExit(msg)", lambda: SystemExit("fatal"), "ERROR"),
        ("unprintable", lambda: _Unprintable(), "ERROR"),
        ("str not a string", lambda: _NotAString(), "ERROR"),
        ("huge message", lambda: ValueError("x" * 5_000_000), "ERROR"),
        ("__str__ interrupts", lambda: _StrInterrupts(), "ERROR"),
        ("__str__ recurses", lambda: _StrRecurses(), "ERROR"),
        ("hostile __traceback__", lambda: _HostileTraceback("tb"), "ERROR"),
        ("huge args", lambda: ValueError("batch failed", bytearray(20_000_000)), "ERROR"),
    ]
    cases += [
        ("ExceptionGroup", lambda: ExceptionGroup("g", [ValueError(1), TypeError(2)]), "ERROR"),
        (
            "cancelled group",
            lambda: BaseExceptionGroup("g", [KeyboardInterrupt(), asyncio.CancelledError()]),
            "CANCELLED",
        ),
        (
            "mixed group",
            lambda: BaseExceptionGroup("g", [KeyboardInterrupt(), ValueError()]),
            "ERROR",
        ),
    ]
    return cases


@pytest.mark.parametrize(("label", "make", "status"), _cases(), ids=[c[0] for c in _cases()])
@pytest.mark.parametrize("form", ["decorator", "with", "async"])
def test_every_exception_kind_gets_its_status(
    label: str, make: Callable[[], BaseException], status: str, form: str
) -> None:
    error = make()
    if form == "async" and isinstance(error, StopIteration):
        pytest.skip("a coroutine turns StopIteration into RuntimeError (PEP 479)")

    @mlflow.trace(name="raiser")
    def raiser() -> None:
        raise error

    @mlflow.trace(name="raiser")
    async def araiser() -> None:
        raise error

    with pytest.raises(BaseException) as caught:
        if form == "decorator":
            raiser()
        elif form == "async":
            asyncio.run(araiser())
        else:
            with mlflow.start_span("raiser"):
                raise error
    assert caught.value is error  # unchanged, whatever its kind
    (span,) = last_trace().spans
    assert span.status_code == status
    if status == "ERROR":
        (event,) = span.events
        attributes = event.attributes
        assert attributes["exception.type"].endswith(type(error).__name__)
        assert len(attributes["exception.message"]) <= MAX_EXCEPTION_MESSAGE_CHARS + 40
        assert len(span.status_message) <= MAX_MESSAGE_CHARS + 40
        assert "Traceback" in attributes["exception.stacktrace"] or label.startswith("hostile")
    if label in ("unprintable", "str not a string", "__str__ interrupts", "__str__ recurses"):
        assert span.status_message == f"<unprintable {type(error).__name__}>"


def test_traced_iterator_protocol_ends_ok() -> None:
    class Countdown:
        def __init__(self) -> None:
            self.n = 2

        def __iter__(self) -> Countdown:
            return self

        @mlflow.trace
        def __next__(self) -> int:
            if self.n == 0:
                raise StopIteration
            self.n -= 1
            return self.n

    assert list(Countdown()) == [1, 0]
    statuses = {t.trace_id: t.status for t in mlflow.search_traces(return_type="list")}
    assert list(statuses.values()) == ["OK"] * 3

    class Async:
        @mlflow.trace
        async def __anext__(self) -> int:
            raise StopAsyncIteration

    with pytest.raises(StopAsyncIteration):
        asyncio.run(Async().__anext__())
    assert last_trace().status == "OK"


def _recurse(depth: int) -> Callable[[int], int]:
    error = LookupError("bottom")

    @mlflow.trace(name="level")
    def level(n: int) -> int:
        if n == depth:
            raise error
        return level(n + 1)

    return level


@pytest.fixture
def formatting_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The threads ``traceback.format_exception`` runs on (the real function still runs)."""
    calls: list[int] = []
    real = traceback.format_exception

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(traceback, "format_exception", counted)
    yield calls


def test_deep_recursion_is_described_once_and_formatted_off_the_callers_thread(
    formatting_calls: list[int],
) -> None:
    depth = 400
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 3 * depth + 200))
    try:
        with pytest.raises(LookupError, match="bottom"):
            _recurse(depth)(0)
    finally:
        sys.setrecursionlimit(limit)
    assert formatting_calls == []  # nothing formatted on the caller's thread
    spans = last_trace().spans
    assert len(spans) == depth + 1
    assert {s.status_code for s in spans} == {"ERROR"}
    assert {s.status_message for s in spans} == {"bottom"}
    full = [s for s in spans if "exception.stacktrace" in s.events[0].attributes]
    assert len(full) == 1  # the innermost span, with the whole traced path
    innermost: Span = full[0]
    assert innermost.inputs == {"n": depth}
    stack = innermost.events[0].attributes["exception.stacktrace"]
    assert "raise error" in stack and stack.count("in level") == 1  # that span's part
    assert len(formatting_calls) == 1 and formatting_calls[0] != threading.get_ident()


def test_runaway_recursion_reaches_the_caller_as_a_recursion_error() -> None:
    @mlflow.trace(name="runaway")
    def runaway(n: int) -> int:
        return runaway(n + 1)

    with pytest.raises(RecursionError):
        runaway(0)
    trace = last_trace()
    assert trace.status == "ERROR" and len(trace.spans) > 100
    stacks = [
        s for s in trace.spans if s.events and "exception.stacktrace" in s.events[0].attributes
    ]
    assert len(stacks) == 1
    assert "RecursionError" in stacks[0].events[0].attributes["exception.stacktrace"]
    (message,) = {s.status_message for s in trace.spans if s.status_code == "ERROR"}
    assert message.startswith("maximum recursion depth exceeded")


def test_distinct_exceptions_in_one_trace_are_each_described() -> None:
    @mlflow.trace(name="tool")
    def tool(i: int) -> None:
        raise KeyError(i)

    with mlflow.start_span("agent"):
        for i in range(3):
            with contextlib.suppress(KeyError):
                tool(i)
    tools = [s for s in last_trace().spans if s.name == "tool"]
    assert [s.events[0].attributes["exception.message"] for s in tools] == ["0", "1", "2"]
    assert all("exception.stacktrace" in s.events[0].attributes for s in tools)


def test_tracebacks_waiting_to_be_formatted_are_bounded() -> None:
    class Payload:
        """Lives in the raising frame: alive as long as that frame is."""

    alive: list[weakref.ref[Payload]] = []

    @mlflow.trace(name="tool")
    def tool(i: int) -> None:
        payload = Payload()
        alive.append(weakref.ref(payload))
        raise KeyError(i)

    count = MAX_PENDING_TRACEBACKS + 30
    with mlflow.start_span("agent"):  # one long trace: nothing written while it runs
        for i in range(count):
            with contextlib.suppress(KeyError):
                tool(i)
        gc.collect()
        assert sum(ref() is not None for ref in alive) <= MAX_PENDING_TRACEBACKS
    tools = [s for s in last_trace().spans if s.name == "tool"]
    assert len(tools) == count
    assert all("raise KeyError(i)" in s.events[0].attributes["exception.stacktrace"] for s in tools)


def test_traced_user_code_this_package_calls_makes_no_traces_of_its_own() -> None:
    """An exception's ``__str__`` and an input's ``__repr__`` that are traced themselves:
    describing the exception (on the caller) and serialising the input (on the writer
    thread) ran them and each call made a stray trace the user never started."""
    calls: list[str] = []

    class Traced(Exception):
        @mlflow.trace(name="Traced.__str__")
        def __str__(self) -> str:
            calls.append(threading.current_thread().name)
            return "described"

    class Opaque:
        @mlflow.trace(name="Opaque.__repr__")
        def __repr__(self) -> str:
            calls.append(threading.current_thread().name)
            return "<opaque>"

    @mlflow.trace
    def step(value: object) -> None:
        raise Traced()

    with pytest.raises(Traced):
        step(Opaque())
    assert mlflow.flush(10)
    traces = mlflow.search_traces(return_type="list")
    assert [t.data.spans[0].name for t in traces] == ["step"]
    (span,) = traces[0].data.spans
    assert "described" in json.dumps(span.to_dict()["events"])
    assert "MainThread" in calls and "mlflow-trace-nb-writer" in calls, calls
    assert str(Traced()) == "described"  # called by the user, it is traced as usual
    assert mlflow.flush(10)
    assert len(mlflow.search_traces(return_type="list")) == 2
