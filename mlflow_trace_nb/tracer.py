"""Starting and ending spans: ``trace`` (decorator and context manager) and ``start_span``.

Hot-path rules: starting a span reads the context, the clock and a random id and stores
references; ending it reads the clock, sets the status and, for a root span, appends the
trace to the write-behind queue. Nothing is serialised or written here. Every tracer step is
guarded: if it fails, the error is logged once and the user's function runs untraced; the
user's own exceptions pass through unchanged (the same object) after being recorded.
"""

from __future__ import annotations

import contextlib
import functools
import random
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar, overload

from mlflow_trace_nb.context import CURRENT_SPAN, detach
from mlflow_trace_nb.errors import report_internal_error
from mlflow_trace_nb.live_span import (
    _COPY_TYPES,
    NO_OP_SPAN,
    LiveSpan,
    LiveTrace,
    NoOpSpan,
    snapshot,
    snapshot_values,
)
from mlflow_trace_nb.runtime import RUNTIME
from mlflow_trace_nb.tracing.provider import SpanStatus, SpanStatusCode, SpanType

__all__ = ["finish_span", "mlflow_trace", "open_span", "start_span", "trace"]

F = TypeVar("F", bound=Callable[..., Any])

_RT = RUNTIME
_time_ns = time.time_ns
_random = random.random
_get_current = CURRENT_SPAN.get
_set_current = CURRENT_SPAN.set
_reset_current = CURRENT_SPAN.reset
#: The span type of a traced function or block when none is given (as in MLflow).
SpanTypeDefault = SpanType.UNKNOWN
#: A traced generator records at most this many yielded items as its output.
MAX_GENERATOR_ITEMS = 1_000


def open_span(
    name: str,
    span_type: str | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
) -> LiveSpan:
    """Create a span under the active one (not made active). Returns the no-op span when
    tracing is disabled or the trace is not sampled."""
    parent = _get_current()
    if parent is None:
        rate = _RT.sampling_rate
        if rate < 1.0 and (rate <= 0.0 or _random() >= rate):
            return NoOpSpan()
        state = LiveTrace(_RT.experiment_id)
        for hook in _RT.trace_start_hooks:
            try:
                hook(state)
            except Exception:
                report_internal_error("trace-start hook")
        return LiveSpan(name, span_type, state, None, inputs, attributes)
    if not parent._recording:
        return NO_OP_SPAN
    return LiveSpan(name, span_type, parent._state, parent, inputs, attributes)


def finish_span(span: LiveSpan, exc: BaseException | None, end_time_ns: int | None = None) -> None:
    """End ``span``: status from ``exc``, clock, context restored, trace handed on if root."""
    token = span._token
    if token is not None:
        span._token = None
        _restore_context(span, token)
    if not span._recording or span.end_time_ns is not None:
        return
    try:
        if exc is not None:
            if _is_cancellation(exc):
                span.status_code = SpanStatus.CANCELLED
                span.status_message = type(exc).__name__
            elif isinstance(exc, (GeneratorExit, StopIteration, StopAsyncIteration)):
                if span.status_code == SpanStatusCode.UNSET:
                    span.status_code = SpanStatus.OK
            else:
                span.record_exception(exc)
        elif span.status_code == SpanStatusCode.UNSET:
            span.status_code = SpanStatus.OK
        span.end_time_ns = end_time_ns or _time_ns()
        if _RT.span_end_hooks:
            _run_span_end_hooks(span)
        state = span._state
        if span is state.root:
            state.closed = True
            _RT.submit_trace(state)
        elif state.closed:
            _RT.submit_late_span(span)
    except Exception:
        report_internal_error("ending a span")


def _run_span_end_hooks(span: LiveSpan) -> None:
    for hook in _RT.span_end_hooks:
        try:
            hook(span)
        except Exception:
            report_internal_error("span-end hook")


