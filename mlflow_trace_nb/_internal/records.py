"""Finished-span and finished-trace records: what leaves the tracer.

When a span ends, the tracer makes one ``SpanRecord``: an immutable tuple of its ids,
parent, name, type, times, status and its inputs/outputs/attributes/events (snapshotted when
they were set; the span refuses changes once ended). When a root span ends, the tracer makes
one ``TraceRecord`` instead: the root's fields, then the trace's tags, metadata, status and
span count. Sinks (the local store, the remote exporters) and the display receive these,
never live spans.

Records are ``NamedTuple`` subclasses built with ``tuple.__new__`` (``make_span_record``):
about a tenth of a microsecond, no per-field validation on the caller's thread. Ids stay
integers until a sink formats them.

``SpanView``/``TraceView`` are the read protocol the display reads through: a stored
``entities.Span``/``Trace``, a live span and a record-built trace all offer it.

This module imports nothing of the package above ``tracer.ids``: everything may import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

__all__ = [
    "NO_PAIRS",
    "FixedAttributes",
    "SpanRecord",
    "SpanView",
    "TraceRecord",
    "TraceView",
    "make_span_record",
    "make_trace_record",
    "record_spans",
    "span_records",
]


class FixedAttributes(dict[str, Any]):
    """The attributes every span of one traced function starts with (MLflow's
    ``mlflow.spanFunctionName`` and the decorator's ``attributes=``): one dict shared by
    those spans and never changed (a span copies it before its first change of attributes),
    so a sink may encode it once (``json``, set by the first sink that needs it)."""

    __slots__ = ("json",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json: str | None = None


def _request_id(trace_id: int) -> str:
    return f"tr-{trace_id:032x}"  # as tracer.ids.format_request_id


class SpanRecord(NamedTuple):
    """One ended span (immutable). ``request_id`` (``tr-`` + 32 hex digits) is formatted
    from ``trace_id`` when read, by a sink, not on the caller's thread."""

    trace_id: int  # the 128-bit trace id
    span_id: int
    parent_id: int | None  # the parent's span id (a remote parent's for a continued root)
    experiment_id: str
    name: str
    span_type: str | None
    start_time_ns: int
    end_time_ns: int
    status_code: str
    status_message: str
    inputs: Any
    outputs: Any
    attributes: dict[str, Any] | None  # None: no attributes
    events: tuple[Any, ...]  # SpanEvent-like objects (name, timestamp_ns, attributes)
    remote_parent: bool  # parent_id belongs to another process (a continued trace)

    @property
    def request_id(self) -> str:
        """The trace's public id, ``tr-`` + 32 hex digits."""
        return _request_id(self.trace_id)


class TraceRecord(NamedTuple):
    """A trace whose root span has ended: its root's fields (the 15 of ``SpanRecord``, in the
    same order, so a sink reads a trace record's first 15 items as its root's span record),
    then its tags, metadata, status and span count. One item in the pipeline, and one object
    for the GC to track, for the root and its trace; the other spans travel as
    ``SpanRecord`` s of their own. ``root`` gives the root's ``SpanRecord``."""

    trace_id: int
    span_id: int  # the root's
    parent_id: int | None  # a remote parent's span id (a continued trace), else None
    experiment_id: str
    name: str
    span_type: str | None
    start_time_ns: int
    end_time_ns: int
    status_code: str  # the root span's status
    status_message: str
    inputs: Any
    outputs: Any
    attributes: dict[str, Any] | None
    events: tuple[Any, ...]
    remote_parent: bool  # continued from another process: merged into the trace
    tags: Mapping[str, str]
    metadata: Mapping[str, str]
    status: str  # the root's status, or the state update_current_trace(state=) set
    # (IN_PROGRESS for a view of a running trace)
    span_count: int  # spans the trace recorded

    @property
    def root(self) -> SpanRecord:
        """The root span's record."""
        return _new(SpanRecord, self[:_SPAN_FIELDS])

    @property
    def fragment(self) -> bool:
        """Continued from another process: merged into the trace, never replaces it."""
        return self.remote_parent

    @property
    def request_id(self) -> str:
        """The trace's public id, ``tr-`` + 32 hex digits."""
        return _request_id(self.trace_id)

    @property
    def root_span_id(self) -> int:
        return self.span_id

    @property
    def request(self) -> Any:
        """The root's inputs."""
        return self.inputs

    @property
    def response(self) -> Any:
        """The root's outputs."""
        return self.outputs


_SPAN_FIELDS = len(SpanRecord._fields)


#: Tags or metadata of a trace that has none (shared, read-only).
NO_PAIRS: Mapping[str, str] = MappingProxyType({})
_new = tuple.__new__


def make_span_record(
    trace_id: int,
    span_id: int,
    parent_id: int | None,
    experiment_id: str,
    name: str,
    span_type: str | None,
    start_time_ns: int,
    end_time_ns: int,
    status_code: str,
    status_message: str,
    inputs: Any,
    outputs: Any,
    attributes: dict[str, Any] | None,
    events: Sequence[Any] | None,
    remote_parent: bool = False,
) -> SpanRecord:
    """A ``SpanRecord`` (dicts and lists copied: the record never changes after this)."""
    return _new(
        SpanRecord,
        (
            trace_id,
            span_id,
            parent_id,
            experiment_id,
            name,
            span_type,
            start_time_ns,
            end_time_ns,
            status_code,
            status_message,
            inputs,
            outputs,
            dict(attributes) if attributes else None,
            tuple(events) if events else (),
            remote_parent,
        ),
    )


def make_trace_record(
    root: SpanRecord,
    tags: Mapping[str, str] | None,
    metadata: Mapping[str, str] | None,
    span_count: int,
    status: str | None = None,
) -> TraceRecord:
    """The ``TraceRecord`` of a trace whose root span ended as ``root`` (``status``: the
    trace's, when set apart from the root's)."""
    return _new(
        TraceRecord,
        (
            *root,
            dict(tags) if tags else NO_PAIRS,
            dict(metadata) if metadata else NO_PAIRS,
            status or root.status_code,
            span_count,
        ),
    )


def record_spans(item: Any) -> int:
    """Spans an item of the pipeline carries: one (a span record, or a trace record with
    its root's)."""
    return 1


def span_records(items: Sequence[Any]) -> list[SpanRecord]:
    """The span records of a batch of pipeline items (a trace record gives its root's)."""
    return [item.root if type(item) is TraceRecord else item for item in items]


class SpanView(Protocol):
    """What the display and the query layer read of a span (stored, live or recorded)."""

    @property
    def name(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def span_type(self) -> str | None: ...
    @property
    def start_time_ns(self) -> int: ...
    @property
    def end_time_ns(self) -> int | None: ...
    @property
    def status_code(self) -> str: ...
    @property
    def status_message(self) -> str: ...
    @property
    def inputs(self) -> Any: ...
    @property
    def outputs(self) -> Any: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def events(self) -> Sequence[Any]: ...


class TraceView(Protocol):
    """What the display reads of a trace that may still be running: its id and its spans
    so far."""

    @property
    def request_id(self) -> str: ...
    @property
    def spans(self) -> Sequence[Any]: ...
