"""Reading traces from an MLflow tracking server (``search_traces(tracking_uri=...)``,
``set_tracking_uri``): the same ``Trace`` objects and DataFrame columns as the local store.

The server is read through ``mlflow.MlflowClient`` (the optional ``mlflow`` extra, imported
only when a remote read happens), which handles paging and wherever the server keeps span
data. Filters are validated with our own grammar, then sent to the server in MLflow's
syntax: everything that maps (AND-ed comparisons on status, name, timestamp_ms,
execution_time_ms, request_id, tags, metadata, span name/type/status/attributes) runs on the
server, as do ``max_results`` and ``order_by``. ``OR``, ``NOT`` and parentheses, which
MLflow's server cannot evaluate, raise ValueError instead of being evaluated on a partial
result.
"""

from __future__ import annotations

from mlflow_trace_nb._internal.remote.client import (
    get_remote_trace,
    mlflow_destination,
    normalize_uri,
    search_remote,
)

__all__ = ["get_remote_trace", "mlflow_destination", "normalize_uri", "search_remote"]
