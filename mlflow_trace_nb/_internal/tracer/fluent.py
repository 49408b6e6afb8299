"""Functions that act on the active span or trace (``set_span_attribute``, ``end_span``...).

With no active span they do nothing (and log at debug level), as in MLflow: code that
annotates spans keeps working when tracing is off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.deprecation import accepts_request_id
from mlflow_trace_nb._internal.text import as_text
from mlflow_trace_nb._internal.tracer.arguments import (
    MAX_INT64,
    describe,
    optional_mapping,
    span_time_ns,
)
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN, current_span
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.entities import SpanEvent, TraceState
from mlflow_trace_nb.errors import MlflowException

__all__ = [
    "add_span_exception",
    "delete_trace_tag",
    "end_span",
    "get_active_trace_id",
    "get_current_active_span",
    "log_span_event",
    "set_span_attribute",
    "set_span_attributes",
    "set_span_chat_tools",
    "set_span_inputs",
    "set_span_output",
    "set_trace_tag",
    "start_span_no_context",
    "update_current_trace",
]

_logger = logging.getLogger(__name__)

#: The attribute chat tools are stored under (MLflow's name).


def _active(action: str) -> LiveSpan | None:
    span: LiveSpan | None = current_span()
    if span is None:
        _logger.debug("mlflow-trace-nb: %s ignored: no active span", action)
    return span


def get_current_active_span() -> LiveSpan | None:
    """Return the span the calling code runs under, or None outside any (recorded) trace."""
    span: LiveSpan | None = current_span()
    return span


def end_span() -> None:
    """End the active span (one started with ``start_span``) and make its parent active."""
    span = CURRENT_SPAN.get()
    if span is not None:
        span.end()


def set_span_attribute(key: str, value: Any) -> None:
    """Set one attribute on the active span."""
    span = _active("set_span_attribute")
    if span is not None:
        span.set_attribute(key, value)


def set_span_attributes(attributes: Mapping[str, Any]) -> None:
    """Set several attributes on the active span."""
    if not isinstance(attributes, Mapping):
        raise TypeError(f"attributes must be a dict, got {type(attributes).__name__}")
    span = _active("set_span_attributes")
    if span is not None:
        span.set_attributes(dict(attributes))


def set_span_inputs(inputs: Any) -> None:
    """Replace the active span's inputs."""
    span = _active("set_span_inputs")
    if span is not None:
        span.set_inputs(inputs)


def set_span_output(output: Any) -> None:
    """Replace the active span's outputs."""
    span = _active("set_span_output")
    if span is not None:
        span.set_outputs(output)


def log_span_event(
    name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
) -> None:
    """Log an event on the active span; ``timestamp`` in ns since the epoch (default: now)."""
    if attributes is not None and not isinstance(attributes, Mapping):
        raise TypeError(f"event attributes must be a dict, got {type(attributes).__name__}")
    if timestamp is not None:
        if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
            raise TypeError(f"timestamp must be nanoseconds (an int), got {describe(timestamp)}")
        if not 0 <= timestamp <= MAX_INT64:
            raise ValueError(f"timestamp must be between 0 and {MAX_INT64:,} ns, got {timestamp}")
    span = _active("log_span_event")
    if span is not None:
        if timestamp is None:
            span.add_event(as_text(name), dict(attributes or {}))
        else:
            span.add_event(SpanEvent(as_text(name), int(timestamp), dict(attributes or {})))


def add_span_exception(exception: BaseException) -> None:
    """Record an exception on the active span (an ``exception`` event; status ERROR)."""
    span = _active("add_span_exception")
    if span is not None:
        span.record_exception(exception)


def get_active_trace_id() -> str | None:
    """The id of the trace the calling code runs under, or None outside any."""
    span = current_span()
    return None if span is None else span.trace_id


def set_span_chat_tools(span: Any, tools: Any = None) -> None:
    """Record the tools a chat model was offered (stored as ``mlflow.chat.tools``).

    MLflow's form ``set_span_chat_tools(span, tools)`` sets them on ``span``; the one-argument
    form ``set_span_chat_tools(tools)`` on the active span. Each tool is a dict such as
    ``{"name": ..., "description": ..., "parameters": {...}}`` or OpenAI's
    ``{"type": "function", "function": {...}}``.
    """
    if tools is None and not isinstance(span, LiveSpan):
        span, tools = None, span
    if not isinstance(tools, (list, tuple)):
        raise TypeError(f"tools must be a list of tool specifications, got {type(tools).__name__}")
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) and not hasattr(tool, "model_dump"):
            raise TypeError(f"tool #{index} must be a dict, got {type(tool).__name__}")
    target = span if span is not None else _active("set_span_chat_tools")
    if target is not None:
        target.set_attribute(keys.CHAT_TOOLS, [_tool_dict(t) for t in tools])


def _tool_dict(tool: Any) -> Any:
    dump = getattr(tool, "model_dump", None)
    return dump(exclude_unset=True) if callable(dump) else tool


