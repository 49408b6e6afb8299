"""The one patching mechanism every vendor integration stands on.

An integration is an *installer*: a function that receives an ``Instrumentation`` handle and
calls ``handle.wrap(owner, "method", make_wrapper)`` for each vendor method it traces.
``activate(name, installer)`` runs it once per process (a second call returns the same
handle), and ``handle.undo()`` (or ``deactivate(name)``) puts every original back.

``traced_call`` / ``traced_call_async`` are the generic wrappers: they open a span from a
vendor-specific *describe* function, run the vendor call, and let a vendor-specific *finish*
function record the result (or wrap a stream and end the span later). Any failure of ours is
reported and swallowed: the vendor call still runs once and its result or exception reaches
the caller unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.capture import snapshot
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN
from mlflow_trace_nb._internal.tracer.live_span import NO_OP_SPAN, LiveSpan
from mlflow_trace_nb._internal.tracer.span_lifecycle import finish_span, open_span
from mlflow_trace_nb.errors import report_internal_error

__all__ = [
    "Instrumentation",
    "SpanRequest",
    "activate",
    "deactivate",
    "end_span_safely",
    "is_active",
    "traced_call",
    "traced_call_async",
]

_MISSING = object()


@dataclass
class _Patch:
    owner: Any
    name: str
    original: Any
    replacement: Any
    owned: bool  # the attribute was in owner.__dict__ (not inherited) before patching

    def undo(self) -> None:
        if self.owner.__dict__.get(self.name, _MISSING) is not self.replacement:
            return  # someone patched over us; leave their patch alone
        if self.owned:
            setattr(self.owner, self.name, self.original)
        else:
            delattr(self.owner, self.name)


@dataclass
class Instrumentation:
    """Handle for one active integration; ``undo()`` removes all its patches."""

    name: str
    _patches: list[_Patch] = field(default_factory=list)
    active: bool = True

    def wrap(self, owner: Any, name: str, make_wrapper: Callable[[Any], Any]) -> None:
        """Replace ``owner.name`` by ``make_wrapper(original)`` (a class or module attribute).

        The original is read through ``owner.__dict__`` when it is defined there, so
        staticmethod/classmethod descriptors survive the round trip.
        """
        owned = name in getattr(owner, "__dict__", {})
        original = owner.__dict__[name] if owned else getattr(owner, name)
        replacement = make_wrapper(original)
        setattr(owner, name, replacement)
        self._patches.append(_Patch(owner, name, original, replacement, owned))

    def add(self, owner: Any, name: str, value: Any) -> None:
        """Set ``owner.name`` (a class attribute it does not define) to ``value``; ``undo()``
        deletes it again."""
        setattr(owner, name, value)
        self._patches.append(_Patch(owner, name, None, value, owned=False))

    def undo(self) -> None:
        """Put every original back (idempotent)."""
        with _LOCK:
            self._undo_locked()

    def _undo_locked(self) -> None:
        while self._patches:
            self._patches.pop().undo()
        self.active = False
        if _ACTIVE.get(self.name) is self:
            del _ACTIVE[self.name]


_LOCK = threading.RLock()
_ACTIVE: dict[str, Instrumentation] = {}


def activate(name: str, installer: Callable[[Instrumentation], None]) -> Instrumentation:
    """Run ``installer`` once for ``name``; later calls return the active handle.

    If the installer raises, the patches it made are undone and the error propagates.
    """
    with _LOCK:
        handle = _ACTIVE.get(name)
        if handle is not None:
            return handle
        handle = Instrumentation(name)
        try:
            installer(handle)
        except BaseException:
            handle._undo_locked()
            raise
        _ACTIVE[name] = handle
        return handle


def deactivate(name: str) -> bool:
    """Undo the integration ``name``; returns False when it was not active."""
    with _LOCK:
        handle = _ACTIVE.get(name)
        if handle is None:
            return False
        handle._undo_locked()
        return True


def is_active(name: str) -> bool:
    """Whether the integration ``name`` is installed."""
    return name in _ACTIVE


@dataclass
class SpanRequest:
    """What a vendor's *describe* function says about a call about to run."""

    name: str
    span_type: str
    inputs: Any = None
    attributes: dict[str, Any] | None = None


Describe = Callable[[tuple[Any, ...], dict[str, Any]], "SpanRequest | None"]
#: Records ``result`` on the span and returns what the caller gets (the result itself, or a
#: wrapper of a stream that ends the span when consumed). When it returns without ending the
#: span, it must have arranged for the span to be ended later.
Finish = Callable[[LiveSpan, Any], Any]


def _start(describe: Describe, args: tuple[Any, ...], kwargs: dict[str, Any]) -> LiveSpan | None:
    if not RUNTIME.enabled:
        return None
    try:
        request = describe(args, kwargs)
        if request is None:
            return None
        span = open_span(
            request.name, request.span_type, snapshot(request.inputs), request.attributes
        )
        if span is NO_OP_SPAN or not span._recording:
            return None
        span._token = CURRENT_SPAN.set(span)  # nested vendor calls become its children
        return span
    except Exception:
        report_internal_error("starting an instrumented call")
        return None


def end_span_safely(
    span: LiveSpan, exc: BaseException | None = None, end_time_ns: int | None = None
) -> None:
    """End ``span`` (status from ``exc``; at ``end_time_ns`` if given, else now); never
    raises."""
    try:
        finish_span(span, exc, end_time_ns)
    except Exception:
        report_internal_error("ending an instrumented call")


def _detach(span: LiveSpan) -> None:
    """Make the span's parent current again while the span itself stays open (streams)."""
    token = span._token
    if token is None:
        return
    span._token = None
    try:
        CURRENT_SPAN.reset(token)
    except ValueError:  # reset from another context: fall back to setting the parent
        CURRENT_SPAN.set(span._parent)


def _finish(span: LiveSpan, result: Any, finish: Finish) -> Any:
    _detach(span)
    try:
        returned = finish(span, result)
    except Exception:
        report_internal_error("recording an instrumented call")
        end_span_safely(span)
        return result
    return returned


def traced_call(
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    describe: Describe,
    finish: Finish,
) -> Any:
    """Run ``original(*args, **kwargs)`` inside a span described by ``describe``."""
    span = _start(describe, args, kwargs)
    if span is None:
        return original(*args, **kwargs)
    try:
        result = original(*args, **kwargs)
    except BaseException as exc:
        end_span_safely(span, exc)
        raise
    return _finish(span, result, finish)


async def traced_call_async(
    original: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    describe: Describe,
    finish: Finish,
) -> Any:
    """``traced_call`` for coroutine functions."""
    span = _start(describe, args, kwargs)
    if span is None:
        return await original(*args, **kwargs)
    try:
        result = await original(*args, **kwargs)
    except BaseException as exc:
        end_span_safely(span, exc)
        raise
    return _finish(span, result, finish)
