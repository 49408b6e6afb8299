"""A span's life: open under the active span, start as the active span, end.

Hot-path rules: opening a span reads the context, the clock and the sampling rate and stores
references; ending it reads the clock, sets the status and appends the span's record (for a
root span also the trace's) to the pipeline's queue: spans are durable as they end. Nothing
is serialised or written here. Every step is guarded: a failure is logged once and never
reaches the user's code.

How an exception ends a span (``finish_span``): ``KeyboardInterrupt``,
``asyncio.CancelledError`` and an exception group made only of those: CANCELLED;
``GeneratorExit`` (a generator closed early) and ``SystemExit`` with code 0 or None: OK;
anything else, ``StopIteration`` included (a traced ``__next__``/``__anext__`` excepted, see
``decorator``): ERROR with an ``exception`` event.

A trace continued from another process (a request handler under a ``traceparent``, a task
under a span open when its worker was forked) is stored before its root's end returns, for
up to ``CONTINUED_FLUSH_S`` (0.05 s while the writer is stuck): such a process is often
stopped with SIGTERM (no exit handlers) right after it has answered, and its part of the
trace must not die queued. The writer does the writing; the caller only waits for it (the
local store only, never a remote).

A trace holds at most ``MAX_SPANS_PER_TRACE`` spans: past that, new spans in it are no-ops,
counted in the trace's ``mlflow_trace_nb.dropped_spans`` metadata, with one warning per
process. Spans left open (a forgotten ``end()``) are handled in ``span_leaks``.
"""

from __future__ import annotations

import builtins
import enum
import logging
import sys
import time
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.propagation import RemoteParent
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer import live_span, span_leaks
from mlflow_trace_nb._internal.tracer.arguments import optional_mapping, optional_str
from mlflow_trace_nb._internal.tracer.capture import snapshot
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN, detach
from mlflow_trace_nb._internal.tracer.ids import format_span_id, random_fraction
from mlflow_trace_nb._internal.tracer.live_span import (
    NO_OP_SPAN,
    LiveSpan,
    LiveTrace,
    NoOpSpan,
    record_of,
)
from mlflow_trace_nb._internal.tracer.live_trace import trace_record_of
from mlflow_trace_nb._internal.tracer.span_leaks import track_manual
from mlflow_trace_nb.errors import report_internal_error
from mlflow_trace_nb.tracing.provider import SpanStatus, SpanStatusCode, SpanType

__all__ = [
    "CONTINUED_FLUSH_S",
    "DEFAULT_SPAN_TYPE",
    "MAX_SPANS_PER_TRACE",
    "close_span",
    "end_with_result",
    "finish_span",
    "check_span_arguments",
    "open_span",
    "start_span",
]

_logger = logging.getLogger(__name__)

_RT = RUNTIME
_time_ns = time.time_ns
_random = random_fraction  # never the random module: see tracer.ids
_get_current = CURRENT_SPAN.get
_set_current = CURRENT_SPAN.set
#: The span type of a traced function or block when none is given (as in MLflow).
DEFAULT_SPAN_TYPE = SpanType.UNKNOWN
#: Longest the end of a continued trace's local root waits for it to be stored (seconds).
CONTINUED_FLUSH_S = 2.0
_STUCK_FLUSH_S = 0.05  # the wait while the last one timed out (see _flush_continued)
_continued_wait = CONTINUED_FLUSH_S
#: Most spans one trace records; further spans in it are no-ops (counted).
MAX_SPANS_PER_TRACE = 100_000
#: Trace metadata key counting the spans a trace did not record (span limit reached; spans
#: opened under an unrecorded one are not counted).
_BaseExceptionGroup: Any = getattr(builtins, "BaseExceptionGroup", None)  # Python >= 3.11
_warned_span_limit = False


