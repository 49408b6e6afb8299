"""``@trace`` on every kind of callable: sync, async, generator and async generator.

A decorated function records its inputs by parameter name (defaults applied, containers
copied), its output as returned (for generators: what they yielded, with one MLflow chunk
event per item, see ``chunks``), and its status. When
the tracer itself fails, the function runs untraced; the function's own exceptions pass
through unchanged (the same object) after being recorded.

``StopIteration`` escaping a plain function is an error (status ERROR), except from a traced
``__next__`` (and ``StopAsyncIteration`` from ``__anext__``), where it is the iterator
protocol's normal end (OK). Near the interpreter's stack limit (a runaway recursion) a span
that cannot be recorded any more is left out; the ``RecursionError`` reaches the caller as is.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.binding import Binder
from mlflow_trace_nb._internal.tracer.capture import SNAPSHOT_TYPES, fixed_attributes, snapshot
from mlflow_trace_nb._internal.tracer.chunks import MAX_GENERATOR_ITEMS, Chunks
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN, detach
from mlflow_trace_nb._internal.tracer.live_span import NO_OP_SPAN, LiveSpan
from mlflow_trace_nb._internal.tracer.span_lifecycle import (
    DEFAULT_SPAN_TYPE,
    check_span_arguments,
    close_span,
    end_with_result,
    finish_span,
    open_span,
)
from mlflow_trace_nb.errors import MlflowException, report_internal_error

__all__ = ["MAX_GENERATOR_ITEMS", "decorate"]

_logger = logging.getLogger(__name__)
_RT = RUNTIME
_set_current = CURRENT_SPAN.set
_reset_current = CURRENT_SPAN.reset


def _start_call(
    binder: Binder,
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


def decorate(
    func: Any,
    name: str | None,
    span_type: str | None,
    attributes: dict[str, Any] | None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Any:
    check_span_arguments(name, span_type, attributes, "trace")
    if isinstance(func, (classmethod, staticmethod)):
        return type(func)(decorate(func.__func__, name, span_type, attributes, output_reducer))
    if not callable(func):
        raise TypeError(f"@trace needs a function, got {type(func).__name__}: {func!r}")
    if isinstance(func, type):  # wrapping a class in a function would break isinstance()
        raise TypeError(
            f"@trace decorates functions and methods, not classes ({func.__name__}); "
            "decorate the methods to trace instead"
        )
    import inspect

    binder = Binder(func)
    span_name = name or getattr(func, "__name__", None) or type(func).__name__
    kind = span_type or DEFAULT_SPAN_TYPE
    end: tuple[type[BaseException], ...]
    is_generator = inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func)
    if output_reducer is not None and not is_generator:
        raise MlflowException(
            "The output_reducer argument is only supported for generator functions."
        )
    if not callable(output_reducer) and output_reducer is not None:
        raise TypeError(f"output_reducer must be callable, got {type(output_reducer).__name__}")
    if inspect.isasyncgenfunction(func):
        wrapper: Any = _async_generator_wrapper(
            func, binder, span_name, kind, attributes, output_reducer
        )
    elif inspect.iscoroutinefunction(func):
        end = (StopAsyncIteration,) if _func_name(func) == "__anext__" else ()
        fixed = fixed_attributes(attributes, _func_name(func))
        wrapper = _async_wrapper(func, binder, span_name, kind, fixed, end)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator_wrapper(func, binder, span_name, kind, attributes, output_reducer)
    else:
        end = (StopIteration,) if _func_name(func) == "__next__" else ()
        fixed = fixed_attributes(attributes, _func_name(func))
        wrapper = _sync_wrapper(func, binder, span_name, kind, fixed, end)
    with contextlib.suppress(AttributeError, TypeError):  # callables without __name__ etc.
        functools.update_wrapper(wrapper, func)
    return wrapper


def _func_name(func: Any) -> str | None:
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) else None


def _sync_wrapper(
    func: Any,
    binder: Binder,
    name: str,
    span_type: str,
    attributes: dict[str, Any] | None,
    protocol_end: tuple[type[BaseException], ...] = (),
) -> Callable[..., Any]:
    # The hottest path of the library: open_span called directly (no _start_call layer).
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _RT.enabled:
            return func(*args, **kwargs)
        try:
            span = open_span(name, span_type, None, attributes)
            if span._recording:
                span._inputs = binder.bind(args, kwargs)
            token = _set_current(span)
        except Exception:
            report_internal_error("starting a span")
            return func(*args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _reset_current(token)
            try:  # noqa: SIM105 (no call: contextlib.suppress needs stack that may be gone)
                finish_span(span, None if isinstance(exc, protocol_end) else exc)
            except RecursionError:  # no stack left even to call finish_span
                pass
            raise
        _reset_current(token)
        if span._recording:
            try:  # end_with_result, inlined: the end of every traced call runs this
                if result is not None or span._outputs is None:
                    span._outputs = snapshot(result) if type(result) in SNAPSHOT_TYPES else result
                close_span(span)
            except Exception:
                report_internal_error("ending a span")
        return result

    return wrapper


def _async_wrapper(
    func: Any,
    binder: Binder,
    name: str,
    span_type: str,
    attributes: dict[str, Any] | None,
    protocol_end: tuple[type[BaseException], ...] = (),
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
            try:  # noqa: SIM105 (no call: contextlib.suppress needs stack that may be gone)
                finish_span(span, None if isinstance(exc, protocol_end) else exc)
            except RecursionError:  # no stack left even to call finish_span
                pass
            raise
        detach(token, span._parent)
        if span._recording:
            end_with_result(span, result)
        return result

    return wrapper


def _generator_wrapper(
    func: Any,
    binder: Binder,
    name: str,
    span_type: str,
    attributes: dict[str, Any] | None,
    reducer: Callable[[list[Any]], Any] | None = None,
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
        items = Chunks(span)
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
            _finish_iteration(span, items, exc, reducer)
            raise
        _finish_iteration(span, items, None, reducer)
        return result

    return wrapper


def _async_generator_wrapper(
    func: Any,
    binder: Binder,
    name: str,
    span_type: str,
    attributes: dict[str, Any] | None,
    reducer: Callable[[list[Any]], Any] | None = None,
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        span: LiveSpan = NO_OP_SPAN
        if _RT.enabled:
            try:
                span = _start_call(binder, name, span_type, attributes, args, kwargs)
            except Exception:
                report_internal_error("starting a span")
        agen = func(*args, **kwargs)
        items = Chunks(span)
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
            _finish_iteration(span, items, exc, reducer)
            raise
        _finish_iteration(span, items, None, reducer)

    return wrapper


def _finish_iteration(
    span: LiveSpan,
    items: Chunks,
    exc: BaseException | None,
    reducer: Callable[[list[Any]], Any] | None = None,
) -> None:
    if span._recording:
        dropped = items.dropped_events()
        if dropped:
            span.set_attribute(keys.DROPPED_CHUNK_EVENTS, dropped)
        if isinstance(exc, Exception):  # failed part-way: no outputs (as MLflow)
            finish_span(span, exc)
            return
        try:  # finished, or stopped early (closed, cancelled): what it yielded
            span._outputs = items.output()
        except Exception:
            report_internal_error("recording outputs")
        if reducer is not None:
            try:  # the user's reducer: if it fails, the items stay the output (as MLflow)
                span._outputs = snapshot(reducer(items.items))
            except Exception:
                _logger.debug("mlflow-trace-nb: output_reducer failed", exc_info=True)
        finish_span(span, exc)


# Public entry points ----------------------------------------------------------------------
