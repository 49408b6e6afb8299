"""mlflow-trace-nb: Jupyter-first tracing for LLM and GenAI code, with MLflow Tracing's API.

``import mlflow_trace_nb as mlflow`` runs MLflow-style tracing code unchanged::

    import mlflow_trace_nb as mlflow

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[str]: ...

    df = mlflow.search_traces()  # a pandas DataFrame, newest first

Traces go to ``./mlflow_traces.db`` (SQLite) unless ``set_destination`` says otherwise.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import entities, tracing
from mlflow_trace_nb.config import configure, disable, enable, reset, set_destination
from mlflow_trace_nb.display import disable_notebook_display, enable_notebook_display
from mlflow_trace_nb.display.bundle import show_traces
from mlflow_trace_nb.display.cell_flush import register_cell_flush
from mlflow_trace_nb.display.cell_tags import register_cell_tags
from mlflow_trace_nb.entities import Experiment, Span, SpanContext, SpanEvent, Trace
from mlflow_trace_nb.errors import MlflowTraceNbError, StoreCorruptedError
from mlflow_trace_nb.experiments import get_experiment, get_experiment_by_name, set_experiment
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
from mlflow_trace_nb.tracing.provider import SpanStatus, SpanStatusCode, SpanType

__version__ = "0.1.0"

register_cell_flush()  # inside IPython: everything pending is written when a cell ends
register_cell_tags()  # inside IPython: traces are tagged with the cell that made them

__all__ = [
    "Experiment",
    "MlflowTraceNbError",
    "Span",
    "SpanContext",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "StoreCorruptedError",
    "Trace",
    "__version__",
    "add_span_exception",
    "compare_traces",
    "configure",
    "disable",
    "disable_notebook_display",
    "enable",
    "enable_notebook_display",
    "end_span",
    "entities",
    "flush",
    "get_current_active_span",
    "get_experiment",
    "get_experiment_by_name",
    "get_last_active_trace",
    "get_trace",
    "get_tracing_context_headers_for_http_request",
    "get_tracking_uri",
    "instrument_threading",
    "log_span_event",
    "mlflow_trace",
    "reset",
    "search_spans",
    "search_traces",
    "set_destination",
    "set_tracing_context_from_http_request_headers",
    "set_tracking_uri",
    "set_experiment",
    "set_span_attribute",
    "set_span_attributes",
    "set_span_chat_tools",
    "set_span_inputs",
    "set_span_output",
    "show_traces",
    "start_span",
    "trace",
    "tracing",
    "update_current_trace",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlflow_trace_nb``: the ``%%trace`` and ``%traces`` magics."""
    from mlflow_trace_nb.display.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext mlflow_trace_nb``: remove the magics."""
    from mlflow_trace_nb.display.magics import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    if name == "compare_traces":  # loaded when first used: keeps the import light
        from mlflow_trace_nb.compare import compare_traces

        return compare_traces
    if name in ("instrument_threading", "uninstrument_threading"):
        from mlflow_trace_nb import threading_context

        return getattr(threading_context, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
