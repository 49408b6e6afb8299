"""The one list of public names, from which ``mlflow_trace_nb`` and ``mlflow_trace_nb.tracing``
are both built.

Both faces export exactly ``__all__`` below (plus their own subpackages), so the package and
``mlflow.tracing``-style code see the same functions. Names in ``LAZY`` are imported on first
use, to keep ``import mlflow_trace_nb`` light.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlflow_trace_nb._internal.assessments import (
    delete_assessment,
    get_assessment,
    log_assessment,
    log_expectation,
    log_feedback,
    override_feedback,
    update_assessment,
)
from mlflow_trace_nb._internal.config import (
    configure,
    disable,
    enable,
    is_enabled,
    reset,
    set_destination,
)
from mlflow_trace_nb._internal.experiments import (
    get_experiment,
    get_experiment_by_name,
    set_experiment,
)
from mlflow_trace_nb._internal.propagation import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)
from mlflow_trace_nb._internal.search import (
    analysis_frame,
    flush,
    flush_trace_async_logging,
    get_last_active_trace,
    get_last_active_trace_id,
    get_trace,
    get_tracking_uri,
    search_spans,
    search_traces,
    set_tracking_uri,
)
from mlflow_trace_nb._internal.sessions import search_sessions
from mlflow_trace_nb._internal.tracer.fluent import (
    add_span_exception,
    delete_trace_tag,
    end_span,
    get_active_trace_id,
    get_current_active_span,
    log_span_event,
    set_span_attribute,
    set_span_attributes,
    set_span_chat_tools,
    set_span_inputs,
    set_span_output,
    set_trace_tag,
    start_span_no_context,
    update_current_trace,
)
from mlflow_trace_nb._internal.tracer.tracer import mlflow_trace, start_span, trace
from mlflow_trace_nb.display import disable_notebook_display, enable_notebook_display
from mlflow_trace_nb.display.bundle import show_traces
from mlflow_trace_nb.entities import (
    Experiment,
    Span,
    SpanContext,
    SpanEvent,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from mlflow_trace_nb.errors import (
    MlflowException,
    MlflowTraceNbError,
    StoreCorruptedError,
    StoreUnavailableError,
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
from mlflow_trace_nb.tracing.provider import SpanStatus, SpanStatusCode, SpanType

#: Public names imported on first use: name -> module that defines it.
LAZY: dict[str, str] = {
    "openai": "mlflow_trace_nb._internal.autolog",  # mlflow.openai.autolog() & co.
    "anthropic": "mlflow_trace_nb._internal.autolog",
    "langchain": "mlflow_trace_nb._internal.autolog",
    "transformers": "mlflow_trace_nb._internal.autolog",
    "MlflowClient": "mlflow_trace_nb._internal.client",
    "compare_traces": "mlflow_trace_nb._internal.compare",
    "log_trace": "mlflow_trace_nb._internal.tracer.log_trace",
    "add_trace": "mlflow_trace_nb._internal.tracer.add_trace",
    "instrument_threading": "mlflow_trace_nb._internal.tracer.threading_context",
    "uninstrument_threading": "mlflow_trace_nb._internal.tracer.threading_context",
}

__all__ = [
    "Experiment",
    "MlflowException",
    "MlflowTraceNbError",
    "Span",
    "SpanContext",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "StoreCorruptedError",
    "StoreUnavailableError",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceState",
    "add_span_exception",
    "analysis_frame",
    "configure",
    "delete_assessment",
    "delete_trace_tag",
    "disable",
    "disable_notebook_display",
    "enable",
    "enable_notebook_display",
    "end_span",
    "flush",
    "flush_trace_async_logging",
    "get_active_trace_id",
    "get_assessment",
    "get_current_active_span",
    "get_experiment",
    "get_experiment_by_name",
    "get_last_active_trace",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracing_context_headers_for_http_request",
    "get_tracking_uri",
    "instrument_anthropic",
    "instrument_langchain",
    "instrument_openai",
    "instrument_transformers",
    "is_enabled",
    "log_assessment",
    "log_expectation",
    "log_feedback",
    "log_span_event",
    "mlflow_trace",
    "override_feedback",
    "reset",
    "search_sessions",
    "search_spans",
    "search_traces",
    "set_destination",
    "set_experiment",
    "set_span_attribute",
    "set_span_attributes",
    "set_span_chat_tools",
    "set_span_inputs",
    "set_span_output",
    "set_trace_tag",
    "set_tracing_context_from_http_request_headers",
    "set_tracking_uri",
    "show_traces",
    "start_span",
    "start_span_no_context",
    "trace",
    "uninstrument_anthropic",
    "uninstrument_langchain",
    "uninstrument_openai",
    "uninstrument_transformers",
    "update_assessment",
    "update_current_trace",
]

#: Every public name of both faces: the eager ones above and the lazy ones.
NAMES: tuple[str, ...] = (*__all__, *LAZY)


def lazy_attribute(module: str, name: str) -> Any:
    """The lazy public ``name`` for ``module.__getattr__``; AttributeError for anything else."""
    if name in LAZY:
        return getattr(importlib.import_module(LAZY[name]), name)
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
