"""Remote reads through ``mlflow.MlflowClient`` (imported lazily: the ``mlflow`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow_trace_nb._internal.remote.convert import to_trace
from mlflow_trace_nb._internal.remote.filters import to_mlflow_filter
from mlflow_trace_nb.entities import Trace

__all__ = ["get_remote_trace", "mlflow_destination", "normalize_uri", "search_remote"]

#: Traces asked for per page when ``max_results`` is None (everything that matches).
PAGE_SIZE = 500
_DEFAULT_EXPERIMENT = "0"


def normalize_uri(uri: str) -> str:
    """``http(s)://host:port`` without a trailing slash; ValueError for anything else."""
    if not isinstance(uri, str):
        raise TypeError(f"tracking URI must be a string, got {type(uri).__name__}")
    text = uri.strip()
    if text.lower().startswith("mlflow+"):
        text = text[len("mlflow+") :]
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError(
            f"tracking URI must be an MLflow tracking server such as 'http://127.0.0.1:5000', "
            f"got {uri!r} (local files are chosen with set_destination)"
        )
    return text.rstrip("/")


def mlflow_destination(exporters: Sequence[Any], store: Any) -> tuple[str, str | None] | None:
    """``(uri, experiment id)`` of the first MLflow-server destination, if reads should go
    there (no local store among the destinations), else None."""
    if store in exporters:
        return None
    from mlflow_trace_nb.exporters.mlflow_server import MlflowServerExporter

    for exporter in exporters:
        if isinstance(exporter, MlflowServerExporter):
            return exporter.tracking_uri, exporter.experiment_id
    return None


def _client(uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading traces from an MLflow tracking server needs the mlflow package: "
            "pip install 'mlflow-trace-nb[mlflow]'"
        ) from error
    return MlflowClient(tracking_uri=uri)


def _experiment_list(experiment_ids: Sequence[Any] | str | int | None) -> list[str]:
    if experiment_ids is None:
        return [_DEFAULT_EXPERIMENT]
    if isinstance(experiment_ids, (str, int)):
        return [str(experiment_ids)]
    return [str(e) for e in experiment_ids]


def _server_error(error: Exception) -> ValueError:
    message = getattr(error, "message", None) or str(error)
    return ValueError(f"the MLflow tracking server rejected the search: {message}")


def search_remote(
    uri: str,
    *,
    experiment_ids: Sequence[Any] | str | int | None,
    filter_string: str | None,
    max_results: int | None,
    order_by: list[str] | None,
) -> list[Trace]:
    """Search the server at ``uri``; filter, order and limit run on the server."""
    mlflow_filter = to_mlflow_filter(filter_string)  # ValueError before any request
    if max_results == 0:
        return []
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    experiments = _experiment_list(experiment_ids)
    found: list[Any] = []
    token: str | None = None
    try:
        while max_results is None or len(found) < max_results:
            want = PAGE_SIZE if max_results is None else max_results - len(found)
            page = client.search_traces(
                locations=experiments,
                filter_string=mlflow_filter,
                max_results=want,
                order_by=order_by,
                page_token=token,
            )
            found.extend(page)
            token = page.token
            if not token or not page:
                break
    except MlflowException as error:
        if getattr(error, "error_code", "") in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            raise _server_error(error) from None
        raise
    return [to_trace(t) for t in found]


def get_remote_trace(uri: str, trace_id: str) -> Trace | None:
    """The trace with this id on the server at ``uri``, or None if the server has none."""
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        trace = client.get_trace(trace_id)
    except MlflowException as error:
        if getattr(error, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            return None
        raise
    return None if trace is None else to_trace(trace)
