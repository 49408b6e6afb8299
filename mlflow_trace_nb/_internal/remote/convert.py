"""MLflow's ``Trace`` objects (from ``MlflowClient``) to ours (``mlflow_trace_nb.entities``)."""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.entities import Span, SpanEvent, Trace, TraceData, TraceInfo

__all__ = ["to_span", "to_trace"]

# Span attributes MLflow uses for what our spans hold in fields of their own (``attributes``
# shows them again, from the fields). Its function name and log level are kept as attributes.
_INTERNAL_ATTRIBUTES = frozenset(
    {keys.TRACE_REQUEST_ID, keys.SPAN_TYPE, keys.SPAN_INPUTS, keys.SPAN_OUTPUTS}
)


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def to_span(span: Any, request_id: str) -> Span:
    """One MLflow span as our read-only ``Span``."""
    status = getattr(span, "status", None)
    attributes = {
        str(k): v for k, v in dict(span.attributes or {}).items() if k not in _INTERNAL_ATTRIBUTES
    }
    events = [
        SpanEvent(str(e.name), int(e.timestamp or 0), dict(e.attributes or {}))
        for e in (span.events or [])
    ]
    return Span(
        name=str(span.name),
        span_id=str(span.span_id),
        trace_id=request_id,
        parent_id=span.parent_id or None,
        span_type=span.span_type,
        start_time_ns=int(span.start_time_ns),
        end_time_ns=None if span.end_time_ns is None else int(span.end_time_ns),
        status_code=_value(status.status_code) if status is not None else "UNSET",
        status_message=str(getattr(status, "description", "") or ""),
        inputs=span.inputs,
        outputs=span.outputs,
        attributes=attributes,
        events=events,
    )


def to_trace(trace: Any) -> Trace:
    """One MLflow ``Trace`` (info + spans) as our ``Trace``."""
    info = trace.info
    request_id = str(info.trace_id)
    spans = sorted((to_span(s, request_id) for s in trace.data.spans), key=_start)
    tags = {str(k): str(v) for k, v in dict(info.tags or {}).items()}
    metadata = {str(k): str(v) for k, v in dict(info.trace_metadata or {}).items()}
    data = TraceData(spans)
    root = data.root
    name = tags.get(keys.TRACE_NAME) or (root.name if root is not None else None)
    our_info = TraceInfo(
        request_id=request_id,
        experiment_id=str(info.experiment_id),
        timestamp_ms=int(info.request_time),
        execution_time_ms=None if info.execution_duration is None else int(info.execution_duration),
        status=_value(info.state),
        request_metadata=metadata,
        tags=tags,
        name=name,
        assessments=_assessments(info),
    )
    return Trace(our_info, data)


def _assessments(info: Any) -> list[Any]:
    """The server's assessments of a trace as ours (one that cannot be read is left out)."""
    from mlflow_trace_nb.entities.assessment import Assessment

    out = []
    for assessment in getattr(info, "assessments", None) or []:
        try:
            out.append(Assessment.from_dictionary(assessment.to_dictionary()))
        except Exception:
            continue
    return out


def _start(span: Span) -> int:
    return span.start_time_ns
