"""Our spans as OpenTelemetry ``ReadableSpan`` objects, readable by MLflow and OpenInference UIs.

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
from mlflow_trace_nb._internal.serialization import dumps
from mlflow_trace_nb._internal.tracer.ids import format_span_id
from mlflow_trace_nb.exporters.semconv_openinference import OPENINFERENCE_KINDS
from mlflow_trace_nb.exporters.semconv_select import ALL, MLFLOW, semconv_attributes

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan, LiveTrace

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

Entry = tuple["LiveTrace", tuple["LiveSpan", ...]]


def snapshot_items(items: Iterable[Any]) -> list[Entry]:
    """Capture what to send from the writer's items, cheaply (no serialisation).

    A finished trace (``LiveTrace``) contributes the spans that have ended by now: an
    ended span never changes again, so the snapshot stays consistent while it waits in a
    queue; a span still running comes later on its own as a late span (``LiveSpan``).
    """
    entries: list[Entry] = []
    for item in items:
        spans = getattr(item, "spans", None)
        if isinstance(spans, list):  # a LiveTrace
            ended = tuple(s for s in list(spans) if s.end_time_ns is not None)
            if ended:
                entries.append((item, ended))
        elif getattr(item, "_state", None) is not None and item.end_time_ns is not None:
            entries.append((item._state, (item,)))
    return entries


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
    span: LiveSpan, request_id: str, experiment_id: str, conventions: frozenset[str] = ALL
) -> dict[str, Any]:
    """The OTel attributes of ``span``: its own plus the key sets in ``conventions``
    (``semconv_select``; ``mlflow.*`` ones only with ``"mlflow"``).

    ``request_id`` and ``experiment_id`` are given as JSON text (shared by a trace's spans).
    """
    attributes: dict[str, Any] = {}
    own = span._attributes or {}
    with_mlflow = MLFLOW in conventions
    for key, value in own.items():
        if value is not None and (with_mlflow or not str(key).startswith("mlflow.")):
            attributes[str(key)] = _value(value)
    span_type = span.span_type or "UNKNOWN"
    inputs, outputs = span._inputs, span._outputs
    texts = (None if inputs is None else dumps(inputs), None if outputs is None else dumps(outputs))
    if with_mlflow:
        attributes[keys.TRACE_REQUEST_ID] = request_id
        attributes[keys.EXPERIMENT_ID] = experiment_id
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


def _status(span: LiveSpan) -> Any:
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


def _events(span: LiveSpan) -> list[Any]:
    from opentelemetry.sdk.trace import Event

    events = span._events
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
    span: LiveSpan,
    trace: LiveTrace | None = None,
    experiment_id: str | None = None,
    _ids: tuple[str, str] | None = None,
    conventions: frozenset[str] = ALL,
) -> ReadableSpan:
    """One of our ended spans as an OTel ``ReadableSpan`` (``experiment_id`` overrides the
    trace's own in ``mlflow.experimentId``, for a remote experiment)."""
    from opentelemetry.sdk.trace import ReadableSpan

    state = trace if trace is not None else span._state
    if _ids is None:
        _ids = _trace_ids(state, experiment_id)
    ctx = _context()
    trace_id = state.trace_id_int
    parent = span._parent
    if parent is not None:
        parent_context = ctx.make(trace_id, parent._span_id)
    elif state.remote_parent_id:
        parent_context = ctx.make(trace_id, int(state.remote_parent_id, 16), remote=True)
    else:
        parent_context = None
    return ReadableSpan(
        name=str(span.name),
        context=ctx.make(trace_id, span._span_id),
        parent=parent_context,
        resource=ctx.resource,
        attributes=otel_attributes(span, *_ids, conventions),
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
        ids = _trace_ids(trace, experiment_id)
        out.extend(to_readable_span(span, trace, experiment_id, ids, conventions) for span in spans)
    return out


def _trace_ids(trace: LiveTrace, experiment_id: str | None) -> tuple[str, str]:
    """The JSON texts of a trace's request id and (remote or own) experiment id."""
    return dumps(trace.request_id), dumps(experiment_id or str(trace.experiment_id))


def span_id_hex(span: LiveSpan) -> str:
    """The span id as 16 hex digits (as OTel and MLflow print it)."""
    return format_span_id(span._span_id)
