"""``LiveTrace``: one trace while it is recorded. Each span is handed to the pipeline as a
record when it ends; the trace keeps only its first ``LIVE_SPANS_KEPT`` live spans (for the
notebook's live view and for ending spans left open) and counts the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlflow_trace_nb._internal.records import (
    NO_PAIRS,
    SpanRecord,
    TraceRecord,
    make_trace_record,
)
from mlflow_trace_nb._internal.text import as_text
from mlflow_trace_nb._internal.tracer import ids

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.tracer.capture import ExceptionRecord
    from mlflow_trace_nb.entities import Trace

__all__ = ["LIVE_SPANS_KEPT", "LiveTrace", "record_of", "trace_record_of"]

#: Live spans a running trace keeps for the notebook's live view and for ending spans left
#: open; later ones are only counted (their records are in the pipeline, then the store).
LIVE_SPANS_KEPT = 2_000
_new = tuple.__new__


def record_of(span: Any) -> SpanRecord:
    """The immutable record of ``span`` (ended: the tracer calls this once, at its end).

    Payloads were snapshotted when set and an ended span refuses changes, so the record
    shares them instead of copying."""
    state = span._state
    parent = span._parent
    remote = False
    if parent is None:
        parent_id = state.remote_parent_span_id() if state.remote_parent_id else None
        remote = parent_id is not None
    else:
        parent_id = parent._span_id
    events = span._events
    trace_id = state._trace_id
    if trace_id is None:  # drawn from the root's start (the only span that can be first)
        trace_id = state._trace_id = ids.new_trace_id(state.root.start_time_ns)
    return _new(
        SpanRecord,
        (
            trace_id,
            span._span_id,
            parent_id,
            state.experiment_id,
            span.name,
            span.span_type,
            span.start_time_ns,
            span.end_time_ns,
            span.status_code,
            span.status_message,
            span._inputs,
            span._outputs,
            span._attributes or None,
            tuple(events) if events else (),
            remote,
        ),
    )


def trace_record_of(root: Any) -> TraceRecord:
    """The record of a trace whose ``root`` span has just ended: the root's fields (as
    ``record_of`` makes them; a root's parent is remote or none) and the trace's, made as
    one tuple: the end of every root runs this."""
    state = root._state
    parent_id = state.remote_parent_span_id() if state.remote_parent_id else None
    trace_id = state._trace_id
    if trace_id is None:
        trace_id = state._trace_id = ids.new_trace_id(root.start_time_ns)
    events, tags, metadata = root._events, state.tags, state.metadata
    status = root.status_code
    return _new(
        TraceRecord,
        (
            trace_id,
            root._span_id,
            parent_id,
            state.experiment_id,
            root.name,
            root.span_type,
            root.start_time_ns,
            root.end_time_ns,
            status,
            root.status_message,
            root._inputs,
            root._outputs,
            root._attributes or None,
            tuple(events) if events else (),
            parent_id is not None,
            dict(tags) if tags else NO_PAIRS,
            dict(metadata) if metadata else NO_PAIRS,
            state.state or status,  # update_current_trace(state=) wins
            state.span_count,
        ),
    )


class LiveTrace:
    """The spans of one trace while it is being recorded."""

    __slots__ = (
        "__weakref__",  # span_leaks keeps the traces started with start_span in a WeakSet
        "_request_id",
        "_trace_id",
        "closed",
        "dropped_spans",
        "experiment_id",
        "generation",
        "kept",
        "last_exception",
        "last_record",
        "metadata",
        "remote_parent_id",
        "root",
        "span_count",
        "spans",
        "state",
        "tags",
        "unkept_open",
    )
    #: Bumped in a forked child: a trace of another ``generation`` was begun by the parent
    #: process (copied by fork), which alone writes it.
    process_generation = 0
    #: True for ``span_leaks.ManualTrace`` (its ``release`` keeps spans still open).
    manual = False

    def __init__(
        self,
        experiment_id: str,
        trace_id: int | None = None,
        remote_parent_id: str | None = None,
    ) -> None:
        self._trace_id = trace_id  # drawn on first read, from the root's start time
        self._request_id: str | None = None
        self.experiment_id = experiment_id
        # live_span.LiveSpan objects (not imported: live_span imports this module)
        self.spans: list[Any] = []  # the first LIVE_SPANS_KEPT spans
        self.span_count = 0  # spans recorded (kept or not)
        self.root: Any = None
        self.tags: dict[str, str] | None = None  # created on first use: fewer GC objects
        self.metadata: dict[str, str] | None = None
        self.closed = False
        # The trace's own state when update_current_trace(state=) set it (OK or ERROR), kept
        # apart from the root span's status as MLflow 3 keeps them; None: the root's status.
        self.state: str | None = None
        self.remote_parent_id = remote_parent_id
        self.generation = self.process_generation
        self.kept = False  # a view (the notebook's) keeps it once ended: spans kept whole
        # Unset until needed (read with getattr; a shorter hot path): spans not recorded (span
        # limit), and the last exception recorded, described once however deep it goes.
        self.dropped_spans: int
        # manual spans (start_span_no_context) past LIVE_SPANS_KEPT, kept while open so a
        # forgotten one is still ended at exit (span_leaks.track_unkept)
        self.unkept_open: list[Any]
        self.last_exception: BaseException | None
        self.last_record: ExceptionRecord | None

    @property
    def request_id(self) -> str:
        """``tr-`` + 32 hex digits (formatted on first read, not on the hot path)."""
        request_id = self._request_id
        if request_id is None:
            request_id = self._request_id = ids.format_request_id(self.trace_id_int)
        return request_id

    @property
    def trace_id_int(self) -> int:
        """The 128-bit trace id: drawn when first needed (off the hot path), its time prefix
        taken from the root span's start, so ids still sort by trace start."""
        trace_id = self._trace_id
        if trace_id is None:
            root = self.root
            start_ns = root.start_time_ns if root is not None else None
            trace_id = self._trace_id = ids.new_trace_id(start_ns)
        return trace_id

    def release(self) -> None:
        """Break the trace <-> span reference cycle of an ended trace, so its spans are freed
        at once by reference counting, never left for the cyclic GC (whose collections were
        ~2 µs a span under load). ``span_leaks.ManualTrace`` keeps a trace with spans still
        open, so they are ended and written when collected or at exit."""
        self.spans.clear()
        self.root = None

    def remote_parent_span_id(self) -> int | None:
        """The remote parent's span id as an int (a trace continued from another process)."""
        text = self.remote_parent_id
        if text is None:
            return None
        try:
            return int(text, 16)
        except (TypeError, ValueError):
            return None

    def set_tag(self, key: str, value: str) -> None:
        """Set a trace tag (string to string)."""
        if self.tags is None:
            self.tags = {}
        self.tags[as_text(key)] = as_text(value)

    def set_metadata(self, key: str, value: str) -> None:
        """Set a request-metadata entry (string to string)."""
        if self.metadata is None:
            self.metadata = {}
        self.metadata[as_text(key)] = as_text(value)

    def trace_record(self) -> TraceRecord:
        """The record of this trace (its root's summary, tags, metadata); a trace whose root
        is still running is IN_PROGRESS."""
        root = self.root
        if root is None:
            raise ValueError("a trace without a root span")
        record = make_trace_record(record_of(root), self.tags, self.metadata, self.span_count)
        if root.end_time_ns is None:
            record = record._replace(status="IN_PROGRESS")
        elif self.state is not None:
            record = record._replace(status=self.state)
        return record

    def to_trace(self) -> Trace:
        """Build a read-only ``Trace`` from the kept spans (payloads JSON-safe); spans still
        running show without an end time."""
        from mlflow_trace_nb.store.rows import span_row, trace_row
        from mlflow_trace_nb.store.trace_builder import build_trace, pack_span_row

        spans = [span_row(record_of(s)) for s in list(self.spans)]
        return build_trace(trace_row(self.trace_record()), [pack_span_row(r) for r in spans])
