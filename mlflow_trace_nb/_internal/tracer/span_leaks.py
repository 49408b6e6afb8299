"""Spans left open by mistake: a forgotten ``end()`` must not swallow later work.

A span made active with ``start_span(...)`` (or ``start_span(...).__enter__()``) and never
ended stays the active span: every later span would become its child, its trace would never
be written, and its spans would pile up in memory. Three places end such spans:

- **the end of a notebook cell** (IPython ``post_run_cell``, see ``display.cell_flush``):
  the span still active when the cell ends, and its open ancestors, are ended and the next
  cell starts with no active span, so later cells start fresh traces;
- **interpreter exit** (``atexit``): the same, for the main thread's context, and every
  trace whose root was started with ``start_span``/``start_span_no_context`` and is still
  open (``track_manual``), whatever thread or object holds it;
- **garbage collection**: a trace whose root was started with ``start_span`` and that
  becomes unreachable while open (the span object dropped without ``end()``, or the thread
  whose context held it finished) has its open spans ended and is written.

Status: a span ended this way gets **ERROR**, with a status message saying why (e.g. ``span
was still open when the cell ended``); if the cell raised, the cell's exception is recorded
on the innermost such span. ERROR, not OK: the span's work did not finish normally, and
``search_traces(filter_string="status = 'ERROR'")`` finds it. A span meant to stay open
across cells is not supported: end it in the cell that started it (a ``with`` block does).
"""

from __future__ import annotations

import atexit
import logging
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.shutdown import threads_allowed
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN
from mlflow_trace_nb._internal.tracer.live_span import LiveTrace, record_of
from mlflow_trace_nb.tracing.provider import SpanStatus

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.records import SpanRecord, TraceRecord
    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan

__all__ = [
    "CELL_END_MESSAGE",
    "COLLECTED_MESSAGE",
    "EXIT_MESSAGE",
    "ManualTrace",
    "end_spans_left_open",
    "track_manual",
    "track_unkept",
]

_logger = logging.getLogger(__name__)

#: Status message of a span ended because its notebook cell ended.
CELL_END_MESSAGE = "span was still open when the cell ended"
#: Status message of a span ended at interpreter exit.
EXIT_MESSAGE = "span was still open at interpreter exit"
#: Status message of a span ended because its trace was garbage collected.
COLLECTED_MESSAGE = "span was never ended (garbage collected while open)"
_warned = False
#: ``span_lifecycle._close``, registered by that module (it imports this one).
_CLOSE: list[Callable[..., None]] = []


def end_spans_left_open(reason: str, error: BaseException | None = None) -> int:
    """End the span active in the calling context and its open ancestors, and leave no span
    active. Each gets status ERROR with ``reason`` as its message; ``error`` (the exception
    that left them open, if known) is recorded on the innermost. Returns how many spans
    were ended. Never raises."""
    global _warned
    try:
        current = CURRENT_SPAN.get()
        if current is None:
            return 0
        CURRENT_SPAN.set(None)
        ended = _end_chain(current, reason, error)
        if ended:
            log = _logger.debug if _warned else _logger.warning
            _warned = True
            log("mlflow-trace-nb: ended %d span(s) left open (%s)", ended, reason)
        return ended
    except Exception:
        from mlflow_trace_nb.errors import report_internal_error

        report_internal_error("ending spans left open")
        return 0


def _end_chain(span: LiveSpan | None, reason: str, error: BaseException | None) -> int:
    close = _CLOSE[0]
    ended = 0
    while span is not None and span._recording:  # a RemoteParent/no-op ends nothing
        if span.end_time_ns is None:
            if error is not None and ended == 0:
                span.record_exception(error)
            span.status_code = SpanStatus.ERROR
            span.status_message = reason
            span._token = None
            close(span)
            ended += 1
        span = span._parent
    return ended


_MANUAL: weakref.WeakSet[LiveTrace] = weakref.WeakSet()


def track_manual(trace: LiveTrace) -> None:
    """Make ``trace`` (a span of it started with ``start_span`` or
    ``start_span_no_context``, which nothing forces to end) a ``ManualTrace``: its open
    spans are ended and written if it is collected while open, or at interpreter exit."""
    if trace.__class__ is not ManualTrace:
        trace.__class__ = ManualTrace
        _MANUAL.add(trace)


