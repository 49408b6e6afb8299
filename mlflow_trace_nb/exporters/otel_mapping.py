"""Our span records as OpenTelemetry ``ReadableSpan`` objects, readable by MLflow and
OpenInference UIs.

Everything here reads records (``_internal.records.SpanRecord``/``TraceRecord``), never live
spans. The mapping is ``otel_attributes(span_record) -> dict`` (plus ``experiment_id``, to
name a remote experiment instead of the record's own, and ``conventions``).

Ids: the OTel trace id is our 128-bit trace id (so MLflow's ``tr-<hex>`` id of an ingested
trace equals our ``request_id``) and span ids are our 64-bit span ids.

Attributes, besides the span's own (JSON-encoded when not an OTel primitive):

- MLflow: ``mlflow.spanType``, ``mlflow.spanInputs``, ``mlflow.spanOutputs``,
  ``mlflow.traceRequestId`` and ``mlflow.experimentId``, each a JSON string, as MLflow's
  own tracer writes them (bare numbers and booleans as OTel numbers/booleans, which is
  how MLflow's OTLP ingest reads them back unchanged). Other string attributes are sent
  as they are, so every OTLP UI shows them plainly.
- OpenInference (Phoenix, Arize) and OpenTelemetry GenAI keys: see ``semconv_select``,
  ``semconv_openinference`` and ``semconv_genai``; a destination chooses which key sets it
  gets (``OTLP(..., semconv=...)``, all by default).

Statuses: OK, ERROR and UNSET map to themselves; CANCELLED and TIMEOUT (which OTel lacks)
become ERROR with the status name in the description. Events keep name, time and attributes.
Everything here runs on an exporter's background thread, never on the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.records import SpanRecord, TraceRecord
from mlflow_trace_nb._internal.serialization import dumps
from mlflow_trace_nb._internal.tracer.ids import format_span_id
from mlflow_trace_nb.exporters.semconv_openinference import OPENINFERENCE_KINDS
from mlflow_trace_nb.exporters.semconv_select import ALL, MLFLOW, semconv_attributes

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "OPENINFERENCE_KINDS",
    "SERVICE_NAME",
    "otel_attributes",
    "snapshot_items",
    "to_readable_span",
    "to_readable_spans",
]

SERVICE_NAME = "mlflow-trace-nb"

_PRIMITIVES = (str, bool, int, float)

#: The spans of one trace in a batch (its root's included when the root ended in it), with
#: the trace's record when its root ended in this batch.
Entry = tuple[TraceRecord | None, tuple[SpanRecord, ...]]


def snapshot_items(items: Iterable[Any]) -> list[Entry]:
    """Group the pipeline's records by trace: one entry per trace a batch touches, its span
    records in order (a trace record gives its root's), with its ``TraceRecord`` if the root
    ended in this batch. Records are immutable: nothing is copied."""
    spans: dict[int, list[SpanRecord]] = {}  # by trace id
    traces: dict[int, TraceRecord] = {}
    for item in items:
        if type(item) is TraceRecord:
            traces[item.trace_id] = item
            spans.setdefault(item.trace_id, []).append(item.root)
        elif type(item) is SpanRecord:
            spans.setdefault(item.trace_id, []).append(item)
    return [(traces.get(trace_id), tuple(group)) for trace_id, group in spans.items()]


def _value(value: Any) -> Any:
    """An OTel attribute value: primitives as they are, homogeneous primitive lists as
    tuples, anything else as JSON text."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple)) and value:
        first = type(value[0])
        if first in _PRIMITIVES and all(type(v) is first for v in value):
            return tuple(value)
    return dumps(value)


_TYPE_JSON = {kind: dumps(kind) for kind in OPENINFERENCE_KINDS}


def otel_attributes(
    span: SpanRecord,
    experiment_id: str | None = None,
    conventions: frozenset[str] = ALL,
    *,
    ids: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The OTel attributes of a span record: its own plus the key sets in ``conventions``
    (``semconv_select``; ``mlflow.*`` ones only with ``"mlflow"``).

    ``experiment_id`` names a remote experiment instead of the record's own; ``ids`` (the
    JSON texts of request id and experiment id, shared by a trace's spans) saves encoding
    them again for every span.
    """
    request_id, experiment = ids if ids is not None else _trace_ids(span, experiment_id)
    attributes: dict[str, Any] = {}
    own = span.attributes or {}
    with_mlflow = MLFLOW in conventions
    for key, value in own.items():
        if value is not None and (with_mlflow or not str(key).startswith("mlflow.")):
            attributes[str(key)] = _value(value)
    span_type = span.span_type or "UNKNOWN"
    inputs, outputs = span.inputs, span.outputs
    texts = (None if inputs is None else dumps(inputs), None if outputs is None else dumps(outputs))
    if with_mlflow:
        attributes[keys.TRACE_REQUEST_ID] = request_id
        attributes[keys.EXPERIMENT_ID] = experiment
        attributes[keys.SPAN_TYPE] = _TYPE_JSON.get(span_type) or dumps(span_type)
        for value, text, key in (
            (inputs, texts[0], keys.SPAN_INPUTS),
            (outputs, texts[1], keys.SPAN_OUTPUTS),
        ):
            if value is not None:  # numbers and booleans as OTel's, for MLflow's ingest
                attributes[key] = value if isinstance(value, (bool, int, float)) else text
    attributes.update(
        semconv_attributes(
            span_type, own, inputs, outputs, conventions, name=str(span.name), texts=texts
        )
    )
    return attributes


def _status(span: SpanRecord) -> Any:
    from opentelemetry.trace import Status, StatusCode

    code = span.status_code
    message = span.status_message or None
    if code == "OK":
        return Status(StatusCode.OK)
    if code == "ERROR":
        return Status(StatusCode.ERROR, message)
    if code in ("CANCELLED", "TIMEOUT"):
        return Status(StatusCode.ERROR, f"{code}: {message}" if message else code)
    return Status(StatusCode.UNSET)


def _events(span: SpanRecord) -> list[Any]:
    from opentelemetry.sdk.trace import Event

    events = span.events
    if not events:
        return []
    return [
        Event(
            str(e.name),
            {str(k): _value(v) for k, v in (e.attributes or {}).items() if v is not None},
            int(e.timestamp_ns),
            limit=None,
        )
        for e in events
    ]


class _Context:
    """Builds OTel span contexts and shares the resource and scope between spans."""

    def __init__(self) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, TraceFlags

        self.span_context = SpanContext
        self.sampled = TraceFlags(TraceFlags.SAMPLED)
        self.resource = Resource({"service.name": SERVICE_NAME})
        self.scope = InstrumentationScope("mlflow_trace_nb")

    def make(self, trace_id: int, span_id: int, remote: bool = False) -> Any:
        return self.span_context(trace_id, span_id, remote, self.sampled)


_CONTEXT: _Context | None = None


def _context() -> _Context:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = _Context()
    return _CONTEXT


def to_readable_span(
    span: SpanRecord,
    experiment_id: str | None = None,
    _ids: tuple[str, str] | None = None,
    conventions: frozenset[str] = ALL,
) -> ReadableSpan:
    """One span record as an OTel ``ReadableSpan`` (``experiment_id`` overrides the record's
    own in ``mlflow.experimentId``, for a remote experiment)."""
    from opentelemetry.sdk.trace import ReadableSpan

    if _ids is None:
        _ids = _trace_ids(span, experiment_id)
    ctx = _context()
    trace_id = span.trace_id
    parent = span.parent_id
    parent_context = (
        None if parent is None else ctx.make(trace_id, parent, remote=span.remote_parent)
    )
    return ReadableSpan(
        name=str(span.name),
        context=ctx.make(trace_id, span.span_id),
        parent=parent_context,
        resource=ctx.resource,
        attributes=otel_attributes(span, experiment_id, conventions, ids=_ids),
        events=_events(span),
        status=_status(span),
        start_time=span.start_time_ns,
        end_time=span.end_time_ns,
        instrumentation_scope=ctx.scope,
    )


def to_readable_spans(
    entries: Sequence[Entry],
    experiment_id: str | None = None,
    conventions: frozenset[str] = ALL,
) -> list[ReadableSpan]:
    """All spans of ``entries`` (from ``snapshot_items``) as OTel spans carrying the key
    sets in ``conventions``."""
    out: list[ReadableSpan] = []
    for trace, spans in entries:
        if not spans:
            continue
        if trace is not None and trace.status != trace.status_code:
            spans = _with_trace_state(trace, spans)
        ids = _trace_ids(spans[0], experiment_id)
        out.extend(to_readable_span(span, experiment_id, ids, conventions) for span in spans)
    return out


def _with_trace_state(trace: TraceRecord, spans: tuple[SpanRecord, ...]) -> tuple[Any, ...]:
    """``spans`` with the root's status replaced by the trace's state (one set apart from
    it with ``update_current_trace(state=)``): over OTLP a trace's state is its root span's
    status, which is how an MLflow server reads it."""
    root = trace.span_id
    return tuple(
        span._replace(status_code=trace.status) if span.span_id == root else span for span in spans
    )


def _trace_ids(span: SpanRecord, experiment_id: str | None) -> tuple[str, str]:
    """The JSON texts of a span's request id and (remote or own) experiment id."""
    return dumps(span.request_id), dumps(experiment_id or str(span.experiment_id))


def span_id_hex(span: SpanRecord) -> str:
    """The span id as 16 hex digits (as OTel and MLflow print it)."""
    return format_span_id(span.span_id)