def open_span(
    name: str,
    span_type: str | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
) -> LiveSpan:
    """Create a span under the active one (not made active). Returns the no-op span when
    tracing is disabled or the trace is not sampled. A root is sampled with probability
    ``sampling_rate``; children follow their root (an unsampled root's subtree records
    nothing), and a span under a ``RemoteParent`` follows the remote sampled flag."""
    parent = _get_current()
    if parent is None:
        rate = _RT.sampling_rate
        if rate < 1.0 and (rate <= 0.0 or _random() >= rate):
            return NoOpSpan()
        state = LiveTrace(_RT.experiment_id)
        if _RT.trace_start_hooks:
            _started(state)
        return LiveSpan(name, span_type, state, None, inputs, attributes)
    if not parent._recording:
        if isinstance(parent, RemoteParent):  # continuing another process's trace
            return _open_continued(parent, name, span_type, inputs, attributes)
        return NO_OP_SPAN
    state = parent._state
    if state.span_count < MAX_SPANS_PER_TRACE and state.generation == state.process_generation:
        return LiveSpan(name, span_type, state, parent, inputs, attributes)
    if state.generation != state.process_generation:
        return _open_forked(parent, name, span_type, inputs, attributes)
    return _over_limit(state)


def _open_forked(
    parent: LiveSpan,
    name: str,
    span_type: str | None,
    inputs: Any,
    attributes: dict[str, Any] | None,
) -> LiveSpan:
    """A span under one that was open when this process was forked: the local root of a
    fragment of that trace (same trace id, ``parent`` as its parent), merged into the trace
    by the store. The parent process writes the trace itself."""
    origin = parent._state
    state = _started(
        LiveTrace(origin.experiment_id, origin.trace_id_int, format_span_id(parent._span_id))
    )
    return LiveSpan(name, span_type, state, None, inputs, attributes)


def _over_limit(state: LiveTrace) -> LiveSpan:
    """A span past the trace's span limit: not recorded, counted, warned about once."""
    global _warned_span_limit
    dropped = state.dropped_spans = getattr(state, "dropped_spans", 0) + 1
    state.set_metadata(keys.DROPPED_SPANS, str(dropped))
    if not _warned_span_limit:
        _warned_span_limit = True
        _logger.warning(
            "mlflow-trace-nb: trace %s reached %d spans; further spans in it are not "
            "recorded (counted in its %r metadata). A span left open by mistake makes "
            "every later call its child: end spans, or use `with` blocks",
            state.request_id,
            MAX_SPANS_PER_TRACE,
            keys.DROPPED_SPANS,
        )
    return NO_OP_SPAN


def _open_continued(
    parent: RemoteParent,
    name: str,
    span_type: str | None,
    inputs: Any,
    attributes: dict[str, Any] | None,
) -> LiveSpan:
    """The local root of a trace started in another process. Parent-based sampling (as
    OpenTelemetry's default): the remote sampled flag decides, not ``sampling_rate``."""
    if not parent.sampled:
        return parent.copy()  # records nothing; still carries the context to further hops
    state = _started(
        LiveTrace(_RT.experiment_id, parent.remote_trace_id, format_span_id(parent.remote_span_id))
    )
    return LiveSpan(name, span_type, state, None, inputs, attributes)


def _started(state: LiveTrace) -> LiveTrace:
    """Run the trace-start hooks (cell tags, live display) on a new trace."""
    for hook in _RT.trace_start_hooks:
        try:
            hook(state)
        except Exception:
            report_internal_error("trace-start hook")
    return state


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
            _record_outcome(span, exc)
        close_span(span, end_time_ns)
    except RecursionError:  # too near the stack limit (a runaway recursion): leave it out
        pass
    except Exception:
        report_internal_error("ending a span")


def _record_outcome(span: LiveSpan, exc: BaseException) -> None:
    """Set the status an exception leaving the span calls for (see the module doc)."""
    if _is_cancellation(exc):
        span.status_code = SpanStatus.CANCELLED
        span.status_message = type(exc).__name__
    elif isinstance(exc, GeneratorExit) or (isinstance(exc, SystemExit) and _exit_ok(exc)):
        if span.status_code == SpanStatusCode.UNSET:
            span.status_code = SpanStatus.OK
    else:
        span.record_exception(exc)


