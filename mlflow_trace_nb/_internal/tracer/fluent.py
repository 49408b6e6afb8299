"""Functions that act on the active span or trace (``set_span_attribute``, ``end_span``...).

With no active span they do nothing (and log at debug level), as in MLflow: code that
annotates spans keeps working when tracing is off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.arguments import MAX_INT64, describe, optional_mapping
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN, current_span
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.entities import SpanEvent

__all__ = [
    "CHAT_TOOLS_ATTRIBUTE",
    "add_span_exception",
    "end_span",
    "get_current_active_span",
    "log_span_event",
    "set_span_attribute",
    "set_span_attributes",
    "set_span_chat_tools",
    "set_span_inputs",
    "set_span_output",
    "update_current_trace",
]

_logger = logging.getLogger(__name__)

#: The attribute chat tools are stored under (MLflow's name).
CHAT_TOOLS_ATTRIBUTE = keys.CHAT_TOOLS


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
            span.add_event(str(name), dict(attributes or {}))
        else:
            span.add_event(SpanEvent(str(name), int(timestamp), dict(attributes or {})))


def add_span_exception(exception: BaseException) -> None:
    """Record an exception on the active span (an ``exception`` event; status ERROR)."""
    span = _active("add_span_exception")
    if span is not None:
        span.record_exception(exception)


def set_span_chat_tools(tools: list[Any]) -> None:
    """Record the tools a chat model was offered (stored as ``mlflow.chat.tools``).

    Each tool is a dict such as ``{"name": ..., "description": ..., "parameters": {...}}``
    or OpenAI's ``{"type": "function", "function": {...}}``.
    """
    if not isinstance(tools, (list, tuple)):
        raise TypeError(f"tools must be a list of tool specifications, got {type(tools).__name__}")
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) and not hasattr(tool, "model_dump"):
            raise TypeError(f"tool #{index} must be a dict, got {type(tool).__name__}")
    span = _active("set_span_chat_tools")
    if span is not None:
        span.set_attribute(CHAT_TOOLS_ATTRIBUTE, list(tools))


def update_current_trace(
    tags: Mapping[str, Any] | None = None, metadata: Mapping[str, Any] | None = None
) -> None:
    """Add tags and/or request metadata (string to string) to the active trace."""
    optional_mapping(tags, "tags")
    optional_mapping(metadata, "metadata")
    span = _active("update_current_trace")
    if span is None:
        return
    state = span._state
    for key, value in dict(tags or {}).items():
        state.set_tag(key, value)
    for key, value in dict(metadata or {}).items():
        state.set_metadata(key, value)