def _restore_context(span: LiveSpan, token: Any) -> None:
    """Undo ``start_span``'s attach, tolerating spans ended out of order."""
    if _get_current() is not span:  # ended while a child is still active: leave the child
        return
    detach(token, span._parent)
    current = _get_current()
    while current is not None and current._recording and current.end_time_ns is not None:
        current = current._parent  # never resume an ancestor that has already ended
    if current is not _get_current():
        _set_current(current)


def _is_cancellation(exc: BaseException) -> bool:
    if isinstance(exc, KeyboardInterrupt):
        return True
    asyncio = sys.modules.get("asyncio")  # not imported: no CancelledError can exist
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


def _set_result(span: LiveSpan, result: Any) -> None:
    if result is not None or span._outputs is None:
        span._outputs = snapshot(result)


# Decorator ------------------------------------------------------------------------------
class _Binder:
    """Maps a call's ``args``/``kwargs`` to parameter names, defaults applied, fast."""

    __slots__ = ("defaults", "drop", "named", "positional", "var_positional")

    def __init__(self, func: Callable[..., Any]) -> None:
        self.positional: tuple[str, ...] = ()
        self.defaults: tuple[tuple[str, Any], ...] = ()
        self.var_positional: str | None = None
        self.drop: str | None = None
        self.named = 0  # parameters that are neither *args nor **kwargs
        import inspect

        try:
            params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):  # builtins without a signature
            self.var_positional = "args"
            return
        kinds = inspect.Parameter
        self.positional = tuple(
            p.name for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
        )
        self.defaults = tuple((p.name, p.default) for p in params if p.default is not p.empty)
        self.var_positional = next((p.name for p in params if p.kind == kinds.VAR_POSITIONAL), None)
        self.named = sum(p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) for p in params)
        if self.positional and self.positional[0] in ("self", "cls"):
            self.drop = self.positional[0]

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        positional = self.positional
        inputs = dict(zip(positional, args))  # noqa: B905 (strict= costs 0.25 µs a call)
        if kwargs:
            inputs.update(kwargs)
        if len(inputs) < self.named:  # some parameters took their defaults
            for name, default in self.defaults:
                if name not in inputs:
                    inputs[name] = default
        if len(args) > len(positional) and self.var_positional:
            inputs[self.var_positional] = args[len(positional) :]
        if self.drop is not None:
            inputs.pop(self.drop, None)
        for value in inputs.values():
            if type(value) in _COPY_TYPES:  # copy containers only when there are some
                return snapshot_values(inputs)
        return inputs


