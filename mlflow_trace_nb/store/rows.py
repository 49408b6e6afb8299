"""Turn span and trace records (``_internal.records``) into the tuples the SQLite tables take.

This is where payloads are serialised, on the writer thread, never on the caller's, and
where every other text field is made safe and bounded (``store.limits``): a value SQLite
cannot take must fail nothing, least of all the other traces of its batch.
Column order matches ``SPAN_COLUMNS`` / ``TRACE_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from mlflow_trace_nb._internal.records import FixedAttributes, SpanRecord, TraceRecord
from mlflow_trace_nb._internal.serialization import dumps, dumps_dict
from mlflow_trace_nb._internal.tracer.ids import format_request_id, format_span_id
from mlflow_trace_nb.store.event_rows import events_json
from mlflow_trace_nb.store.limits import (
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    clean_int,
    clean_pairs,
    clean_text,
)

__all__ = [
    "IN_PROGRESS",
    "ROOT_COLUMNS",
    "SPAN_COLUMNS",
    "TRACE_COLUMNS",
    "TRACE_WRITE_COLUMNS",
    "TraceRows",
    "batch_rows",
    "span_row",
    "trace_row",
]

#: Status of a trace row whose root span has not ended yet.
IN_PROGRESS = "IN_PROGRESS"

SPAN_COLUMNS = (
    "request_id",
    "span_id",
    "parent_id",
    "name",
    "span_type",
    "start_time_ns",
    "end_time_ns",
    "status_code",
    "status_message",
    "inputs",
    "outputs",
    "attributes",
    "events",
)
TRACE_COLUMNS = (
    "request_id",
    "experiment_id",
    "name",
    "timestamp_ms",
    "execution_time_ms",
    "status",
    "request",
    "response",
    "request_metadata",
    "tags",
)

#: The root span's own columns in its trace's ``traces`` row: a trace's root is stored
#: there, not in ``span_rows`` (its name, status, inputs and outputs are the trace's
#: ``name``, ``status``, ``request`` and ``response``), so a one-span trace is one row.
#: The ``spans`` view (migration 3) shows ``span_rows`` and these roots as one table.
ROOT_COLUMNS = (
    "root_span_id",
    "root_span_type",
    "root_start_ns",
    "root_end_ns",
    "root_status_message",
    "root_attributes",
    "root_events",
)
#: A ``traces`` row as written: ``TRACE_COLUMNS`` (what reads select), then ``ROOT_COLUMNS``.
TRACE_WRITE_COLUMNS = TRACE_COLUMNS + ROOT_COLUMNS
_NO_ROOT = (None,) * len(ROOT_COLUMNS)
_NO_PAIRS: dict[str, str] = {}  # never written to

SpanRow = tuple[Any, ...]
#: No rows (shared and immutable: an empty list per trace would be one more GC object).
NO_ROWS: Sequence[Any] = ()


class TraceRows(NamedTuple):
    """Rows for one trace: the ``traces`` row, its tag and metadata rows, its span rows.

    ``fragment`` is True for the part of a trace recorded in a process that continued it
    from a ``traceparent`` header (its root's parent lives in another process): the store
    merges a fragment into the trace instead of replacing the trace's row. ``open`` is True
    for spans of a trace whose root has not ended: its row is written IN_PROGRESS if the
    trace has none yet, and replaced when the root ends. ``root`` is True when the root
    span is in ``trace`` (its ``ROOT_COLUMNS``), not in ``spans``. (A tuple: made once per
    trace on the writer, it costs a third of a class instance.)
    """

    trace: tuple[Any, ...]
    tags: Sequence[tuple[str, str, str]]
    metadata: Sequence[tuple[str, str, str]]
    spans: Sequence[SpanRow]
    fragment: bool = False
    open: bool = False
    root: bool = False

    @property
    def span_count(self) -> int:
        """Spans these rows hold: ``spans`` and, when it is in the trace row, the root."""
        return len(self.spans) + self.root


def span_row(span: SpanRecord | TraceRecord, request_id: str | None = None) -> SpanRow:
    """Serialise one span record (its payloads as JSON text) into a ``spans`` row
    (``request_id``: the record's, when the caller has formatted it already)."""
    (trace_id, span_id, parent, _, name, span_type, start, end, status, message) = span[:10]
    if request_id is None:
        request_id = format_request_id(trace_id)
    parent_text = None
    if parent is not None:
        parent_text = f"{parent:016x}" if type(parent) is int else clean_text(parent, 64)
    return (
        request_id,
        f"{span_id:016x}" if type(span_id) is int else format_span_id(span_id),
        parent_text,
        name
        if type(name) is str and len(name) <= MAX_NAME_CHARS and name.isascii()
        else _name(name),
        span_type
        if span_type is None
        or (type(span_type) is str and len(span_type) <= MAX_NAME_CHARS and span_type.isascii())
        else _name(span_type),
        start if type(start) is int else (clean_int(start) or 0),
        end if end is None or type(end) is int else clean_int(end),
        status,
        message if not message else _message(message),
        *_payloads(span),
    )


def _name(name: Any) -> str:
    """A span's name or type as stored: short ASCII text as it is, else cleaned and capped."""
    if type(name) is str and len(name) <= MAX_NAME_CHARS and name.isascii():
        return name
    return clean_text(name, MAX_NAME_CHARS)


def _message(message: Any) -> Any:
    if not message or (
        type(message) is str and len(message) <= MAX_MESSAGE_CHARS and message.isascii()
    ):
        return message
    return clean_text(message, MAX_MESSAGE_CHARS)


def _payloads(span: SpanRecord | TraceRecord) -> tuple[str | None, str | None, str, str]:
    """A span record's inputs, outputs, attributes and events as JSON text."""
    inputs, outputs, attributes, events = span[10:14]
    return (
        None if inputs is None else dumps(inputs),
        None if outputs is None else dumps(outputs),
        _attributes_json(attributes),
        events_json(events) if events else "[]",
    )


def embedded_row(
    trace: TraceRecord, request_id: str, tags: dict[str, str], metadata: dict[str, str]
) -> tuple[Any, ...]:
    """The ``traces`` row of a trace whose root goes in it (``TRACE_WRITE_COLUMNS``), built
    straight from the records: the commonest row of all (every one-span trace is one)."""
    # a trace record's first 15 fields are its root's span record's
    (_, span_id, _, experiment, name, span_type, start, raw_end, _, message, inputs, outputs,
     attributes, events, _, _, _, status, _) = trace  # fmt: skip
    end: int | None = raw_end
    if type(start) is not int:
        start = clean_int(start) or 0
    if end is not None and type(end) is not int:
        end = clean_int(end)
    return (
        request_id,
        experiment_key(experiment),
        _name(name),
        start // 1_000_000,
        None if end is None else (end - start) // 1_000_000,
        status,
        None if inputs is None else dumps(inputs),
        None if outputs is None else dumps(outputs),
        dumps_dict(metadata) if metadata else "{}",
        dumps_dict(tags) if tags else "{}",
        f"{span_id:016x}" if type(span_id) is int else format_span_id(span_id),
        None if span_type is None else _name(span_type),
        start,
        end,
        _message(message),
        _attributes_json(attributes),
        events_json(events) if events else "[]",
    )


def _attributes_json(attributes: dict[str, Any] | None) -> str:
    """A span's attributes as JSON text (a traced function's shared ones encoded once)."""
    if not attributes:
        return "{}"
    if type(attributes) is FixedAttributes:
        return attributes.json or _fixed_json(attributes)
    return dumps_dict(attributes)


def _fixed_json(attributes: FixedAttributes) -> str:
    """A traced function's shared attributes as JSON, encoded once (kept on the dict)."""
    text = attributes.json = dumps_dict(attributes)
    return text


def trace_row(
    trace: TraceRecord,
    root_row: SpanRow | None = None,
    tags: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[Any, ...]:
    """The ``traces`` row of a trace record, its ``TRACE_COLUMNS`` (``root_row``: the root's
    span row, if made already, so its payloads are serialised once; ``tags``/``metadata``:
    cleaned already). ``embedded_row`` makes the row of a trace holding its root."""
    if root_row is None:
        root_row = span_row(trace)  # its first fields are its root's
    if tags is None:
        tags = clean_pairs(trace.tags)
    if metadata is None:
        metadata = clean_pairs(trace.metadata)
    start, end = root_row[5], root_row[6]
    return (
        root_row[0],
        experiment_key(trace.experiment_id),
        root_row[3],
        start // 1_000_000,
        None if end is None else (end - start) // 1_000_000,
        trace.status,  # the root's status, IN_PROGRESS, or a state set apart from the root's
        root_row[9],
        root_row[10],
        dumps_dict(metadata) if metadata else "{}",
        dumps_dict(tags) if tags else "{}",
    )


_EXPERIMENT_KEYS: dict[str, int] = {}


def experiment_key(experiment: Any) -> int:
    """The ``experiment_id`` column value of an experiment id (a digit string; anything
    else is the default experiment, 0). Remembered for the few ids a process uses."""
    key = _EXPERIMENT_KEYS.get(experiment) if type(experiment) is str else None
    if key is not None:
        return key
    key = (
        int(experiment)
        if type(experiment) is str
        and len(experiment) < 19
        and experiment.isascii()
        and experiment.isdigit()
        else (clean_int(experiment) or 0)
    )
    if type(experiment) is str and len(_EXPERIMENT_KEYS) < 1_000:
        _EXPERIMENT_KEYS[experiment] = key
    return key


def _open_row(span: SpanRecord, row: SpanRow) -> tuple[Any, ...]:
    """The IN_PROGRESS ``traces`` row written with a trace's first span (if it has none)."""
    return (
        row[0],
        experiment_key(span.experiment_id),
        None,
        row[5] // 1_000_000,
        None,
        IN_PROGRESS,
        None,
        None,
        "{}",
        "{}",
        *_NO_ROOT,
    )


def finished_rows(trace: TraceRecord, spans: Sequence[SpanRow], request_id: str) -> TraceRows:
    """The rows of a finished trace (with those of its spans in the same batch). Its root
    goes in its trace row, except a fragment's (its parent is in another process) and that
    of a trace whose state ``update_current_trace(state=)`` set apart from the root's status
    (``traces.status`` holds the trace's; the spans view reads an embedded root's from it):
    those go with the spans."""
    tags = clean_pairs(trace.tags) if trace.tags else _NO_PAIRS
    metadata = clean_pairs(trace.metadata) if trace.metadata else _NO_PAIRS
    fragment = trace.remote_parent
    embed = not fragment and trace.parent_id is None and trace.status == trace.status_code
    if embed:
        row = embedded_row(trace, request_id, tags, metadata)
    else:
        root_row = span_row(trace, request_id)  # its first fields are its root's
        spans = [*spans, root_row]
        row = trace_row(trace, root_row, tags, metadata) + _NO_ROOT
    return _new_rows(
        TraceRows,
        (
            row,
            [(request_id, k, v) for k, v in tags.items()] if tags else NO_ROWS,
            [(request_id, k, v) for k, v in metadata.items()] if metadata else NO_ROWS,
            spans,
            fragment,
            False,
            embed,
        ),
    )


_new_rows = tuple.__new__


def batch_rows(items: Sequence[Any], reject: Any) -> list[TraceRows]:
    """Rows for a batch of records: one ``TraceRows`` per trace the batch touches (finished
    ones with their trace row; others IN_PROGRESS). ``reject(spans, error)`` is called for
    a record that cannot be serialised: it is left out, never its batch."""
    # Few tracked objects per trace (the GC's young passes run every ~700 of them and
    # traverse the pending records): no per-trace tuples or empty lists.
    request_ids: dict[int, str] = {}  # trace id -> request id
    span_lists: dict[int, list[SpanRow]] = {}  # span rows by trace id (traces arrive contiguous)
    firsts: dict[int, SpanRecord] = {}  # the first span record of each of span_lists' traces
    done: list[Any] = []  # TraceRecords, and the rows of one-span traces (made at once)
    for item in items:
        try:
            if type(item) is TraceRecord:
                if item.span_count == 1 and not item.remote_parent:
                    # no span rows of its own to wait for (the commonest trace): its rows are
                    # made now, and kept in ``done`` so rows keep the order traces ended in
                    item = finished_rows(item, NO_ROWS, format_request_id(item[0]))
                done.append(item)
                continue
            trace_id = item[0]
            request_id = request_ids.get(trace_id)
            if request_id is None:
                request_id = request_ids[trace_id] = format_request_id(trace_id)
            row = span_row(item, request_id)
            rows = span_lists.get(trace_id)
            if rows is None:
                span_lists[trace_id] = [row]
                firsts[trace_id] = item
            else:
                rows.append(row)
        except Exception as error:  # one odd record must not cost its batch
            reject(1, error)
    out: list[TraceRows] = []
    take = span_lists.pop
    for trace in done:
        if type(trace) is TraceRows:
            out.append(trace)
            continue
        # a fragment (continued elsewhere) shares its trace id: its rows go with the first
        trace_id = trace[0]
        rows = take(trace_id, None) if span_lists else None
        try:
            request_id = request_ids.get(trace_id) or format_request_id(trace_id)
            out.append(finished_rows(trace, NO_ROWS if rows is None else rows, request_id))
        except Exception as error:  # only the trace's own record is lost, not its spans
            reject(1, error)
            if rows is not None:
                span_lists[trace_id] = rows
    for trace_id, rows in span_lists.items():
        opened = _open_row(firsts[trace_id], rows[0])
        out.append(TraceRows(opened, NO_ROWS, NO_ROWS, rows, open=True))
    return out