def update_current_trace(
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    client_request_id: str | None = None,
    request_preview: str | None = None,
    response_preview: str | None = None,
    state: TraceState | str | None = None,
    model_id: str | None = None,
    session_id: str | None = None,
    user: str | None = None,
) -> None:
    """Update the active trace, as MLflow 3's ``update_current_trace``: add tags and metadata
    (string to string), set its client request id, request/response previews, state (OK or
    ERROR: the trace's, apart from the root span's status, as in MLflow 3), model id, session
    id and user (MLflow's metadata keys)."""
    optional_mapping(tags, "tags")
    optional_mapping(metadata, "metadata")
    code = None
    if state is not None:
        code = str(getattr(state, "value", state))
        if code not in (TraceState.OK, TraceState.ERROR):
            raise MlflowException(f"State must be either 'OK' or 'ERROR', but got '{code}'.")
    span = _active("update_current_trace")
    if span is None:
        return
    live = span._state
    for key, value in dict(tags or {}).items():
        live.set_tag(key, value)
    fields = {
        keys.CLIENT_REQUEST_ID: client_request_id,
        keys.REQUEST_PREVIEW: request_preview,
        keys.RESPONSE_PREVIEW: response_preview,
        keys.MODEL_ID: model_id,
        keys.TRACE_SESSION: session_id,
        keys.TRACE_USER: user,
    }
    given = {key: value for key, value in fields.items() if value is not None}
    for key, value in {**dict(metadata or {}), **given}.items():  # None fields keep metadata's
        if value is not None:
            live.set_metadata(key, value)
    if code is not None:
        live.state = code  # the trace's state only: the root span keeps its own status


@accepts_request_id
def set_trace_tag(trace_id: str, key: str, value: str) -> None:
    """Set a tag on a trace: a running one of this process, or a stored one (MLflow's
    signature). ``MlflowException`` if there is no such trace."""
    live = _running(trace_id)
    if live is not None:
        live.set_tag(key, value)
        return
    if not _stored_store().set_trace_tag(trace_id, key, value):
        raise MlflowException(f"Trace with ID {trace_id} is not found.")


@accepts_request_id
def delete_trace_tag(trace_id: str, key: str) -> None:
    """Remove a tag from a running or stored trace; ``MlflowException`` if it has none."""
    live = _running(trace_id)
    if live is not None:
        tags = live.tags
        if tags is None or key not in tags:
            raise MlflowException(f"Tag with key {key} not found in trace with ID {trace_id}.")
        del tags[key]
        return
    removed = _stored_store().delete_trace_tag(trace_id, key)
    if removed is None:
        raise MlflowException(f"Trace with ID {trace_id} is not found.")
    if not removed:
        raise MlflowException(f"Tag with key {key} not found in trace with ID {trace_id}.")


def _stored_store() -> Any:
    """The local store, with everything pending written (so a just-ended trace is there)."""
    from mlflow_trace_nb._internal.runtime import RUNTIME

    RUNTIME.flush_for_read()
    return RUNTIME.store


def _running(trace_id: str) -> Any:
    """The running trace ``trace_id`` of this context, or None."""
    span = current_span()
    while span is not None and span.trace_id != trace_id:
        span = span._parent
    return None if span is None else span._state


def start_span_no_context(
    name: str,
    span_type: str | None = None,
    parent_span: LiveSpan | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    experiment_id: str | None = None,
    start_time_ns: int | None = None,
    description: str | None = None,
) -> LiveSpan:
    """Start a span that is not made active (MLflow 3): a child of ``parent_span``, or the
    root of a new trace. End it with ``span.end()``. ``tags`` and ``metadata`` are added to
    its trace, ``description`` kept as MLflow's ``mlflow.spanDescription`` attribute;
    ``experiment_id`` is accepted for MLflow's signature (traces go to the current
    experiment)."""
    from mlflow_trace_nb._internal.runtime import RUNTIME
    from mlflow_trace_nb._internal.tracer.capture import snapshot
    from mlflow_trace_nb._internal.tracer.live_span import NO_OP_SPAN
    from mlflow_trace_nb._internal.tracer.live_trace import LIVE_SPANS_KEPT
    from mlflow_trace_nb._internal.tracer.span_leaks import track_manual, track_unkept
    from mlflow_trace_nb._internal.tracer.span_lifecycle import (
        DEFAULT_SPAN_TYPE,
        check_span_arguments,
        open_span,
    )

    span_type = check_span_arguments(name, span_type, attributes, "start_span_no_context")
    start_ns = span_time_ns(start_time_ns, "start_time_ns")
    if parent_span is not None and not hasattr(parent_span, "_recording"):
        raise TypeError(
            "parent_span must be a span from start_span or start_span_no_context, got "
            f"{describe(parent_span)}"
        )
    optional_mapping(tags, "tags")  # every argument checked before a span exists
    optional_mapping(metadata, "metadata")
    if not RUNTIME.enabled:
        return NO_OP_SPAN
    token = CURRENT_SPAN.set(parent_span)
    try:
        span = open_span(
            name or "span", span_type or DEFAULT_SPAN_TYPE, snapshot(inputs), attributes
        )
    finally:
        CURRENT_SPAN.reset(token)
    if span._recording:
        track_manual(span._state)  # nothing forces the span to end: see span_leaks
        if span._state.span_count > LIVE_SPANS_KEPT:
            track_unkept(span)
        if start_ns is not None:
            span.start_time_ns = start_ns
        _add_to_trace(span, tags, metadata, description)
    return span


def _add_to_trace(
    span: LiveSpan,
    tags: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    description: str | None,
) -> None:
    """``start_span_no_context``'s trace tags, metadata and span description (checked)."""
    live = span._state
    for key, value in dict(tags or {}).items():
        live.set_tag(key, value)
    for key, value in dict(metadata or {}).items():
        live.set_metadata(key, value)
    if description is not None:
        span.set_attribute(keys.SPAN_DESCRIPTION, description)