def _start_call(
    binder: _Binder,
    name: str,
    span_type: str | None,
    attributes: dict[str, Any] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> LiveSpan:
    span = open_span(name, span_type, None, attributes)
    if span._recording:
        span._inputs = binder.bind(args, kwargs)
    return span


def _decorate(
    func: Any, name: str | None, span_type: str | None, attributes: dict[str, Any] | None
) -> Any:
    if isinstance(func, (classmethod, staticmethod)):
        return type(func)(_decorate(func.__func__, name, span_type, attributes))
    if not callable(func):
        raise TypeError(f"@trace needs a function, got {type(func).__name__}: {func!r}")
    import inspect

    binder = _Binder(func)
    span_name = name or getattr(func, "__name__", None) or type(func).__name__
    kind = span_type or SpanTypeDefault
    if inspect.isasyncgenfunction(func):
        wrapper: Any = _async_generator_wrapper(func, binder, span_name, kind, attributes)
    elif inspect.iscoroutinefunction(func):
        wrapper = _async_wrapper(func, binder, span_name, kind, attributes)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator_wrapper(func, binder, span_name, kind, attributes)
    else:
        wrapper = _sync_wrapper(func, binder, span_name, kind, attributes)
    with contextlib.suppress(AttributeError, TypeError):  # callables without __name__ etc.
        functools.update_wrapper(wrapper, func)
    return wrapper


def _sync_wrapper(
    func: Any, binder: _Binder, name: str, span_type: str, attributes: dict[str, Any] | None
) -> Callable[..., Any]:
    # The hottest path of the library: open_span/_start_call/finish_span inlined.
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _RT.enabled:
            return func(*args, **kwargs)
        try:
            parent = _get_current()
            if parent is None:
                if _RT.sampling_rate >= 1.0 and not _RT.trace_start_hooks:
                    span = LiveSpan(
                        name,
                        span_type,
                        LiveTrace(_RT.experiment_id),
                        None,
                        binder.bind(args, kwargs),
                        attributes,
                    )
                else:
                    span = _start_call(binder, name, span_type, attributes, args, kwargs)
            elif parent._recording:
                span = LiveSpan(
                    name, span_type, parent._state, parent, binder.bind(args, kwargs), attributes
                )
            else:
                span = NO_OP_SPAN
            token = _set_current(span)
        except Exception:
            report_internal_error("starting a span")
            return func(*args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _reset_current(token)
            finish_span(span, exc)
            raise
        _reset_current(token)
        if span._recording:
            try:
                if result is not None or span._outputs is None:
                    span._outputs = snapshot(result)
                if span.status_code == "UNSET":
                    span.status_code = "OK"
                span.end_time_ns = _time_ns()
                if _RT.span_end_hooks:
                    _run_span_end_hooks(span)
                state = span._state
                if span is state.root:
                    state.closed = True
                    _RT.submit_trace(state)
                elif state.closed:
                    _RT.submit_late_span(span)
            except Exception:
                report_internal_error("ending a span")
        return result

    return wrapper


def _async_wrapper(
    func: Any, binder: _Binder, name: str, span_type: str, attributes: dict[str, Any] | None
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _RT.enabled:
            return await func(*args, **kwargs)
        try:
            span = _start_call(binder, name, span_type, attributes, args, kwargs)
            token = _set_current(span)
        except Exception:
            report_internal_error("starting a span")
            return await func(*args, **kwargs)
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            detach(token, span._parent)
            finish_span(span, exc)
            raise
        detach(token, span._parent)
        if span._recording:
            try:
                _set_result(span, result)
            except Exception:
                report_internal_error("recording outputs")
            finish_span(span, None)
        return result

    return wrapper


class _Items:
    """What a traced generator yielded (bounded)."""

    __slots__ = ("count", "items")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.count = 0

    def add(self, item: Any) -> None:
        self.count += 1
        if self.count <= MAX_GENERATOR_ITEMS:
            self.items.append(item)

    def output(self) -> list[Any]:
        if self.count > MAX_GENERATOR_ITEMS:
            return [*self.items, f"…[{self.count - MAX_GENERATOR_ITEMS} more items]"]
        return self.items


def _generator_wrapper(
    func: Any, binder: _Binder, name: str, span_type: str, attributes: dict[str, Any] | None
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _RT.enabled:
            return (yield from func(*args, **kwargs))
        try:
            span = _start_call(binder, name, span_type, attributes, args, kwargs)
        except Exception:
            report_internal_error("starting a span")
            return (yield from func(*args, **kwargs))
        gen = func(*args, **kwargs)
        items = _Items()
        to_send: Any = None
        to_throw: BaseException | None = None
        try:
            while True:
                token = _set_current(span)  # active only while the generator's body runs
                try:
                    if to_throw is not None:
                        exc, to_throw = to_throw, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(to_send)
                except StopIteration as stop:
                    result = stop.value
                    break
                finally:
                    detach(token, span._parent)
                items.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as exc:
                    to_throw = exc
        except BaseException as exc:
            _finish_iteration(span, items, exc)
            raise
        _finish_iteration(span, items, None)
        return result

    return wrapper


def _async_generator_wrapper(
    func: Any, binder: _Binder, name: str, span_type: str, attributes: dict[str, Any] | None
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        span: LiveSpan = NO_OP_SPAN
        if _RT.enabled:
            try:
                span = _start_call(binder, name, span_type, attributes, args, kwargs)
            except Exception:
                report_internal_error("starting a span")
        agen = func(*args, **kwargs)
        items = _Items()
        to_send: Any = None
        to_throw: BaseException | None = None
        try:
            while True:
                token = _set_current(span) if span._recording else None
                try:
                    if to_throw is not None:
                        exc, to_throw = to_throw, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(to_send)
                except StopAsyncIteration:
                    break
                finally:
                    if token is not None:
                        detach(token, span._parent)
                items.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as exc:
                    to_throw = exc
        except BaseException as exc:
            _finish_iteration(span, items, exc)
            raise
        _finish_iteration(span, items, None)

    return wrapper


def _finish_iteration(span: LiveSpan, items: _Items, exc: BaseException | None) -> None:
    if span._recording:
        try:
            span._outputs = items.output()
        except Exception:
            report_internal_error("recording outputs")
        finish_span(span, exc)


# Public entry points ----------------------------------------------------------------------
def start_span(
    name: str = "span",
    span_type: str | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
) -> LiveSpan:
    """Start a span under the active one and make it active.

    End it with ``span.end()`` or ``end_span()``, or use it as a context manager::

        with mlflow.start_span("retrieve", span_type=SpanType.RETRIEVER) as span:
            span.set_outputs(docs)
    """
    if not _RT.enabled:
        return NO_OP_SPAN
    try:
        span = open_span(str(name), span_type or SpanTypeDefault, snapshot(inputs), attributes)
        if span is not NO_OP_SPAN:
            span._token = _set_current(span)
        return span
    except Exception:
        report_internal_error("starting a span")
        return NO_OP_SPAN


class _TraceSpec:
    """What ``trace(...)`` returns: a decorator and a context manager at once."""

    __slots__ = ("_open", "attributes", "inputs", "name", "span_type")

    def __init__(
        self,
        name: str | None,
        span_type: str | None,
        inputs: Any,
        attributes: dict[str, Any] | None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"trace name must be a string, got {type(name).__name__}")
        if attributes is not None and not isinstance(attributes, dict):
            raise TypeError(f"attributes must be a dict, got {type(attributes).__name__}")
        self.name = name
        self.span_type = span_type
        self.inputs = inputs
        self.attributes = attributes
        self._open: list[LiveSpan] = []

    def __call__(self, func: F) -> F:
        result: F = _decorate(func, self.name, self.span_type, self.attributes)
        return result

    def __enter__(self) -> LiveSpan:
        span = start_span(self.name or "span", self.span_type, self.inputs, self.attributes)
        self._open.append(span)
        return span

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        span = self._open.pop() if self._open else NO_OP_SPAN
        finish_span(span, exc)


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
) -> _TraceSpec: ...
def trace(
    name: Any = None,
    span_type: str | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
) -> Any:
    """Trace a function (``@trace``, ``@trace(name=..., span_type=...)``) or a block
    (``with trace("name", SpanType.CHAIN) as span:``).

    Decorated sync, async, generator and async-generator functions are traced over their
    whole run; inputs are recorded by parameter name (defaults applied), the output as
    returned (for generators: the items yielded). Example::

        @mlflow.trace(span_type=SpanType.RETRIEVER)
        def retrieve(query: str, k: int = 3) -> list[str]: ...
    """
    if _is_decoratable(name):
        return _decorate(name, None, span_type, attributes)
    return _TraceSpec(name, span_type, inputs, attributes)


def mlflow_trace(
    span_type: Any = None, name: str | None = None, attributes: dict[str, Any] | None = None
) -> Any:
    """Decorator form with ``span_type`` first: ``@mlflow_trace(span_type=SpanType.LLM)``;
    bare ``@mlflow_trace`` works too."""
    if _is_decoratable(span_type):
        return _decorate(span_type, name, None, attributes)
    return _TraceSpec(name, span_type, None, attributes)
