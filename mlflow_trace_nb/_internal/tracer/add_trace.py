"""``add_trace``: graft a finished trace (from a remote service, say) into the current one,
as MLflow 3's ``mlflow.add_trace``."""

from __future__ import annotations

import logging
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.arguments import span_end_ns, span_time_ns
from mlflow_trace_nb._internal.tracer.fluent import get_current_active_span, start_span_no_context
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.entities import Span, Trace, TraceState
from mlflow_trace_nb.errors import MlflowException

__all__ = ["add_trace"]

_logger = logging.getLogger(__name__)
_INVALID = "INVALID_PARAMETER_VALUE"
#: Metadata computed on read from the trace itself: the grafted trace's copies are not kept.
_COMPUTED = frozenset(
    {keys.TRACE_INPUTS, keys.TRACE_OUTPUTS, keys.SCHEMA_VERSION, keys.TRACE_TOKEN_USAGE}
)


def add_trace(trace: Trace | dict[str, Any], target: LiveSpan | None = None) -> None:
    """Copy the spans of a finished ``trace`` (a ``Trace`` or its dict) under ``target``, by
    default the active span; with neither, under a new root span ``Remote Trace <name>``
    (which ends at once). Its tags and metadata join the target trace's, whose own values
    win. ``MlflowException`` (MLflow's messages) for something not a trace, a dict that is
    not one, a trace still in progress, or spans listed before their parent."""
    from mlflow_trace_nb._internal.runtime import RUNTIME

    if not RUNTIME.enabled:
        _logger.debug("mlflow-trace-nb: tracing is disabled; add_trace skipped")
        return
    if isinstance(trace, dict):
        try:
            trace = Trace.from_dict(trace)
        except Exception as error:
            raise MlflowException(
                "Failed to load a trace object from the given dictionary. Please ensure the "
                f"dictionary is in the correct MLflow Trace format. Error: {error}",
                _INVALID,
            ) from error
    elif not isinstance(trace, Trace):
        raise MlflowException(
            f"Invalid trace object: {type(trace)}. Please provide a valid MLflow Trace object "
            "to use it as a remote trace. You can create a Trace object from its json format by "
            "using the Trace.from_dict() method.",
            _INVALID,
        )
    if trace.info.state not in (TraceState.OK, TraceState.ERROR):
        raise MlflowException(
            "The trace must be ended before adding it to another trace. "
            f"Current status: {trace.info.status}.",
            _INVALID,
        )
    spans = trace.data.spans
    if not spans:
        return
    for span in spans:  # all checked before any copy starts: none is left half-grafted
        try:
            span_end_ns(span.end_time_ns, span_time_ns(span.start_time_ns, "start_time_ns"))
        except (TypeError, ValueError) as error:
            raise MlflowException(f"Span {span.name!r} of the trace: {error}", _INVALID) from None
    parent = target or get_current_active_span()
    if parent is not None:
        _graft(trace, parent)
        return
    remote_root = spans[0]
    root = start_span_no_context(
        name=f"Remote Trace <{remote_root.name}>",
        inputs=remote_root.inputs,
        attributes=_own_attributes(remote_root),
        start_time_ns=max(0, remote_root.start_time_ns - 1),  # before the grafted root
    )
    _graft(trace, root)
    root.end(
        status=trace.info.state.value,
        outputs=remote_root.outputs,
        end_time_ns=remote_root.end_time_ns,
    )


def _own_attributes(span: Span) -> dict[str, Any]:
    return {k: v for k, v in span._raw_attributes.items() if k != keys.TRACE_REQUEST_ID}


def _graft(trace: Trace, target: LiveSpan) -> None:
    """Start a copy of every span of ``trace`` under ``target`` (parents first), end them
    (children first), then merge the trace's tags and metadata into ``target``'s trace."""
    copies: dict[str, LiveSpan] = {}
    pairs = []
    for span in trace.data.spans:
        if span.parent_id is None:
            parent = target
        else:
            found = copies.get(span.parent_id)
            if found is None:
                raise MlflowException(
                    f"Span with ID {span.parent_id} not found. Please make sure the "
                    "spans in the trace are ordered correctly i.e. the parent span comes "
                    "before its children.",
                    _INVALID,
                )
            parent = found
        copy = start_span_no_context(
            name=span.name,
            span_type=span.span_type,
            parent_span=parent,
            inputs=span.inputs,
            attributes=_own_attributes(span),
            start_time_ns=span.start_time_ns,
        )
        copies[span.span_id] = copy
        pairs.append((span, copy))
    for span, copy in reversed(pairs):
        for event in span.events:
            copy.add_event(event)
        copy.set_status(span.status)
        copy.end(outputs=span.outputs, end_time_ns=span.end_time_ns)
    live = target._state
    own_tags, own_metadata = live.tags or {}, live.metadata or {}
    for key, value in trace.info._own_tags.items():
        if key not in own_tags and key != keys.TRACE_NAME:
            live.set_tag(key, value)
    for key, value in trace.info._own_metadata.items():
        if key not in own_metadata and key not in _COMPUTED:
            live.set_metadata(key, value)