def track_unkept(span: LiveSpan) -> None:
    """Keep ``span`` (started with ``start_span_no_context`` past the trace's
    ``LIVE_SPANS_KEPT``) while it is open, so exit or collection can still end it. Ended
    spans are pruned whenever the list reaches a power of two (amortised O(1))."""
    trace = span._state
    spans: list[LiveSpan] | None = getattr(trace, "unkept_open", None)
    if spans is None:
        spans = trace.unkept_open = []
    count = len(spans)
    if count >= 1024 and count & (count - 1) == 0:
        spans[:] = [s for s in spans if s.end_time_ns is None]
    spans.append(span)


def _tracked_spans(trace: LiveTrace) -> list[LiveSpan]:
    """The trace's kept spans and its unkept open manual ones, in start order."""
    unkept = getattr(trace, "unkept_open", None)
    return [*trace.spans, *unkept] if unkept else list(trace.spans)


def _end_manual_traces(reason: str) -> int:
    """End the open spans of every tracked trace (innermost first, its root last, if
    open: a span left open under a root that has ended is written as a late span of its
    trace); returns how many were ended."""
    close = _CLOSE[0]
    ended = 0
    for trace in list(_MANUAL):
        root = trace.root
        if root is None or trace.generation != trace.process_generation:
            continue  # begun before fork(): the parent process ends it
        for span in reversed(_tracked_spans(trace)):
            if span.end_time_ns is None and span._recording:
                span.status_code = SpanStatus.ERROR
                span.status_message = reason
                close(span)
                ended += 1
        if root.end_time_ns is None:  # the root beyond the kept spans: end it too
            root.status_code = SpanStatus.ERROR
            root.status_message = reason
            close(root)
            ended += 1
    return ended


class ManualTrace(LiveTrace):
    """A trace whose root was started with ``start_span`` (which nothing forces to end):
    if it is garbage collected while open, its open spans are ended (ERROR) and it is
    written."""

    __slots__ = ()
    manual = True

    def release(self) -> None:
        """As ``LiveTrace.release``, unless a span is still open (a child of a root that
        ended): the trace is kept whole so that span is ended and written later."""
        if not any(span.end_time_ns is None for span in _tracked_spans(self)):
            LiveTrace.release(self)
            unkept = getattr(self, "unkept_open", None)
            if unkept:
                unkept.clear()

    def __del__(self) -> None:
        if self.root is None:
            return
        try:  # noqa: SIM105 (module globals may be gone at teardown, contextlib too)
            _write_abandoned(self)
        except Exception:
            pass


def _write_abandoned(trace: LiveTrace) -> None:
    if trace.generation != trace.process_generation:
        return  # begun before fork(): the parent process writes it
    now = time.time_ns()
    records: list[SpanRecord | TraceRecord] = []
    for span in reversed(_tracked_spans(trace)):
        if span.end_time_ns is None:
            span.status_code = SpanStatus.ERROR
            span.status_message = COLLECTED_MESSAGE
            span.end_time_ns = now
            if span is not trace.root:  # the root travels in the trace's record
                records.append(record_of(span))
    if trace.closed:  # the root ended and was written: these are late spans of its trace
        if not records:
            return
    else:
        trace.closed = True
        records.append(trace.trace_record())
    # A finalizer may run inside any code, the writer's own included: no locks, no thread
    # start, no waiting. The next put or flush (cell end, exit, a query) writes it; once the
    # interpreter exits there may be none, and the queue writes it on this thread.
    queue = RUNTIME.queue
    if threads_allowed():
        queue.put_nowait(records)
    else:
        for item in records:
            queue.put(item, 1)


def _end_at_exit() -> None:
    end_spans_left_open(EXIT_MESSAGE)
    try:
        _end_manual_traces(EXIT_MESSAGE)
    except Exception:
        from mlflow_trace_nb.errors import report_internal_error

        report_internal_error("ending spans left open at exit")


# Registered after the runtime's exit flush, so it runs before it (atexit is LIFO).
atexit.register(_end_at_exit)