def _exit_ok(exc: SystemExit) -> bool:
    code = exc.code
    return code is None or (type(code) in (int, bool) and not code)


_UNSET = SpanStatusCode.UNSET  # (module constants: an enum member's lookup is slow)
_OK = SpanStatus.OK


def close_span(span: LiveSpan, end_time_ns: int | None = None) -> None:
    """Stamp the end (status OK unless set), run hooks, hand the span's record on (and the
    trace's, for a root)."""
    if span.status_code == _UNSET:
        span.status_code = _OK
    span.end_time_ns = end_time_ns or _time_ns()
    span._exc = None  # the exception (its frames) is not needed once the span has ended
    if _RT.span_end_hooks:
        _run_span_end_hooks(span)
    state = span._state
    if span is state.root:
        state.closed = True
        state.last_exception = None  # let the exception (and its frames) go
        if state.generation != state.process_generation:
            return  # begun before fork(): the parent process writes it
        _RT.submit_trace(state, trace_record_of(span))
        if _RT.write_through:  # a forked child may end with os._exit(): write it now
            _RT.flush()
        elif state.remote_parent_id is not None:  # continued from another process
            _flush_continued()
    elif state.generation == state.process_generation:
        _RT.submit_span(record_of(span))


def _flush_continued() -> None:
    """Wait for a continued trace to be stored: up to ``CONTINUED_FLUSH_S``, or, while the
    writer is stuck (the last wait timed out: another process holds the file's lock, say),
    only ``_STUCK_FLUSH_S``, so a server's requests are not each held up for seconds."""
    global _continued_wait
    done = _RT.flush_for_read(_continued_wait)
    _continued_wait = CONTINUED_FLUSH_S if done else _STUCK_FLUSH_S


def end_with_result(span: LiveSpan, result: Any) -> None:
    """End a traced call that returned ``result`` (kept unless None and outputs were set)."""
    try:
        if result is not None or span._outputs is None:
            span._outputs = snapshot(result)
        close_span(span)
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


def _is_cancellation(exc: BaseException, depth: int = 0) -> bool:
    if isinstance(exc, KeyboardInterrupt):
        return True
    asyncio = sys.modules.get("asyncio")  # not imported: no CancelledError can exist
    if asyncio is not None and isinstance(exc, asyncio.CancelledError):
        return True
    if _BaseExceptionGroup is not None and isinstance(exc, _BaseExceptionGroup) and depth < 20:
        members = exc.exceptions
        return bool(members) and all(_is_cancellation(e, depth + 1) for e in members)
    return False


def check_span_arguments(name: Any, span_type: Any, attributes: Any, where: str) -> str | None:
    """The span type as a string (an ``Enum`` member of string value gives its value);
    TypeError unless ``name`` and ``span_type`` are strings (or None) and ``attributes`` a
    dict (or None)."""
    optional_str(name, f"{where}() name")
    if isinstance(span_type, enum.Enum) and isinstance(span_type.value, str):
        span_type = span_type.value
    text = optional_str(span_type, f"{where}() span_type")
    optional_mapping(attributes, f"{where}() attributes")
    return text


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

    A span still open when its notebook cell ends (or at exit, or when it is garbage
    collected) is ended then, with status ERROR (see ``span_leaks``). Raises TypeError if
    ``name``/``span_type`` are not strings or ``attributes`` not a dict.
    """
    span_type = check_span_arguments(name, span_type, attributes, "start_span")
    if not _RT.enabled:
        return NO_OP_SPAN
    try:
        span = open_span(
            name or "span", span_type or DEFAULT_SPAN_TYPE, snapshot(inputs), attributes
        )
        if span is not NO_OP_SPAN:
            span._token = _set_current(span)
            if span._recording and span._parent is None:
                track_manual(span._state)  # nothing forces it to end: see span_leaks
        return span
    except Exception:
        report_internal_error("starting a span")
        return NO_OP_SPAN


live_span._FINISH[:] = [finish_span]  # LiveSpan.end()/__exit__ (live_span cannot import us)
span_leaks._CLOSE[:] = [close_span]  # ending spans left open
