"""The ``mlflow.tracing`` namespace: everything the reference API puts under it.

``import mlflow_trace_nb as mlflow`` then ``mlflow.tracing.trace``, ``mlflow.tracing.
set_span_output``... work as written in MLflow-style code.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb.config import configure, disable, enable, is_enabled, reset, set_destination
from mlflow_trace_nb.display import disable_notebook_display, enable_notebook_display
from mlflow_trace_nb.fluent import (
    add_span_exception,
    end_span,
    get_current_active_span,
    log_span_event,
    set_span_attribute,
    set_span_attributes,
    set_span_chat_tools,
    set_span_inputs,
    set_span_output,
    update_current_trace,
)
from mlflow_trace_nb.instrumentation import (
    instrument_anthropic,
    instrument_langchain,
    instrument_openai,
    instrument_transformers,
    uninstrument_anthropic,
    uninstrument_langchain,
    uninstrument_openai,
    uninstrument_transformers,
)
from mlflow_trace_nb.propagation import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)
from mlflow_trace_nb.search import (
    flush,
    get_last_active_trace,
    get_trace,
    get_tracking_uri,
    search_spans,
    search_traces,
    set_tracking_uri,
)
from mlflow_trace_nb.tracer import mlflow_trace, start_span, trace
from mlflow_trace_nb.tracing import provider
from mlflow_trace_nb.tracing.provider import SpanStatus, SpanStatusCode, SpanType

__all__ = [
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "add_span_exception",
    "configure",
    "destination",
    "disable",
    "disable_notebook_display",
    "enable",
    "enable_notebook_display",
    "end_span",
    "flush",
    "get_current_active_span",
    "get_last_active_trace",
    "get_trace",
    "get_tracing_context_headers_for_http_request",
    "get_tracking_uri",
    "instrument_anthropic",
    "instrument_langchain",
    "instrument_openai",
    "instrument_threading",
    "instrument_transformers",
    "is_enabled",
    "log_span_event",
    "mlflow_trace",
    "provider",
    "reset",
    "search_spans",
    "search_traces",
    "set_destination",
    "set_tracing_context_from_http_request_headers",
    "set_tracking_uri",
    "uninstrument_anthropic",
    "uninstrument_langchain",
    "uninstrument_openai",
    "uninstrument_transformers",
    "set_span_attribute",
    "set_span_attributes",
    "set_span_chat_tools",
    "set_span_inputs",
    "set_span_output",
    "start_span",
    "trace",
    "uninstrument_threading",
    "update_current_trace",
]


def __getattr__(name: str) -> Any:
    # concurrent.futures is not cheap to import: load the threading patch only when asked.
    if name in ("instrument_threading", "uninstrument_threading"):
        from mlflow_trace_nb import threading_context

        return getattr(threading_context, name)
    if name == "destination":  # imports the store: only when asked for
        import importlib

        return importlib.import_module("mlflow_trace_nb.tracing.destination")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
