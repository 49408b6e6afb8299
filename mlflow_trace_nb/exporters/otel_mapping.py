"""Our spans as OpenTelemetry ``ReadableSpan`` objects, readable by MLflow and OpenInference UIs.

Ids: the OTel trace id is our 128-bit trace id (so MLflow's ``tr-<hex>`` id of an ingested
trace equals our ``request_id``) and span ids are our 64-bit span ids.

Attributes, besides the span's own (JSON-encoded when not an OTel primitive):

- MLflow: ``mlflow.spanType``, ``mlflow.spanInputs``, ``mlflow.spanOutputs``,
  ``mlflow.traceRequestId`` and ``mlflow.experimentId``, each a JSON string, as MLflow's
  own tracer writes them (bare numbers and booleans as OTel numbers/booleans, which is
  how MLflow's OTLP ingest reads them back unchanged). Other string attributes are sent
  as they are, so every OTLP UI shows them plainly.
- OpenInference (Phoenix, Arize): ``openinference.span.kind``, ``input.value`` /
  ``output.value`` with ``input.mime_type`` / ``output.mime_type`` (``text/plain`` for
  strings, else ``application/json``), ``llm.model_name``, ``llm.provider`` and
  ``llm.token_count.prompt`` / ``.completion`` / ``.total`` from ``mlflow.chat.tokenUsage``.

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

#: Our span types -> OpenInference span kinds.
OPENINFERENCE_KINDS = {
    "LLM": "LLM",
    "CHAT_MODEL": "LLM",
    "CHAIN": "CHAIN",
    "AGENT": "AGENT",
    "TOOL": "TOOL",
    "RETRIEVER": "RETRIEVER",
    "EMBEDDING": "EMBEDDING",
    "RERANKER": "RERANKER",
    "PARSER": "CHAIN",
    "UNKNOWN": "UNKNOWN",
}

_PRIMITIVES = (str, bool, int, float)
_TOKEN_KEYS = (
    ("input_tokens", "llm.token_count.prompt"),
    ("output_tokens", "llm.token_count.completion"),
    ("total_tokens", "llm.token_count.total"),
)

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


def _payload(attributes: dict[str, Any], value: Any, mlflow_key: str, prefix: str) -> None:
    """Inputs or outputs under MLflow's key and OpenInference's ``value``/``mime_type``.

    MLflow's key holds JSON text, except numbers and booleans, sent as OTel numbers and
    booleans (MLflow's OTLP ingest reads JSON text of a bare number back as a string, and
    a native number as the number). Serialised once for both conventions."""
    if isinstance(value, str):
        attributes[mlflow_key] = dumps(value)
        attributes[prefix + ".value"] = value
        attributes[prefix + ".mime_type"] = "text/plain"
        return
    text = dumps(value)
    attributes[mlflow_key] = value if isinstance(value, (bool, int, float)) else text
    attributes[prefix + ".value"] = text
    attributes[prefix + ".mime_type"] = "application/json"


_TYPE_JSON = {kind: dumps(kind) for kind in OPENINFERENCE_KINDS}


def otel_attributes(span: LiveSpan, request_id: str, experiment_id: str) -> dict[str, Any]:
    """The OTel attributes of ``span``: its own plus MLflow's and OpenInference's keys.

    ``request_id`` and ``experiment_id`` are given as JSON text (shared by a trace's spans).
    """
    attributes: dict[str, Any] = {}
    own = span._attributes
    if own:
        for key, value in own.items():
            if value is not None:
                attributes[str(key)] = _value(value)
    span_type = span.span_type or "UNKNOWN"
    attributes[keys.TRACE_REQUEST_ID] = request_id
    attributes[keys.EXPERIMENT_ID] = experiment_id
    attributes[keys.SPAN_TYPE] = _TYPE_JSON.get(span_type) or dumps(span_type)
    attributes["openinference.span.kind"] = OPENINFERENCE_KINDS.get(span_type, "UNKNOWN")
    if span._inputs is not None:
        _payload(attributes, span._inputs, keys.SPAN_INPUTS, "input")
    if span._outputs is not None:
        _payload(attributes, span._outputs, keys.SPAN_OUTPUTS, "output")
    if own:
        _llm_attributes(own, attributes)
    return attributes


def _llm_attributes(own: dict[str, Any], attributes: dict[str, Any]) -> None:
    model = own.get(keys.MODEL)
    if isinstance(model, str) and model:
        attributes["llm.model_name"] = model
    provider = own.get(keys.PROVIDER)
    if isinstance(provider, str) and provider:
        attributes["llm.provider"] = provider
    usage = own.get(keys.TOKEN_USAGE)
    if isinstance(usage, dict):
        for ours, theirs in _TOKEN_KEYS:
            count = usage.get(ours)
            if isinstance(count, int) and not isinstance(count, bool):
                attributes[theirs] = count


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
        attributes=otel_attributes(span, *_ids),
        events=_events(span),
        status=_status(span),
        start_time=span.start_time_ns,
        end_time=span.end_time_ns,
        instrumentation_scope=ctx.scope,
    )


def to_readable_spans(
    entries: Sequence[Entry], experiment_id: str | None = None
) -> list[ReadableSpan]:
    """All spans of ``entries`` (from ``snapshot_items``) as OTel spans."""
    out: list[ReadableSpan] = []
    for trace, spans in entries:
        ids = _trace_ids(trace, experiment_id)
        out.extend(to_readable_span(span, trace, experiment_id, ids) for span in spans)
    return out


def _trace_ids(trace: LiveTrace, experiment_id: str | None) -> tuple[str, str]:
    """The JSON texts of a trace's request id and (remote or own) experiment id."""
    return dumps(trace.request_id), dumps(experiment_id or str(trace.experiment_id))


def span_id_hex(span: LiveSpan) -> str:
    """The span id as 16 hex digits (as OTel and MLflow print it)."""
    return format_span_id(span._span_id)
