"""``trace`` (decorator and context manager) and ``mlflow_trace``: the tracing entry points.

``start_span`` lives in ``span_lifecycle`` and the decorator machinery in ``decorator``;
this module turns the reference API's call shapes into one or the other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar, overload

from mlflow_trace_nb._internal.tracer.decorator import decorate
from mlflow_trace_nb._internal.tracer.live_span import NO_OP_SPAN, LiveSpan
from mlflow_trace_nb._internal.tracer.span_lifecycle import (
    check_span_arguments,
    finish_span,
    open_span,
    start_span,
)

__all__ = ["finish_span", "mlflow_trace", "open_span", "start_span", "trace"]

F = TypeVar("F", bound=Callable[..., Any])


#: The spans ``_TraceSpec`` objects opened, per context (thread, asyncio task): a tuple of
#: ``(spec, span)`` pairs, innermost last, so one ``trace("step")`` object can be entered in
#: several threads or tasks at once, and re-entered, each ``__exit__`` ending its own span.
_OPENED: ContextVar[tuple[tuple[Any, LiveSpan], ...]] = ContextVar(
    "mlflow_trace_nb_opened_by_trace", default=()
)


class _TraceSpec:
    """What ``trace(...)`` returns: a decorator and a context manager at once. Reusable,
    also concurrently: what it opened is kept per context, not on the object."""

    __slots__ = ("attributes", "inputs", "name", "output_reducer", "span_type")

    def __init__(
        self,
        name: str | None,
        span_type: str | None,
        inputs: Any,
        attributes: dict[str, Any] | None,
        output_reducer: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        self.name = name
        self.span_type = check_span_arguments(name, span_type, attributes, where="trace")
        self.inputs = inputs
        self.attributes = attributes
        self.output_reducer = output_reducer

    def __call__(self, func: F) -> F:
        result: F = decorate(func, self.name, self.span_type, self.attributes, self.output_reducer)
        return result

    def __enter__(self) -> LiveSpan:
        span = start_span(self.name or "span", self.span_type, self.inputs, self.attributes)
        _OPENED.set((*_OPENED.get(), (self, span)))
        return span

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        opened = _OPENED.get()
        for index in range(len(opened) - 1, -1, -1):
            if opened[index][0] is self:
                span = opened[index][1]
                _OPENED.set(opened[:index] + opened[index + 1 :])
                finish_span(span, exc)
                return
        finish_span(NO_OP_SPAN, exc)  # entered in another context: nothing of ours here


def _is_decoratable(value: Any) -> bool:
    return isinstance(value, (classmethod, staticmethod)) or (
        callable(value) and not isinstance(value, str)
    )


@overload
def trace(func: F, /) -> F: ...
@overload
def trace(
    name: str | None = None,
    span_type: str | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> _TraceSpec: ...
def trace(
    name: Any = None,
    span_type: str | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    *,
    func: Any = None,
) -> Any:
    """Trace a function (``@trace``, ``@trace(name=..., span_type=...)``) or a block
    (``with trace("name", SpanType.CHAIN) as span:``).

    Decorated sync, async, generator and async-generator functions are traced over their
    whole run; inputs are recorded by parameter name (defaults applied), the output as
    returned (for generators: the items yielded). Example::

        @mlflow.trace(span_type=SpanType.RETRIEVER)
        def retrieve(query: str, k: int = 3) -> list[str]: ...

    The object ``trace("name")`` returns can be reused, also by several threads or asyncio
    tasks at once: each ``with`` ends the span it opened. Wrong argument types raise
    TypeError. ``output_reducer`` (generators only, as in MLflow) turns the list of yielded
    items into the recorded output; ``func=`` is MLflow's keyword for the function.
    """
    if func is not None:
        return decorate(func, name, span_type, attributes, output_reducer)
    if _is_decoratable(name):
        return decorate(name, None, span_type, attributes, output_reducer)
    return _TraceSpec(name, span_type, inputs, attributes, output_reducer)


def mlflow_trace(
    span_type: Any = None, name: str | None = None, attributes: dict[str, Any] | None = None
) -> Any:
    """Decorator form with ``span_type`` first: ``@mlflow_trace(span_type=SpanType.LLM)``;
    bare ``@mlflow_trace`` works too."""
    if _is_decoratable(span_type):
        return decorate(span_type, name, None, attributes)
    return _TraceSpec(name, span_type, None, attributes)
